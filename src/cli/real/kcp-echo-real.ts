import { performance } from 'node:perf_hooks';
import type { ScenarioResult } from '../scenario.ts';
import { echoMetrics, type KcpEchoParams, kcpEchoLink } from '../scenarios/kcp-echo.ts';
import { profileConfig } from '../validate-profiles.ts';
import { openRealPath } from './real-path.ts';
import { realParams, waitUntil } from './real-run.ts';

/**
 * kcp-echo over real UDP on loopback: A sends an 8-byte message every 20 ms of wall time (on a fixed grid, so
 * timer drift does not accumulate) until `messages` have been echoed; B echoes each one on delivery. The relay
 * applies kcp-echo's link in real time. Same result keys as the simulated run.
 */
export async function runKcpEchoReal(
  params: KcpEchoParams,
  onProgress?: (fraction: number) => void,
  encrypt = false,
): Promise<ScenarioResult & { samples: { latencyMs: number[] } }> {
  const link = kcpEchoLink(params);
  const path = await openRealPath({
    encrypt,
    forward: link,
    reverse: link,
    seed: params.seed,
    config: profileConfig(params.profile),
  });
  const rtts: number[] = [];
  const sentAt: number[] = [];
  const seen = { a: new Set<number>(), b: new Set<number>() };
  const last = { a: -1, b: -1 };
  let duplicates = 0;
  let outOfOrder = 0;
  const track = (side: 'a' | 'b', seq: number): void => {
    if (seen[side].has(seq)) duplicates++;
    if (seq < last[side]) outOfOrder++;
    seen[side].add(seq);
    last[side] = Math.max(last[side], seq);
  };
  const seqOf = (data: Uint8Array) =>
    new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
  let timer: NodeJS.Timeout | undefined;
  try {
    path.channels.b.on('message', (data: Uint8Array) => {
      track('b', seqOf(data));
      void path.channels.b.send(data.slice());
    });
    path.channels.a.on('message', (data: Uint8Array) => {
      const seq = seqOf(data);
      track('a', seq);
      if (rtts.length < params.messages) rtts.push(performance.now() - sentAt[seq]!);
      onProgress?.(rtts.length / params.messages);
    });
    const startMs = performance.now();
    const sendNext = (): void => {
      if (rtts.length >= params.messages) return;
      const seq = sentAt.length;
      const data = new Uint8Array(params.messageBytes);
      new DataView(data.buffer).setUint32(0, seq);
      sentAt.push(performance.now());
      void path.channels.a.send(data);
      timer = setTimeout(sendNext, Math.max(0, startMs + (seq + 1) * params.intervalMs - performance.now()));
    };
    sendNext();
    // Every message needs one round trip; a run that cannot finish in a minute past its schedule stops.
    await waitUntil(() => rtts.length >= params.messages, params.messages * params.intervalMs + 60_000);
    const wire = path.wire();
    return {
      params: realParams(params, encrypt),
      results: echoMetrics(rtts, wire, duplicates, outOfOrder),
      samples: { latencyMs: rtts },
    };
  } finally {
    clearTimeout(timer);
    await path.close();
  }
}
