import { type DecodedHeader, encodeHeader, PacketType } from '../wire/header.ts';
import { WireReader } from '../wire/reader.ts';
import { varintLength } from '../wire/varint.ts';
import { writeVarint } from '../wire/writer.ts';
import { aeadOpen, aeadSeal, aeadTagBytes } from './crypto.ts';
import { HandshakeKind } from './handshake-codec.ts';
import type { TrafficKeys } from './key-schedule.ts';
import { ReplayWindow } from './replay-window.ts';

/** Bytes protection adds to a DATA packet (the tag) or at most to a REPAIR packet (counter + tag), R-CRYPTO-2. */
export const protectionOverheadBytes = 8 + aeadTagBytes;

/** The outcome of opening a protected packet. */
export type OpenResult =
  | { ok: true; packet: Uint8Array; packetNumber: number }
  | { ok: false; reason: 'replayed' | 'forged' | 'malformed' };

/**
 * Packet protection of one established connection (spec §13.5): the cleartext header is the associated data,
 * the body is sealed with AES-128-GCM under a key per direction and packet kind. DATA packets use the header's
 * packet number as nonce; REPAIR packets (whose header number repeats within a FEC block) carry an explicit
 * repair counter after the header; control packets number themselves. One replay window per kind is checked
 * before any AEAD work and advanced only after authentication (R-CRYPTO-5).
 */
export class PacketProtector {
  private repairCounter = 0;
  private controlCounter = 0;
  private readonly dataWindow = new ReplayWindow();
  private readonly repairWindow = new ReplayWindow();
  private readonly controlWindow = new ReplayWindow();

  constructor(private readonly keys: TrafficKeys) {}

  /** Largest DATA packet number authenticated so far (-1 before the first). */
  get largestDataPacket(): number {
    return this.dataWindow.largestAccepted;
  }

  /** Seals a DATA or REPAIR packet produced by the layers inside (header + plaintext body). */
  seal(packet: Uint8Array, decoded: DecodedHeader): Uint8Array {
    const { header, bodyOffset } = decoded;
    const body = packet.subarray(bodyOffset);
    if (header.type === PacketType.fecRepair) {
      const counter = this.repairCounter++;
      const aadLength = bodyOffset + varintLength(counter);
      const out = new Uint8Array(aadLength + body.length + aeadTagBytes);
      out.set(packet.subarray(0, bodyOffset));
      writeVarint(out, bodyOffset, counter);
      aeadSeal(this.keys.send.repair, counter, out.subarray(0, aadLength), body, out, aadLength);
      return out;
    }
    const out = new Uint8Array(packet.length + aeadTagBytes);
    out.set(packet.subarray(0, bodyOffset));
    aeadSeal(this.keys.send.data, header.packetNumber, packet.subarray(0, bodyOffset), body, out, bodyOffset);
    return out;
  }

  /** Opens a protected DATA or REPAIR packet into the plaintext packet the inner layers expect. */
  open(bytes: Uint8Array, decoded: DecodedHeader): OpenResult {
    const { header, bodyOffset } = decoded;
    if (header.type === PacketType.fecRepair) {
      const reader = new WireReader(bytes, bodyOffset);
      const counter = reader.varint();
      if (counter < 0) return { ok: false, reason: 'malformed' };
      if (!this.repairWindow.check(counter)) return { ok: false, reason: 'replayed' };
      const body = aeadOpen(
        this.keys.receive.repair,
        counter,
        bytes.subarray(0, reader.offset),
        bytes.subarray(reader.offset),
      );
      if (!body) return { ok: false, reason: 'forged' };
      this.repairWindow.accept(counter);
      return { ok: true, packet: join(bytes.subarray(0, bodyOffset), body), packetNumber: counter };
    }
    if (!this.dataWindow.check(header.packetNumber)) return { ok: false, reason: 'replayed' };
    const body = aeadOpen(
      this.keys.receive.data,
      header.packetNumber,
      bytes.subarray(0, bodyOffset),
      bytes.subarray(bodyOffset),
    );
    if (!body) return { ok: false, reason: 'forged' };
    this.dataWindow.accept(header.packetNumber);
    return { ok: true, packet: join(bytes.subarray(0, bodyOffset), body), packetNumber: header.packetNumber };
  }

  /** A sealed control packet (HANDSHAKE kind 6) carrying `payload` for `connectionId`. */
  sealControl(connectionId: Uint8Array, payload: Uint8Array): Uint8Array {
    const packetNumber = this.controlCounter++;
    const header = { type: PacketType.handshake, connectionId, keyPhase: false, packetNumber };
    const headerBytes = 1 + connectionId.length + varintLength(packetNumber);
    const out = new Uint8Array(headerBytes + 1 + payload.length + aeadTagBytes);
    const at = encodeHeader(header, out, 0);
    out[at] = HandshakeKind.control;
    aeadSeal(this.keys.send.control, packetNumber, out.subarray(0, at + 1), payload, out, at + 1);
    return out;
  }

  /** Opens a control packet whose kind byte is at `kindOffset` (the header's end): the payload, or why not. */
  openControl(
    bytes: Uint8Array,
    kindOffset: number,
    packetNumber: number,
  ): { ok: true; payload: Uint8Array } | { ok: false; reason: 'replayed' | 'forged' } {
    if (!this.controlWindow.check(packetNumber)) return { ok: false, reason: 'replayed' };
    const payload = aeadOpen(
      this.keys.receive.control,
      packetNumber,
      bytes.subarray(0, kindOffset + 1),
      bytes.subarray(kindOffset + 1),
    );
    if (!payload) return { ok: false, reason: 'forged' };
    this.controlWindow.accept(packetNumber);
    return { ok: true, payload };
  }
}

function join(head: Uint8Array, tail: Uint8Array): Uint8Array {
  const out = new Uint8Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}
