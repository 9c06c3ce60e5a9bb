/**
 * Encryption's cost on real loopback (issue 7, spec §13): raw `node:dgram`, Ferry in plaintext and Ferry encrypted
 * (static-key handshake, AES-128-GCM per packet) in the same run, alternating windows. Target: encrypted goodput
 * ≥ 0.6 of raw. Then benny suites: one AEAD call of node:crypto per algorithm, size and key kind (what the per-packet
 * floor is), and packet protection (seal + open of a 1176-byte DATA packet, as the binding sends them).
 * Run: `node --import tsx bench/node-loopback-secure.ts` (BENCH_LOOPBACK_MS: window, default 2000;
 * BENCH_LOOPBACK_ROUNDS: rounds, default 3; BENCH_LOOPBACK_SUITE=0 skips the benny suites).
 *
 * Same shapes and placements as bench/node-loopback.ts: raw sends 1200-byte datagrams in bursts of 32 per turn;
 * Ferry keeps 64 messages of 64 KiB queued on a reliable-ordered channel; 4 MiB socket buffers; both ends on this
 * thread (`one-thread`, the default here), or the sender in a worker thread (`two-threads`: it seals on one core,
 * the receiver opens on the other, as two hosts would). BENCH_LOOPBACK_PLACEMENT=two-threads or `both` picks them.
 *
 * The floor line: with both ends on one thread every data datagram is sealed once and opened once, so even a
 * protocol costing nothing could not beat raw µs / (raw µs + seal µs + open µs) of raw goodput (ACKs ignored).
 */
import {
  type CipherGCMTypes,
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  type KeyObject,
} from 'node:crypto';
import b from 'benny';
import { generateKeyPair } from '../src/node/keys.ts';
import type { DirectionKeys } from '../src/protocol/security/key-schedule.ts';
import { PacketProtector, protectionOverheadBytes } from '../src/protocol/security/packet-protection.ts';
import { decodeHeader, encodeHeader } from '../src/protocol/wire/header.ts';
import {
  datagramBytes,
  ferryBulk,
  median,
  type Placement,
  raw,
  rounds,
  row,
  windowMs,
} from './loopback-harness.ts';

const keys = generateKeyPair();

/** Ferry in plaintext (both sides opt in) or encrypted (the client pins the server's static key). */
const ferry = (encrypted: boolean, placement: Placement) =>
  encrypted
    ? ferryBulk({ staticKey: keys.privateKey }, { serverPublicKey: keys.publicKey }, placement)
    : ferryBulk({ insecurePlaintext: true }, { insecurePlaintext: true }, placement);

const chosen = process.env.BENCH_LOOPBACK_PLACEMENT ?? 'one-thread';
const placements: Placement[] = chosen === 'both' ? ['one-thread', 'two-threads'] : [chosen as Placement];
console.log(`loopback, ${windowMs} ms windows, ${rounds} rounds, placements: ${placements.join(', ')}`);
const list = (xs: number[]): string => xs.map((r) => r.toFixed(2)).join(' ');
/** Median raw CPU µs per datagram with both ends on one thread (for the floor line). */
let rawCpuUs = Number.NaN;
for (const placement of placements) {
  const plainRatios: number[] = [];
  const secureRatios: number[] = [];
  const rawCpu: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const r = await raw(placement);
    const p = await ferry(false, placement);
    const s = await ferry(true, placement);
    console.log(row(`raw ${placement}`, r));
    console.log(row(`plaintext ${placement}`, p));
    console.log(row(`encrypted ${placement}`, s));
    plainRatios.push(p.goodputMbps / r.goodputMbps);
    secureRatios.push(s.goodputMbps / r.goodputMbps);
    rawCpu.push(r.cpuUsPerDatagram);
  }
  if (placement === 'one-thread') rawCpuUs = median(rawCpu);
  console.log(
    `ratio  plaintext/raw, ${placement} = ${median(plainRatios).toFixed(2)} (median; rounds: ${list(plainRatios)})`,
  );
  console.log(
    `ratio  encrypted/raw, ${placement} = ${median(secureRatios).toFixed(2)} (median; rounds: ${list(secureRatios)})`,
  );
}

if (process.env.BENCH_LOOPBACK_SUITE !== '0') {
  const aead = await aeadSuite();
  const sealUs = aead.get('aes-128-gcm seal 1176 B KeyObject');
  const openUs = aead.get('aes-128-gcm open 1176 B KeyObject');
  if (sealUs !== undefined && openUs !== undefined && !Number.isNaN(rawCpuUs)) {
    const rawUs = rawCpuUs;
    console.log(
      `floor  encrypted/raw ≤ ${(rawUs / (rawUs + sealUs + openUs)).toFixed(2)} with both ends on one thread: ` +
        `raw ${rawUs.toFixed(2)} µs per datagram + seal ${sealUs.toFixed(2)} µs + open ${openUs.toFixed(2)} µs ` +
        '(fastest samples), even if the protocol cost nothing',
    );
  }
  await protectionSuite();
}

/** Fastest sample of each benny case (µs per call): the least disturbed by other load. */
function fastestUs(results: readonly { name: string; details: { min: number } }[]): Map<string, number> {
  return new Map(results.map((r) => [r.name, r.details.min * 1e6]));
}

/** Prints the fastest and the mean sample of each case (µs per call). */
function printUs(results: readonly { name: string; ops: number; details: { min: number } }[]): void {
  for (const r of results) {
    console.log(
      `  ${r.name.padEnd(52)} ${(r.details.min * 1e6).toFixed(2)} µs fastest, ${(1e6 / r.ops).toFixed(2)} µs mean`,
    );
  }
}

/**
 * One AEAD call as packet protection makes it (cipher, AAD, update, final, tag), for AES-128-GCM (Ferry's,
 * R-CRYPTO-1), AES-256-GCM and ChaCha20-Poly1305, at 64 B (an ACK) and 1176 B (a full DATA packet), with the key
 * imported once (KeyObject) or passed raw each call.
 */
async function aeadSuite(): Promise<Map<string, number>> {
  const options = { minSamples: 10, maxTime: 0.5 };
  const nonce = new Uint8Array(12);
  const aad = new Uint8Array(7);
  const tagBytes = 16;
  const cases = [];
  // ChaCha20-Poly1305 has the same AEAD methods; the GCM typing covers all three calls.
  for (const [algorithm, keyBytes] of [
    ['aes-128-gcm', 16],
    ['aes-256-gcm', 32],
    ['chacha20-poly1305' as CipherGCMTypes, 32],
  ] as const) {
    const rawKey = new Uint8Array(keyBytes).fill(7);
    const keyObject = createSecretKey(rawKey);
    for (const size of [64, datagramBytes - protectionOverheadBytes]) {
      const plaintext = new Uint8Array(size);
      const out = new Uint8Array(size + tagBytes);
      const seal = (key: KeyObject | Uint8Array): void => {
        const cipher = createCipheriv(algorithm, key, nonce, { authTagLength: tagBytes });
        cipher.setAAD(aad);
        out.set(cipher.update(plaintext));
        cipher.final();
        out.set(cipher.getAuthTag(), size);
      };
      seal(keyObject);
      const sealed = out.slice();
      const open = (): void => {
        const decipher = createDecipheriv(algorithm, keyObject, nonce, { authTagLength: tagBytes });
        decipher.setAAD(aad);
        decipher.setAuthTag(sealed.subarray(size));
        decipher.update(sealed.subarray(0, size));
        decipher.final();
      };
      cases.push(
        b.add(`${algorithm} seal ${size} B KeyObject`, () => seal(keyObject), options),
        b.add(`${algorithm} seal ${size} B raw key`, () => seal(rawKey), options),
        b.add(`${algorithm} open ${size} B KeyObject`, open, options),
      );
    }
  }
  const summary = await b.suite('AEAD call (node:crypto)', ...cases, b.cycle(), b.complete());
  printUs(summary.results);
  return fastestUs(summary.results);
}

/** Packet protection end to end: seal one 1176-byte DATA packet and open it (one key, no update). */
async function protectionSuite(): Promise<void> {
  const aeadKey = (n: number) => ({ key: new Uint8Array(16).fill(n), iv: new Uint8Array(12).fill(n) });
  const direction = (n: number): DirectionKeys => ({
    data: aeadKey(n),
    repair: aeadKey(n + 1),
    control: aeadKey(n + 2),
  });
  const sender = new PacketProtector({ send: direction(1), receive: direction(4) });
  const receiver = new PacketProtector({ send: direction(4), receive: direction(1) });
  const packet = new Uint8Array(datagramBytes - protectionOverheadBytes);
  const header = {
    type: 0 as const,
    connectionId: Uint8Array.of(1, 2, 3, 4),
    keyPhase: false,
    packetNumber: 0,
  };
  let pn = 0;
  const summary = await b.suite(
    'packet protection',
    b.add(
      'seal + open one 1176-byte DATA packet (AES-128-GCM)',
      () => {
        header.packetNumber = pn++;
        encodeHeader(header, packet, 0);
        const decoded = decodeHeader(packet);
        if (!decoded.ok) throw new Error('header');
        const sealed = sender.seal(packet, decoded.value);
        const opened = decodeHeader(sealed);
        if (!opened.ok || !receiver.open(sealed, opened.value).ok) throw new Error('open');
      },
      { minSamples: 10, maxTime: 1 },
    ),
    b.cycle(),
    b.complete(),
  );
  printUs(summary.results);
}
