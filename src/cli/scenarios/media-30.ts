import { type FecPairStats, fecPairStats } from '../../fec/fec-pair-stats.ts';
import type { FecOptions } from '../../fec/fec-session.ts';
import type { FecClass } from '../../fec/redundancy-controller.ts';
import { ChannelWireAccountant } from '../../harness/channel-wire-accountant.ts';
import { FerryPair } from '../../harness/ferry-pair.ts';
import { encodeMediaFrame, MediaReceiver, type MediaStreamSpec } from '../../harness/media-stream.ts';
import { ChannelMode, makeChannelId } from '../../protocol/channel/channel-id.ts';
import type { ConnectionConfig } from '../../protocol/connection-config.ts';
import type { TraceSinks } from '../../protocol/trace.ts';
import type { LinkProfile } from '../../sim/link.ts';
import type { Scenario, ScenarioOptions, ScenarioResult } from '../scenario.ts';
import { MediaTrace } from '../trace/media-trace.ts';
import { profileConfig } from '../validate-profiles.ts';
import { jitteredLink, type PathParams, pathParams } from './path-params.ts';
import { quantile, round } from './stats.ts';

/** How lost media is repaired: FEC then retransmission inside the deadline, retransmission only, or FEC only. */
export type MediaRepair = 'hybrid' | 'arq-only' | 'fec-only';

/** Parameters of one media-30 run (scenarios.md "media-30"). */
export interface Media30Params extends PathParams {
  durationS: number;
  profile: string;
  /** Repair strategy of the main run (`--fec off` selects `arq-only`). */
  repair: MediaRepair;
  /**
   * Audio: one frame every `intervalMs` of `frameBytes` (header included), deadline after capture; `retransmit`:
   * whether the hybrid run retransmits its losses (R-PR-8) or leaves them to FEC extra repair (R-FEC-14).
   */
  audio: { intervalMs: number; frameBytes: number; deadlineMs: number; retransmit: boolean };
  /** Video: bitrate, frame rate, keyframe size and period, deadline after capture. */
  video: {
    bitrateMbps: number;
    fps: number;
    keyframeBytes: number;
    keyframeIntervalS: number;
    deadlineMs: number;
    retransmit: boolean;
  };
  /** FEC layer settings of the hybrid and FEC-only runs (spec §11). */
  fec: FecOptions;
  /** FEC class of the audio channel (R-FEC-13); undefined keeps `fec.fecClass`. */
  audioFecClass?: FecClass;
  /** Playout buffer settings (spec §12.2) beyond the deadline bound. */
  playout: { quantile: number; minDelayMs: number; forgetFactor?: number; initialDelayMs?: number };
  /** Whether the ARQ-only, FEC-only and Gilbert-burst baselines run too. */
  baselines: boolean;
}

/**
 * FEC of the hybrid run (spec §12.3). Short blocks (about one video frame, 8 ms) and no ACK-only sources (the
 * reverse path carries only ACKs; a lost one costs no frame). First-shot parity up to 0.6 per source, for video
 * (`media`) and audio (`interactive`, so that audio-only blocks are left out of extra repair); then extra repair
 * (§11.9) for video blocks: asked for 40 ms after a block's repairs arrive (the path's delay spread: ±15 ms each
 * way plus the block's 8 ms; an earlier ask counts shards still in flight as missing), in 5 copies, answered with a burst
 * that falls short once in 300, nothing past 250 ms (no video frame can still be played).
 */
export const media30Fec: FecOptions = {
  fecClass: 'media',
  maxBlockDelayMs: 8,
  protectAckOnly: false,
  policy: { maxRepairRatio: 0.6 },
  classPolicies: { interactive: { maxRepairRatio: 0.6, targetResidualLoss: 0.005 } },
  extraRepair: {
    classes: ['media'],
    targetFailure: 0.003,
    maxAgeMs: 250,
    requests: { waitMs: 40, copies: 5, maxAsks: 2, maxAgeMs: 230, minSourceBytes: 400 },
  },
};

/**
 * First-shot FEC alone, as the FEC-only baseline and the retransmitting hybrid use it: the `media` class policy
 * (up to one parity shard per source), no extra repair.
 */
function firstShotFec(params: Media30Params): Media30Params {
  const { extraRepair: _, classPolicies: __, policy: ___, ...fec } = params.fec;
  return { ...params, fec, audioFecClass: undefined };
}

/**
 * The session-2 hybrid, kept as a baseline: FEC up to one parity shard per source, video and audio retransmitted
 * while they can arrive, no extra repair.
 */
export function retransmitHybrid(params: Media30Params): Media30Params {
  const base = firstShotFec(params);
  return {
    ...base,
    audio: { ...base.audio, retransmit: true },
    video: { ...base.video, retransmit: true },
  };
}

/** Resolves scenario options into media-30 parameters. */
export function media30Params(options: ScenarioOptions): Media30Params {
  return {
    ...pathParams(options, { burst: 4, delayMs: 50, jitterMs: 15, rateMbps: 10, queueBytes: 128 * 1024 }),
    durationS: options.durationS ?? (options.quick ? 20 : 120),
    profile: options.profile ?? 'default',
    repair: options.fec === false ? 'arq-only' : 'hybrid',
    // Audio's 200 ms leave no time for a request round trip: it keeps retransmission. Video leaves what FEC misses
    // to extra repair (spec §12.3, R-PR-8).
    audio: { intervalMs: 20, frameBytes: 160, deadlineMs: 200, retransmit: true },
    video: {
      bitrateMbps: 2,
      fps: 30,
      keyframeBytes: 40 * 1024,
      keyframeIntervalS: 2,
      deadlineMs: 300,
      retransmit: false,
    },
    fec: media30Fec,
    audioFecClass: 'interactive',
    // The tail matters at a 0.5% target: a long histogram memory (~500 frames), and the first frames played at
    // the deadline until the delay is known.
    playout: { quantile: 0.9999, minDelayMs: 0, forgetFactor: 0.998, initialDelayMs: 300 },
    baselines: !options.quick,
  };
}

/** One direction of the media-30 path: loss, 50 ± 15 ms with reordering, 10 Mbit/s, 128 KiB drop-tail queue. */
export function media30Link(params: Media30Params): LinkProfile {
  return jitteredLink(params);
}

/** The two streams: audio frames of fixed size; video P-frames sized so keyframes included the bitrate holds. */
export function mediaStreams(params: Media30Params): { audio: MediaStreamSpec; video: MediaStreamSpec } {
  const v = params.video;
  const framesPerKeyframe = Math.round(v.fps * v.keyframeIntervalS);
  const periodBytes = (v.bitrateMbps * 1e6 * v.keyframeIntervalS) / 8;
  const pFrameBytes = (periodBytes - v.keyframeBytes) / (framesPerKeyframe - 1);
  return {
    audio: {
      name: 'audio',
      frameIntervalMs: params.audio.intervalMs,
      frameBytes: () => params.audio.frameBytes,
      deadlineMs: params.audio.deadlineMs,
    },
    video: {
      name: 'video',
      frameIntervalMs: 1000 / v.fps,
      // P-frames vary ±15 % around their mean (seeded), keyframes are fixed.
      frameBytes: (index, random) =>
        index % framesPerKeyframe === 0
          ? v.keyframeBytes
          : Math.round(pFrameBytes * (0.85 + 0.3 * random.float())),
      deadlineMs: v.deadlineMs,
    },
  };
}

/** Per-channel results (scenarios.md media-30). */
export interface MediaChannelResults {
  frames: number;
  residualLoss: number;
  playoutDelayMeanMs: number;
  playoutDelayP99Ms: number;
  overhead: number;
  recoveredByFec: number;
  recoveredByRetransmit: number;
  lateDrops: number;
  expiredAtSender: number;
  /** Of `residualLoss`, the share of keyframes lost (video; 0 for audio, which has none). */
  keyframeResidualLoss: number;
  payloadBytes: number;
  wireBytes: number;
}

/** Runs the two streams over one connection with the given repair strategy. */
export function runMedia(
  params: Media30Params,
  repair: MediaRepair,
  config?: Partial<ConnectionConfig>,
  onProgress?: (fraction: number) => void,
  trace?: TraceSinks,
): {
  audio: MediaChannelResults;
  video: MediaChannelResults;
  fec: FecPairStats | undefined;
  connection: Record<string, number>;
  /** Bytes both links carried (every datagram sent, both directions). */
  linkBytes: number;
} {
  const link = media30Link(params);
  const streams = mediaStreams(params);
  const mode = repair === 'fec-only' ? ChannelMode.unreliable : ChannelMode.deadline;
  const ids = { audio: makeChannelId(1, 'client', mode), video: makeChannelId(2, 'client', mode) };
  const accountant = new ChannelWireAccountant([ids.audio, ids.video]);
  const expired = new Map<number, number>([
    [ids.audio, 0],
    [ids.video, 0],
  ]);
  const receivers = new Map<number, MediaReceiver>();
  const pair: FerryPair = new FerryPair({
    seed: params.seed,
    config,
    fec:
      repair === 'arq-only'
        ? false
        : {
            ...params.fec,
            // FEC-only is first-shot FEC: no repair round of any kind.
            ...(repair === 'fec-only' ? { extraRepair: undefined } : {}),
            channelClass: (channelId) => (channelId === ids.audio ? params.audioFecClass : undefined),
          },
    forward: link,
    reverse: link,
    trace,
    onDatagram: (side, direction, _now, bytes) => accountant.onDatagram(side, direction, bytes),
    onMessage: (side, nowMs, message) => {
      if (side !== 'server') return;
      accountant.onDelivered(message.channelId, message.messageId);
      receivers.get(message.channelId)?.onFrame(nowMs, message.data);
    },
    onEvent: (side, _now, event) => {
      if (side === 'client' && event.type === 'expired')
        expired.set(event.channelId, expired.get(event.channelId)! + 1);
    },
  });
  const schedule = (atMs: number, hook: (nowMs: number) => void) => pair.sim.schedule(atMs, hook);
  // Both ends read one simulated clock, so the sender→receiver clock offset is known to be 0 (R-PLAY-1).
  const playout = { clockOffsetMs: 0, ...params.playout };
  // Playout is application-side: the scenario reports its media:* trace events (spec §15).
  const mediaTrace = new MediaTrace(trace?.server);
  for (const name of ['audio', 'video'] as const) {
    const receiver = new MediaReceiver(
      streams[name],
      schedule,
      playout,
      (nowMs, event) => {
        if (event.kind === 'frame') {
          mediaTrace.framePlayed(nowMs, {
            channel: name,
            frame_id: event.frame.sequence,
            capture_time: event.frame.captureTimeMs,
            playout_delay: event.playoutDelayMs,
          });
        } else {
          mediaTrace.concealment(nowMs, { channel: name, frame_id: event.sequence });
        }
      },
      (nowMs, sequence, captureTimeMs) =>
        mediaTrace.frameLate(nowMs, { channel: name, frame_id: sequence, capture_time: captureTimeMs }),
    );
    receivers.set(ids[name], receiver);
  }
  // Without FEC nothing but retransmission repairs (R-PR-8 applies to the hybrid run only).
  const retransmit = (name: 'audio' | 'video') => repair === 'arq-only' || params[name].retransmit;
  pair.client.configureChannel(ids.audio, {
    deadlineMs: streams.audio.deadlineMs,
    retransmit: retransmit('audio'),
  });
  pair.client.configureChannel(ids.video, {
    deadlineMs: streams.video.deadlineMs,
    retransmit: retransmit('video'),
  });

  const endMs = params.durationS * 1000;
  const framesPerKeyframe = Math.round(params.video.fps * params.video.keyframeIntervalS);
  const sent = { audio: { frames: 0, bytes: 0 }, video: { frames: 0, bytes: 0 } };
  for (const name of ['audio', 'video'] as const) {
    const spec = streams[name];
    const random = pair.sim.forkRandom(`media-30 ${name} sizes`);
    const channelId = ids[name];
    const capture = (index: number) => (nowMs: number) => {
      const data = encodeMediaFrame(index, nowMs, spec.frameBytes(index, random));
      if (pair.client.canSend(data.length)) {
        pair.client.send(nowMs, channelId, data);
      }
      sent[name].frames++;
      sent[name].bytes += data.length;
      if (name === 'video') onProgress?.(nowMs / endMs);
      const next = index + 1;
      const at = next * spec.frameIntervalMs;
      if (at < endMs) pair.at(at, capture(next));
    };
    pair.at(0, capture(0));
  }
  // Run past the last deadline so every frame has had its playout slot.
  pair.sim.run({ untilMs: endMs + Math.max(streams.audio.deadlineMs, streams.video.deadlineMs) + 1000 });

  const wire = accountant.results();
  const channel = (name: 'audio' | 'video'): MediaChannelResults => {
    const id = ids[name];
    const receiver = receivers.get(id)!;
    const figures = receiver.figures(sent[name].frames, quantile);
    let keyframes = 0;
    let keyframesLost = 0;
    if (name === 'video') {
      for (let i = 0; i < sent.video.frames; i += framesPerKeyframe) {
        keyframes++;
        if (!receiver.playedSequences.has(i)) keyframesLost++;
      }
    }
    const w = wire.get(id)!;
    const payload = sent[name].bytes;
    return {
      frames: figures.frames,
      residualLoss: round(figures.residualLoss, 5),
      playoutDelayMeanMs: round(figures.playoutDelayMeanMs),
      playoutDelayP99Ms: round(figures.playoutDelayP99Ms),
      overhead: round((w.wireBytes - payload) / payload, 3),
      recoveredByFec: w.recoveredByFec,
      recoveredByRetransmit: w.recoveredByRetransmit,
      lateDrops: figures.lateDrops,
      expiredAtSender: expired.get(id)!,
      keyframeResidualLoss: keyframes > 0 ? round(keyframesLost / keyframes, 4) : 0,
      payloadBytes: payload,
      wireBytes: w.wireBytes,
    };
  };
  return {
    audio: channel('audio'),
    video: channel('video'),
    fec: pair.fec ? fecPairStats(pair) : undefined,
    linkBytes:
      pair.sim.linkBetween('client', 'server')!.counters.bytesSent +
      pair.sim.linkBetween('server', 'client')!.counters.bytesSent,
    connection: {
      packetsSent: pair.totalStat('packetsSent'),
      ackOnlyPackets: pair.totalStat('ackOnlyPackets'),
      fragmentRetransmissions: pair.totalStat('fragmentRetransmissions'),
      redundantCopies: pair.totalStat('redundantCopies'),
      probePackets: pair.totalStat('probePackets'),
      spuriousLosses: pair.totalStat('spuriousLosses'),
      queueDrops: queueDrops(pair),
    },
  };
}

function queueDrops(pair: FerryPair): number {
  const forward = pair.sim.linkBetween('client', 'server')!.counters;
  const reverse = pair.sim.linkBetween('server', 'client')!.counters;
  return (forward.dropped['queue'] ?? 0) + (reverse.dropped['queue'] ?? 0);
}

/** Real-time media: audio and video on two deadline channels of one connection under 30 % loss. */
export function runMedia30(
  params: Media30Params,
  config?: Partial<ConnectionConfig>,
  onProgress?: (fraction: number) => void,
  trace?: TraceSinks,
): ScenarioResult {
  // The trace covers the main run only (the baselines would interleave a second connection's events).
  const main = runMedia(
    params,
    params.repair,
    config,
    (f) => onProgress?.(params.baselines ? f / 5 : f),
    trace,
  );
  const results: Record<string, unknown> = {
    audio: main.audio,
    video: main.video,
    repair: params.repair,
    ...(main.fec ? { fec: main.fec } : {}),
    connection: main.connection,
  };
  if (params.baselines) {
    const pick = (r: ReturnType<typeof runMedia>) => ({
      audio: r.audio,
      video: r.video,
      connection: r.connection,
    });
    const step = (i: number) => (f: number) => onProgress?.((i + f) / 5);
    results.baselines = {
      'arq-only': pick(runMedia(params, 'arq-only', config, step(1))),
      'fec-only': pick(runMedia(firstShotFec(params), 'fec-only', config, step(2))),
      'retransmit-hybrid': pick(runMedia(retransmitHybrid(params), 'hybrid', config, step(3))),
      'gilbert-burst-4': pick(
        runMedia({ ...params, lossModel: 'gilbert', burst: 4 }, params.repair, config, step(4)),
      ),
    };
  }
  return { params: { ...params }, results };
}

/** `ferry bench media-30`. */
export const media30Scenario: Scenario = {
  name: 'media-30',
  headline: ['audio.residualLoss', 'audio.overhead', 'video.residualLoss', 'video.overhead'],
  summary:
    'real-time media: 50 pkt/s audio (200 ms) + 2 Mbit/s video (300 ms) on one connection, 30% loss, 50±15 ms',
  run: (options) => {
    const params = media30Params(options);
    return runMedia30(params, profileConfig(params.profile), options.onProgress, options.trace);
  },
};
