import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CookieMinter } from '../../src/protocol/security/cookie.ts';
import {
  aeadOpen,
  aeadSeal,
  aeadTagBytes,
  x25519,
  x25519KeyPair,
  x25519PublicKey,
} from '../../src/protocol/security/crypto.ts';
import { PacketProtector } from '../../src/protocol/security/packet-protection.ts';
import { PerSourceLimiter, TokenBucket } from '../../src/protocol/security/rate-limiter.ts';
import { ReplayWindow, replayWindowBits } from '../../src/protocol/security/replay-window.ts';
import { decodeHeader, encodeHeader } from '../../src/protocol/wire/header.ts';

describe('ReplayWindow', () => {
  it('R-CRYPTO-5: agrees with a reference set model (accept new, reject seen or older than the window)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(6000), { maxLength: 400 }), (numbers) => {
        const window = new ReplayWindow();
        const seen = new Set<number>();
        let largest = -1;
        for (const pn of numbers) {
          const expected = !seen.has(pn) && pn > largest - replayWindowBits;
          expect(window.check(pn)).toBe(expected);
          if (expected) {
            window.accept(pn);
            seen.add(pn);
            largest = Math.max(largest, pn);
          }
        }
      }),
    );
  });

  it('forgets nothing inside the window across a large jump', () => {
    const w = new ReplayWindow();
    w.accept(5);
    w.accept(5 + replayWindowBits - 1);
    expect(w.check(5)).toBe(false);
    expect(w.check(6)).toBe(true);
    w.accept(10 * replayWindowBits);
    expect(w.check(5 + replayWindowBits - 1)).toBe(false); // now too old
    expect(w.check(10 * replayWindowBits - 1)).toBe(true);
  });
});

describe('AEAD and X25519', () => {
  const key = { key: new Uint8Array(16).fill(3), iv: new Uint8Array(12).fill(7) };

  it('seals and opens; a different packet number, AAD or tag byte fails', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 20 }),
        fc.nat(2 ** 40),
        (pt, aad, pn) => {
          const out = new Uint8Array(pt.length + aeadTagBytes);
          aeadSeal(key, pn, aad, pt, out, 0);
          expect(aeadOpen(key, pn, aad, out)).toEqual(pt);
          expect(aeadOpen(key, pn + 1, aad, out)).toBeUndefined();
          expect(aeadOpen(key, pn, Uint8Array.of(...aad, 0), out)).toBeUndefined();
          const bad = out.slice();
          bad[bad.length - 1]! ^= 1;
          expect(aeadOpen(key, pn, aad, bad)).toBeUndefined();
        },
      ),
      { numRuns: 200 },
    );
    expect(aeadOpen(key, 0, new Uint8Array(0), new Uint8Array(5))).toBeUndefined();
  });

  it('R-CRYPTO-1: X25519 from injected private bytes agrees both ways and matches RFC 7748 §6.1', () => {
    const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((h) => Number.parseInt(h, 16)));
    const alice = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bob = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    expect(x25519PublicKey(alice)).toEqual(
      hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'),
    );
    const shared = hex('4a5d9d5b a4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'.replace(' ', ''));
    expect(x25519(x25519KeyPair(alice).privateKey, x25519PublicKey(bob))).toEqual(shared);
    expect(x25519(x25519KeyPair(bob).privateKey, x25519PublicKey(alice))).toEqual(shared);
    expect(x25519(x25519KeyPair(alice).privateKey, new Uint8Array(32))).toBeUndefined(); // low-order point
    expect(x25519(x25519KeyPair(alice).privateKey, new Uint8Array(31))).toBeUndefined();
  });
});

describe('cookies and rate limits', () => {
  it('R-HS-4: a cookie verifies for its address and id within one to two lifetimes only', () => {
    const minter = new CookieMinter(new Uint8Array(32).fill(1), 1000);
    const id = Uint8Array.of(1, 2, 3, 4);
    const cookie = minter.mint(1500, '10.0.0.1:1', id);
    expect(minter.verify(1999, '10.0.0.1:1', id, cookie)).toBe(true);
    expect(minter.verify(2999, '10.0.0.1:1', id, cookie)).toBe(true);
    expect(minter.verify(3000, '10.0.0.1:1', id, cookie)).toBe(false);
    expect(minter.verify(1500, '10.0.0.1:2', id, cookie)).toBe(false);
    expect(minter.verify(1500, '10.0.0.1:1', Uint8Array.of(1, 2, 3, 5), cookie)).toBe(false);
    expect(minter.verify(1500, '10.0.0.1:1', id, cookie.subarray(1))).toBe(false);
    const other = new CookieMinter(new Uint8Array(32).fill(2), 1000);
    expect(other.verify(1500, '10.0.0.1:1', id, cookie)).toBe(false);
  });

  it('R-HS-8: token buckets refill at their rate; per-source state stays bounded', () => {
    const bucket = new TokenBucket(10, 2);
    expect([bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, false]);
    expect(bucket.take(100)).toBe(true);
    expect(bucket.take(100)).toBe(false);
    const limiter = new PerSourceLimiter(1, 1, 4);
    expect(limiter.take(0, '1.1.1.1:5')).toBe(true);
    expect(limiter.take(0, '1.1.1.1:6')).toBe(false); // same host, other port
    for (let i = 0; i < 10; i++) limiter.take(0, `2.2.2.${i}:1`);
    expect(limiter.take(0, '1.1.1.1:5')).toBe(true); // evicted long ago: bounded memory
  });
});

describe('PacketProtector key update', () => {
  const aead = (n: number) => ({ key: new Uint8Array(16).fill(n), iv: new Uint8Array(12).fill(n) });
  const direction = (n: number) => ({ data: aead(n), repair: aead(n + 1), control: aead(n + 2) });

  it('R-CRYPTO-7: packets reordered across key updates (by less than one key period) all open, once', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(7), { minLength: 60, maxLength: 60 }), (jitter) => {
        const period = 8;
        const sender = new PacketProtector({ send: direction(1), receive: direction(4) }, period);
        const receiver = new PacketProtector({ send: direction(4), receive: direction(1) }, period);
        const sealed = jitter.map((_, pn) => {
          const packet = new Uint8Array(40);
          const at = encodeHeader(
            { type: 0, connectionId: Uint8Array.of(9, 9, 9, 9), keyPhase: false, packetNumber: pn },
            packet,
            0,
          );
          packet.fill(pn, at);
          const d = decodeHeader(packet);
          if (!d.ok) throw new Error('header');
          return { pn, bytes: sender.seal(packet, d.value) };
        });
        // Each packet arrives up to 7 places late: sort by pn + jitter.
        const arrival = sealed
          .map((s, i) => ({ ...s, at: i + jitter[i]! }))
          .sort((a, b) => a.at - b.at || a.pn - b.pn);
        for (const { pn, bytes } of arrival) {
          const d = decodeHeader(bytes);
          if (!d.ok) throw new Error('header');
          const opened = receiver.open(bytes, d.value);
          expect(opened.ok).toBe(true);
          if (opened.ok) {
            expect(opened.packet.at(-1)).toBe(pn);
            expect(opened.packet[0]! & 0x08).toBe(0);
          }
          expect(receiver.open(bytes, d.value)).toEqual({ ok: false, reason: 'replayed' });
        }
      }),
      { numRuns: 100 },
    );
  });

  it('R-CRYPTO-2: sealed and opened packets are owned copies (none overwritten by later ones, any size)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 12_000 }), { minLength: 1, maxLength: 12 }),
        (bodies) => {
          const sender = new PacketProtector({ send: direction(1), receive: direction(4) });
          const receiver = new PacketProtector({ send: direction(4), receive: direction(1) });
          const plain = bodies.map((body, pn) => {
            const header = {
              type: 0,
              connectionId: Uint8Array.of(7, 7, 7, 7),
              keyPhase: false,
              packetNumber: pn,
            };
            const packet = new Uint8Array(16 + body.length);
            const at = encodeHeader({ ...header, type: 0 }, packet, 0);
            packet.set(body, at);
            return packet.subarray(0, at + body.length);
          });
          const sealed = plain.map((packet) => {
            const d = decodeHeader(packet);
            if (!d.ok) throw new Error('header');
            return sender.seal(packet, d.value);
          });
          const opened = sealed.map((bytes) => {
            const d = decodeHeader(bytes);
            if (!d.ok) throw new Error('header');
            const o = receiver.open(bytes, d.value);
            return o.ok ? o.packet : undefined;
          });
          // Checked only after every packet was sealed and opened: a reused buffer would show here.
          expect(opened.map((p) => p && [...p])).toEqual(plain.map((p) => [...p]));
          expect(sealed.map((s) => s.length)).toEqual(plain.map((p) => p.length + aeadTagBytes));
        },
      ),
      { numRuns: 60 },
    );
  });
});
