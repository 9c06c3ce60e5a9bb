/**
 * Encryption's cost on real loopback (issue 7, spec §13): raw `node:dgram`, Ferry in plaintext and Ferry encrypted
 * (static-key handshake, AES-128-GCM per packet) in the same run, alternating windows. Target: encrypted goodput
 * ≥ 0.6 of raw. Also a benny suite timing packet protection alone (seal + open of a 1200-byte DATA packet).
 * Run: `node --import tsx bench/node-loopback-secure.ts` (BENCH_LOOPBACK_MS: window, default 2000;
 * BENCH_LOOPBACK_ROUNDS: rounds, default 3; BENCH_LOOPBACK_SUITE=0 skips the benny suite).
 *
 * Same shapes as bench/node-loopback.ts: raw sends 1200-byte datagrams in bursts of 32 per turn; Ferry keeps 64
 * messages of 64 KiB queued on a reliable-ordered channel; both ends in this process; 4 MiB socket buffers.
 */
import b from 'benny';
import { generateKeyPair } from '../src/node/keys.ts';
import type { DirectionKeys } from '../src/protocol/security/key-schedule.ts';
import { PacketProtector } from '../src/protocol/security/packet-protection.ts';
import { decodeHeader, encodeHeader } from '../src/protocol/wire/header.ts';
import { datagramBytes, ferryBulk, median, raw, rounds, row, windowMs } from './loopback-harness.ts';

const keys = generateKeyPair();

/** Ferry in plaintext (both sides opt in) or encrypted (the client pins the server's static key). */
const ferry = (encrypted: boolean) =>
  encrypted
    ? ferryBulk({ staticKey: keys.privateKey }, { serverPublicKey: keys.publicKey })
    : ferryBulk({ insecurePlaintext: true }, { insecurePlaintext: true });

console.log(`loopback, ${windowMs} ms windows, sender and receiver in one process, ${rounds} rounds`);
const plainRatios: number[] = [];
const secureRatios: number[] = [];
for (let i = 0; i < rounds; i++) {
  const r = await raw();
  const p = await ferry(false);
  const s = await ferry(true);
  console.log(row('raw', r));
  console.log(row('plaintext', p));
  console.log(row('encrypted', s));
  plainRatios.push(p.goodputMbps / r.goodputMbps);
  secureRatios.push(s.goodputMbps / r.goodputMbps);
}
const list = (xs: number[]): string => xs.map((r) => r.toFixed(2)).join(' ');
console.log(
  `ratio  plaintext/raw = ${median(plainRatios).toFixed(2)} (median; rounds: ${list(plainRatios)})`,
);
console.log(
  `ratio  encrypted/raw = ${median(secureRatios).toFixed(2)} (median; rounds: ${list(secureRatios)})`,
);

if (process.env.BENCH_LOOPBACK_SUITE !== '0') await suite();

async function suite(): Promise<void> {
  const aead = (n: number) => ({ key: new Uint8Array(16).fill(n), iv: new Uint8Array(12).fill(n) });
  const direction = (n: number): DirectionKeys => ({
    data: aead(n),
    repair: aead(n + 1),
    control: aead(n + 2),
  });
  const sender = new PacketProtector({ send: direction(1), receive: direction(4) });
  const receiver = new PacketProtector({ send: direction(4), receive: direction(1) });
  const packet = new Uint8Array(datagramBytes - 16);
  const header = {
    type: 0 as const,
    connectionId: Uint8Array.of(1, 2, 3, 4),
    keyPhase: false,
    packetNumber: 0,
  };
  let pn = 0;
  await b.suite(
    'packet protection',
    b.add('seal + open one 1200-byte DATA packet (AES-128-GCM)', () => {
      header.packetNumber = pn++;
      encodeHeader(header, packet, 0);
      const decoded = decodeHeader(packet);
      if (!decoded.ok) throw new Error('header');
      const sealed = sender.seal(packet, decoded.value);
      const opened = receiver.open(sealed, decoded.value);
      if (!opened.ok) throw new Error('open');
    }),
    b.cycle(),
    b.complete(),
  );
}
