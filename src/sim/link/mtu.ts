import { BaseNode, checkRange, type Drop, type Emit, type SimPacket } from './node.ts';

/** Drops datagrams longer than `maxBytes` (a path MTU, counted in UDP payload bytes). */
export class MtuLimit extends BaseNode {
  readonly kind = 'mtu';

  constructor(readonly maxBytes: number) {
    super();
    checkRange('maxBytes', maxBytes, 0, Number.MAX_SAFE_INTEGER);
  }

  process(packet: SimPacket, emit: Emit, drop: Drop): void {
    this.countIn(packet);
    if (packet.bytes.length > this.maxBytes) this.reject(packet, 'mtu', drop);
    else this.pass(packet, emit);
  }
}

/** Drops every datagram whose payload exceeds `maxBytes`. */
export function mtu(maxBytes: number): MtuLimit {
  return new MtuLimit(maxBytes);
}
