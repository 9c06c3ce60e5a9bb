import { decodeFeedbackPacket, isFeedbackPacket } from '../fec/fec-feedback.ts';
import { decodeRepairPacket } from '../fec/fec-header.ts';
import { decodeFrames, decodeHeader, encodedFrameLength, PacketType } from '../protocol/wire/index.ts';

/** What {@link ChannelWireAccountant} attributes to one channel. */
export interface ChannelWireFigures {
  /** Wire bytes charged to the channel, both directions: its frames, its share of headers, ACKs and parity. */
  wireBytes: number;
  /** Fragments delivered although no copy of them crossed the link before their message completed (FEC). */
  recoveredByFec: number;
  /** Fragments whose first copy to cross the link was a retransmission (the first transmission was lost). */
  recoveredByRetransmit: number;
}

type SideName = string;

/**
 * Charges the wire bytes of a simulated connection to its channels, for per-channel overhead figures
 * (scenarios.md media-30): a DATA packet's MESSAGE frames go to their channels and the rest of the packet
 * (header, ACK, control) is shared among them by frame bytes; a REPAIR packet is shared like the source packets
 * it protects, and a FEEDBACK packet (spec §11.9) like the source packets of the blocks it asks repair for (the peer's
 * packets: the request exists because of them); packets carrying no tracked channel (ACK-only, PING, other channels' data) are shared at the end
 * by the number of packets each tracked channel sent. It also tells, per delivered fragment, whether it came
 * over the link first transmitted, retransmitted, or not at all (rebuilt by FEC). Tap every datagram with
 * {@link onDatagram}; call {@link onDelivered} when the receiving application gets a message.
 */
export class ChannelWireAccountant {
  private readonly figures = new Map<number, ChannelWireFigures>();
  private readonly packetsCarrying = new Map<number, number>();
  /** Per sending side and packet number: bytes of each tracked channel's frames in it. */
  private readonly shares = new Map<SideName, Map<number, Map<number, number>>>();
  /** Per fragment key: the packet number of its first transmission. */
  private readonly firstSent = new Map<string, number>();
  /** Per fragment key: the packet number of the first copy that arrived over the link. */
  private readonly firstArrived = new Map<string, number>();
  /** Per message key: its fragment offsets, as sent. */
  private readonly fragmentsOf = new Map<string, Set<number>>();
  private sharedBytes = 0;
  /** Per sending side: the source packet numbers of each block, by first source, from its REPAIR packets. */
  private readonly blockSources = new Map<SideName, Map<number, number[]>>();

  /** Tracks `channels` (others count as untracked traffic). */
  constructor(channels: readonly number[]) {
    for (const c of channels) {
      this.figures.set(c, { wireBytes: 0, recoveredByFec: 0, recoveredByRetransmit: 0 });
      this.packetsCarrying.set(c, 0);
    }
  }

  /** A datagram `side` sent (`out`) or received (`in`). */
  onDatagram(side: SideName, direction: 'in' | 'out', bytes: Uint8Array): void {
    const decoded = decodeHeader(bytes);
    if (!decoded.ok) return;
    const { header, bodyOffset } = decoded.value;
    if (direction === 'out' && header.type === PacketType.fecRepair) {
      if (isFeedbackPacket(bytes)) this.chargeFeedback(side, bytes);
      else this.chargeRepair(side, bytes);
      return;
    }
    if (header.type !== PacketType.data) {
      if (direction === 'out') this.sharedBytes += bytes.length;
      return;
    }
    const frames = decodeFrames(bytes, bodyOffset);
    if (!frames.ok) return;
    const perChannel = new Map<number, number>();
    for (const frame of frames.value) {
      if (frame.type !== 'message' || !this.figures.has(frame.channelId)) continue;
      const key = `${frame.channelId}:${frame.messageId}`;
      const fragmentKey = `${key}:${frame.offset}`;
      if (direction === 'out') {
        perChannel.set(frame.channelId, (perChannel.get(frame.channelId) ?? 0) + encodedFrameLength(frame));
        if (!this.firstSent.has(fragmentKey)) this.firstSent.set(fragmentKey, header.packetNumber);
        const offsets = this.fragmentsOf.get(key) ?? new Set<number>();
        this.fragmentsOf.set(key, offsets);
        offsets.add(frame.offset);
      } else if (!this.firstArrived.has(fragmentKey)) {
        this.firstArrived.set(fragmentKey, header.packetNumber);
      }
    }
    if (direction === 'in') return;
    this.charge(bytes.length, perChannel);
    if (perChannel.size > 0) {
      const bySide = this.shares.get(side) ?? new Map<number, Map<number, number>>();
      this.shares.set(side, bySide);
      bySide.set(header.packetNumber, perChannel);
      for (const c of perChannel.keys()) this.packetsCarrying.set(c, this.packetsCarrying.get(c)! + 1);
    }
  }

  /** The receiving application got message `messageId` of `channelId`: classify how its fragments came. */
  onDelivered(channelId: number, messageId: number): void {
    const figures = this.figures.get(channelId);
    const key = `${channelId}:${messageId}`;
    const offsets = this.fragmentsOf.get(key);
    if (!figures || !offsets) return;
    for (const offset of offsets) {
      const fragmentKey = `${key}:${offset}`;
      const arrived = this.firstArrived.get(fragmentKey);
      if (arrived === undefined) figures.recoveredByFec++;
      else if (arrived !== this.firstSent.get(fragmentKey)) figures.recoveredByRetransmit++;
    }
    this.fragmentsOf.delete(key);
  }

  /** The figures per tracked channel, with untracked bytes shared out by packets sent. */
  results(): Map<number, ChannelWireFigures> {
    let packets = 0;
    for (const n of this.packetsCarrying.values()) packets += n;
    const out = new Map<number, ChannelWireFigures>();
    for (const [c, f] of this.figures) {
      const share = packets > 0 ? (this.sharedBytes * this.packetsCarrying.get(c)!) / packets : 0;
      out.set(c, { ...f, wireBytes: Math.round(f.wireBytes + share) });
    }
    return out;
  }

  private charge(bytes: number, perChannel: Map<number, number>): void {
    let total = 0;
    for (const b of perChannel.values()) total += b;
    if (total === 0) {
      this.sharedBytes += bytes;
      return;
    }
    for (const [c, b] of perChannel) this.figures.get(c)!.wireBytes += (bytes * b) / total;
  }

  private chargeRepair(side: SideName, bytes: Uint8Array): void {
    const repair = decodeRepairPacket(bytes);
    const bySide = this.shares.get(side);
    if (!repair.ok || !bySide) {
      this.sharedBytes += bytes.length;
      return;
    }
    const perChannel = new Map<number, number>();
    const { firstSourcePacketNumber, sourceLengths } = repair.value;
    const sources: number[] = [];
    sourceLengths.forEach((length, i) => {
      if (length === 0) return;
      sources.push(firstSourcePacketNumber + i);
      const share = bySide.get(firstSourcePacketNumber + i);
      if (share) for (const [c, b] of share) perChannel.set(c, (perChannel.get(c) ?? 0) + b);
    });
    const blocks = this.blockSources.get(side) ?? new Map<number, number[]>();
    this.blockSources.set(side, blocks);
    blocks.set(firstSourcePacketNumber, sources);
    this.charge(bytes.length, perChannel);
  }

  /** A FEEDBACK packet `side` sent about the other side's packets: charged like the sources it asks about. */
  private chargeFeedback(side: SideName, bytes: Uint8Array): void {
    const feedback = decodeFeedbackPacket(bytes);
    const perChannel = new Map<number, number>();
    if (feedback.ok) {
      for (const [peer, bySide] of this.shares) {
        if (peer === side) continue;
        const add = (pn: number) => {
          const share = bySide.get(pn);
          if (share) for (const [c, b] of share) perChannel.set(c, (perChannel.get(c) ?? 0) + b);
        };
        const blocks = this.blockSources.get(peer);
        for (const r of feedback.value.requests)
          for (const pn of blocks?.get(r.firstSourcePacketNumber) ?? []) add(pn);
        for (const pn of feedback.value.missing) add(pn);
      }
    }
    this.charge(bytes.length, perChannel);
  }
}
