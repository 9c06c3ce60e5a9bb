import { copyDatagram } from '../datagram-slab.ts';
import { type DecodedHeader, encodeHeader, PacketType } from '../wire/header.ts';
import { WireReader } from '../wire/reader.ts';
import { varintLength } from '../wire/varint.ts';
import { writeVarint } from '../wire/writer.ts';
import {
  type AeadKey,
  aeadKeyBytes,
  aeadNonceBytes,
  aeadOpen,
  aeadSeal,
  aeadTagBytes,
  concat,
  hkdf,
} from './crypto.ts';
import { HandshakeKind } from './handshake-codec.ts';
import type { TrafficKeys } from './key-schedule.ts';
import { ReplayWindow } from './replay-window.ts';

/** Bytes protection adds to a DATA packet (the tag) or at most to a REPAIR packet (counter + tag), R-CRYPTO-2. */
export const protectionOverheadBytes = 8 + aeadTagBytes;

/**
 * Packets sealed under one key before the sender moves to the next (R-CRYPTO-7): 2^22, half of RFC 9001 §6.6's
 * AES-GCM confidentiality limit of 2^23 packets per key.
 */
export const defaultKeyUpdatePackets = 2 ** 22;

/** The flags-byte bit carrying the key phase (R-WIRE-9). */
const keyPhaseBit = 0x08;

/** The key after `key` (R-CRYPTO-7): one-way, so a later key reveals nothing about an earlier one. */
export function nextKey(key: AeadKey): AeadKey {
  const secret = concat(key.key, key.iv);
  const salt = new Uint8Array(0);
  return {
    key: hkdf(secret, salt, 'ferry key update key', aeadKeyBytes),
    iv: hkdf(secret, salt, 'ferry key update iv', aeadNonceBytes),
  };
}

/** The sending side of one key kind: the current key, its phase, and how many packets it sealed. */
class SendKey {
  phase = false;
  sealed = 0;
  constructor(
    public key: AeadKey,
    private readonly updateAfter: number,
  ) {}

  /** The key for the next packet, moving to the next key after `updateAfter` packets. */
  take(): AeadKey {
    if (this.sealed >= this.updateAfter) {
      this.key = nextKey(this.key);
      this.phase = !this.phase;
      this.sealed = 0;
    }
    this.sealed++;
    return this.key;
  }
}

/** The receiving side of one key kind: current and previous keys, the next one derived on demand. */
class ReceiveKey {
  phase = false;
  previous: AeadKey | undefined;
  private next: AeadKey | undefined;
  constructor(public key: AeadKey) {}

  /**
   * Opens with the key of `phase`: the current one, the next one for a packet newer than any accepted
   * (the peer updated), or the previous one for an older packet (reordered across the update).
   */
  open(
    phase: boolean,
    newest: boolean,
    number: number,
    aad: Uint8Array,
    sealed: Uint8Array,
  ): Uint8Array | undefined {
    if (phase === this.phase) return aeadOpen(this.key, number, aad, sealed);
    if (!newest) return this.previous ? aeadOpen(this.previous, number, aad, sealed) : undefined;
    this.next ??= nextKey(this.key);
    const body = aeadOpen(this.next, number, aad, sealed);
    if (body) {
      this.previous = this.key;
      this.key = this.next;
      this.next = undefined;
      this.phase = phase;
    }
    return body;
  }
}

/** The outcome of opening a protected packet. */
export type OpenResult =
  | { ok: true; packet: Uint8Array; packetNumber: number }
  | { ok: false; reason: 'replayed' | 'forged' | 'malformed' };

/**
 * Packet protection of one established connection (spec §13.5): the cleartext header is the associated data,
 * the body is sealed with AES-128-GCM under a key per direction and packet kind. DATA packets use the header's
 * packet number as nonce; REPAIR packets (whose header number repeats within a FEC block) carry an explicit
 * repair counter after the header; control packets number themselves. One replay window per kind is checked
 * before any AEAD work and advanced only after authentication (R-CRYPTO-5). DATA and REPAIR keys are replaced
 * every `keyUpdatePackets` packets, signalled by the header's key phase bit (R-CRYPTO-7).
 */
export class PacketProtector {
  private repairCounter = 0;
  private controlCounter = 0;
  private readonly dataWindow = new ReplayWindow();
  private readonly repairWindow = new ReplayWindow();
  private readonly controlWindow = new ReplayWindow();
  private readonly sendData: SendKey;
  private readonly sendRepair: SendKey;
  private readonly receiveData: ReceiveKey;
  private readonly receiveRepair: ReceiveKey;

  constructor(
    private readonly keys: TrafficKeys,
    keyUpdatePackets = defaultKeyUpdatePackets,
  ) {
    this.sendData = new SendKey(keys.send.data, keyUpdatePackets);
    this.sendRepair = new SendKey(keys.send.repair, keyUpdatePackets);
    this.receiveData = new ReceiveKey(keys.receive.data);
    this.receiveRepair = new ReceiveKey(keys.receive.repair);
  }

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
      const key = this.sendRepair.take();
      const aadLength = bodyOffset + varintLength(counter);
      const length = aadLength + body.length + aeadTagBytes;
      const out = scratchFor(length);
      out.set(packet.subarray(0, bodyOffset));
      if (this.sendRepair.phase) out[0]! |= keyPhaseBit;
      writeVarint(out, bodyOffset, counter);
      aeadSeal(key, counter, out.subarray(0, aadLength), body, out, aadLength);
      return copyDatagram(out.subarray(0, length));
    }
    const key = this.sendData.take();
    const length = packet.length + aeadTagBytes;
    const out = scratchFor(length);
    out.set(packet.subarray(0, bodyOffset));
    if (this.sendData.phase) out[0]! |= keyPhaseBit;
    aeadSeal(key, header.packetNumber, out.subarray(0, bodyOffset), body, out, bodyOffset);
    return copyDatagram(out.subarray(0, length));
  }

  /** Opens a protected DATA or REPAIR packet into the plaintext packet the inner layers expect. */
  open(bytes: Uint8Array, decoded: DecodedHeader): OpenResult {
    const { header, bodyOffset } = decoded;
    if (header.type === PacketType.fecRepair) {
      const reader = new WireReader(bytes, bodyOffset);
      const counter = reader.varint();
      if (counter < 0) return { ok: false, reason: 'malformed' };
      if (!this.repairWindow.check(counter)) return { ok: false, reason: 'replayed' };
      const body = this.receiveRepair.open(
        header.keyPhase,
        counter > this.repairWindow.largestAccepted,
        counter,
        bytes.subarray(0, reader.offset),
        bytes.subarray(reader.offset),
      );
      if (!body) return { ok: false, reason: 'forged' };
      this.repairWindow.accept(counter);
      return { ok: true, packet: join(bytes.subarray(0, bodyOffset), body), packetNumber: counter };
    }
    const pn = header.packetNumber;
    if (!this.dataWindow.check(pn)) return { ok: false, reason: 'replayed' };
    const body = this.receiveData.open(
      header.keyPhase,
      pn > this.dataWindow.largestAccepted,
      pn,
      bytes.subarray(0, bodyOffset),
      bytes.subarray(bodyOffset),
    );
    if (!body) return { ok: false, reason: 'forged' };
    this.dataWindow.accept(pn);
    return { ok: true, packet: join(bytes.subarray(0, bodyOffset), body), packetNumber: pn };
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

/** Reused buffer a packet is assembled in; the caller gets an owned copy of it from the shared datagram slab. */
let scratch = new Uint8Array(2048);

function scratchFor(length: number): Uint8Array {
  if (scratch.length < length) scratch = new Uint8Array(length);
  return scratch;
}

/** The plaintext packet: header (key phase cleared: it belongs to this layer) and body. */
function join(head: Uint8Array, tail: Uint8Array): Uint8Array {
  const length = head.length + tail.length;
  const out = scratchFor(length);
  out.set(head);
  out[0]! &= ~keyPhaseBit;
  out.set(tail, head.length);
  return copyDatagram(out.subarray(0, length));
}
