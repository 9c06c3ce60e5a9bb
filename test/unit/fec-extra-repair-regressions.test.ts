// Regressions found by the extra-repair tests (session 3): each failed before its fix.
import { describe, expect, it } from 'vitest';
import { FecDecoder } from '../../src/fec/fec-decoder.ts';
import { encodeFeedbackPacket } from '../../src/fec/fec-feedback.ts';
import { RepairRequester } from '../../src/fec/fec-repair-requests.ts';
import { FecSession } from '../../src/fec/fec-session.ts';
import { ChannelMode, makeChannelId } from '../../src/protocol/channel/channel-id.ts';
import { encodedPacketLength, encodePacket, type Packet } from '../../src/protocol/wire/index.ts';
import { SeededRandom } from '../../src/sim/random.ts';
import { framesOf, HandPair } from '../spec/core-harness.ts';

const none = new Uint8Array(0);

describe('extra repair regressions', () => {
  it('R-PR-8: a PTO probe never copies a deadline fragment whose channel does not retransmit', () => {
    const deadlineCh = makeChannelId(1, 'client', ChannelMode.deadline);
    const pair = new HandPair({ drop: (d) => d.from === 'server' }); // every ACK lost: the PTO fires
    pair.client.configureChannel(deadlineCh, { deadlineMs: 2000, retransmit: false });
    pair.act((now) => pair.client.send(now, deadlineCh, new Uint8Array(100)));
    pair.runUntil(3000);
    const sends = pair
      .sentBy('client')
      .filter((d) =>
        framesOf(d.bytes).frames.some((f) => f.type === 'message' && f.channelId === deadlineCh),
      );
    expect(pair.client.stats.fragmentRetransmissions).toBe(0); // actual 6 (probe pairs at 620, 1240, 1860 ms)
    expect(sends).toHaveLength(1); // actual 7
  });

  it('R-PR-8: a deadline-only sender at 30% loss with retransmit: false never counts a fragment retransmission', () => {
    const deadlineCh = makeChannelId(1, 'client', ChannelMode.deadline);
    const random = new SeededRandom(2);
    const pair = new HandPair({ drop: () => random.chance(0.3) });
    pair.client.configureChannel(deadlineCh, { deadlineMs: 200, retransmit: false });
    for (let i = 0; i < 150; i++) {
      pair.runUntil(i * 20);
      pair.act((now) => pair.client.send(now, deadlineCh, new Uint8Array(i % 5 === 0 ? 3000 : 200)));
    }
    pair.runUntil(150 * 20 + 10_000);
    expect(pair.client.stats.fragmentRetransmissions).toBe(0); // actual 8 (PTO probes; seeds 1, 3–6 give 0)
  });

  it('R-FEC-15: a request asks at most the block’s sources; a 2-source block never gets 252 extra shards', () => {
    const cid = Uint8Array.of(1, 2, 3, 4);
    const session = new FecSession(cid, 1200, { fecClass: 'media', extraRepair: {} });
    for (const pn of [0, 1]) {
      const p: Packet = {
        header: { type: 0, connectionId: cid, keyPhase: false, packetNumber: pn },
        frames: [{ type: 'ping' }, { type: 'padding', length: 1100 }],
      };
      const b = new Uint8Array(encodedPacketLength(p));
      encodePacket(p, b, 0);
      session.onTransmit(0, b);
    }
    while (session.pollRepair(100)) {}
    const ask = encodeFeedbackPacket({
      connectionId: cid,
      referencePacketNumber: 1,
      lossReport: undefined,
      requests: [{ firstSourcePacketNumber: 0, needed: 255 }],
      missing: [],
    }); // 14 bytes
    session.onReceive(101, ask);
    let extra = 0;
    while (session.pollRepair(101)) extra++;
    expect(extra).toBeLessThanOrEqual(4 * 2); // maxBurstRatio × k; actual 252 (283 KB for 14 bytes)
  });

  it('R-FEC-15: a request already answered by a rebuild does not wake the requester every millisecond', () => {
    const decoder = new FecDecoder();
    decoder.onRepair(0, {
      connectionId: none,
      firstSourcePacketNumber: 0,
      repairCount: 1,
      repairIndex: 0,
      lossReport: undefined,
      sourceLengths: [5, 5, 5],
      parity: new Uint8Array(5),
    });
    const requester = new RepairRequester(decoder); // copies 3, 4 ms apart
    expect(requester.poll(20, none, undefined)?.requests).toHaveLength(1);
    for (const pn of [0, 1, 2]) decoder.onSourcePacket(21, pn, new Uint8Array(5)); // the block completes
    let now = 21;
    let wakes = 0;
    for (let t = requester.nextTimeout(); t !== undefined && now < 2000; t = requester.nextTimeout()) {
      now = t;
      wakes++;
      requester.poll(now, none, undefined);
    }
    expect(wakes).toBeLessThan(10); // actual 398: nextTimeout = last poll + 1 until the ask ages out (400 ms)
  });

  it('R-FEC-15: nextTimeout() is a finite time, also before the first poll', () => {
    const requester = new RepairRequester(new FecDecoder());
    requester.onDataPacket(0, 0);
    expect(Number.isFinite(requester.nextTimeout())).toBe(true); // actual -Infinity
  });
});
