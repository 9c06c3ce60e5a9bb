import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { traceEventNames } from '../../src/protocol/trace.ts';

const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'ferry-trace-format-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The event names of spec.md §15.3: the first cell of each row of its table. */
function documentedEventNames(spec: string): string[] {
  const start = spec.indexOf('### 15.3 Events');
  const end = spec.indexOf('### 15.4', start);
  if (start < 0 || end < 0) throw new Error('spec.md has no §15.3 Events table');
  return [...spec.slice(start, end).matchAll(/^\| `([a-z]+:[a-z_]+)` \|/gm)].map((m) => m[1]!);
}

const documented = documentedEventNames(readFileSync(join(root, 'spec.md'), 'utf8'));

/** Runs `ferry …` and captures its output. */
async function ferry(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out, err };
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;

/** Checks one event's data against §15.2–§15.4; returns the problems found. */
function dataProblems(name: string, data: Json): string[] {
  const problems: string[] = [];
  const header = (packetType: string) => {
    const h = data['header'];
    if (!isObject(h) || h['packet_type'] !== packetType || !isCount(h['packet_number'])) {
      problems.push(`${name}: header ${JSON.stringify(h)}`);
    }
  };
  const raw = () => {
    const r = data['raw'];
    if (!isObject(r) || !isCount(r['length']) || (r['length'] as number) === 0)
      problems.push(`${name}: raw ${JSON.stringify(r)}`);
  };
  switch (name) {
    case 'transport:packet_sent':
    case 'transport:packet_received': {
      header('data');
      raw();
      const frames = data['frames'];
      if (!Array.isArray(frames) || frames.length === 0) problems.push(`${name}: no frames`);
      else
        for (const f of frames)
          if (!isObject(f) || typeof f['frame_type'] !== 'string') problems.push(`${name}: frame`);
      break;
    }
    case 'transport:packet_dropped':
      raw();
      if (!['invalid', 'duplicate'].includes(data['trigger'] as string)) problems.push(`${name}: trigger`);
      break;
    case 'recovery:packet_lost':
      header('data');
      if (!['reordering_threshold', 'time_threshold'].includes(data['trigger'] as string))
        problems.push(`${name}: trigger`);
      break;
    case 'recovery:spurious_loss':
      header('data');
      break;
    case 'recovery:metrics_updated': {
      const fields = ['min_rtt', 'smoothed_rtt', 'latest_rtt', 'rtt_variance', 'congestion_window'];
      fields.push('bytes_in_flight', 'pacing_rate');
      const keys = Object.keys(data);
      if (keys.length === 0) problems.push(`${name}: empty`);
      for (const k of keys) {
        if (!fields.includes(k) || typeof data[k] !== 'number' || !Number.isFinite(data[k]))
          problems.push(`${name}: ${k}=${JSON.stringify(data[k])}`);
      }
      break;
    }
    case 'recovery:congestion_state_updated':
      if (typeof data['new'] !== 'string') problems.push(`${name}: new`);
      break;
    case 'recovery:loss_timer_updated':
      if (data['timer_type'] !== 'pto' || data['event_type'] !== 'expired') problems.push(`${name}: fields`);
      break;
    case 'fec:repair_sent':
    case 'fec:repair_received':
      header('fec_repair');
      raw();
      for (const k of ['source_count', 'repair_count', 'repair_index'])
        if (!isCount(data[k])) problems.push(`${name}: ${k}`);
      break;
    case 'fec:packet_recovered':
      header('data');
      raw();
      break;
    case 'fec:block_unrecoverable':
      if (!isCount(data['count'])) problems.push(`${name}: count`);
      break;
    case 'fec:feedback_sent':
    case 'fec:feedback_received':
      raw();
      for (const k of ['request_count', 'missing_count'])
        if (!isCount(data[k])) problems.push(`${name}: ${k}`);
      break;
    default:
      if (typeof data['channel'] !== 'string' || !isCount(data['frame_id'])) problems.push(`${name}: media`);
  }
  return problems;
}

/** Checks a parsed trace file against §15.1 (R-TRACE-1); returns the problems found (at most 20). */
function fileProblems(file: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(file)) return ['not an object'];
  if (file['qlog_version'] !== '0.3') problems.push('qlog_version');
  if (file['qlog_format'] !== 'JSON') problems.push('qlog_format');
  if (typeof file['title'] !== 'string') problems.push('title');
  const traces = file['traces'];
  if (!Array.isArray(traces) || traces.length !== 2) return [...problems, 'traces'];
  ['client', 'server'].forEach((type, i) => {
    const trace = traces[i] as Json;
    if (typeof trace['title'] !== 'string') problems.push(`${type}: title`);
    const vantage = trace['vantage_point'];
    if (!isObject(vantage) || vantage['type'] !== type || typeof vantage['name'] !== 'string')
      problems.push(`${type}: vantage_point`);
    expect(trace['common_fields']).toEqual({
      protocol_type: ['FERRY'],
      time_format: 'relative',
      reference_time: 0,
    });
    const events = trace['events'];
    if (!Array.isArray(events)) {
      problems.push(`${type}: events`);
      return;
    }
    let last = 0;
    for (const event of events as Json[]) {
      if (Object.keys(event).join() !== 'time,name,data')
        problems.push(`${type}: keys ${Object.keys(event)}`);
      const time = event['time'] as number;
      if (!(Number.isFinite(time) && time >= last)) problems.push(`${type}: time ${time} after ${last}`);
      last = time;
      const name = event['name'] as string;
      if (!documented.includes(name)) problems.push(`${type}: undocumented event ${name}`);
      if (!isObject(event['data'])) problems.push(`${type}: ${name} data`);
      else problems.push(...dataProblems(name, event['data']).map((p) => `${type}: ${p}`));
      if (problems.length >= 20) return;
    }
  });
  return problems.slice(0, 20);
}

interface TraceFile {
  summary: Json;
  traces: { events: { time: number; name: string; data: Json }[] }[];
}

const eventsNamed = (file: TraceFile, name: string) =>
  file.traces.flatMap((t) => t.events.filter((e) => e.name === name).map((e) => e.data));
const rawLength = (data: Json) => (data['raw'] as { length: number }).length;

/** Runs a scenario with `--json --trace`; returns its JSON result, the file's text and the parsed file. */
async function tracedRun(argv: string[]) {
  const path = join(dir, `${argv.join('_').replace(/[^a-z0-9_-]/gi, '')}.qlog`);
  const run = await ferry(['bench', ...argv, '--json', '--trace', path]);
  expect(run.code).toBe(0);
  expect(run.err.some((line) => line.includes(`trace written to ${path}`))).toBe(true);
  const text = readFileSync(path, 'utf8');
  return { result: JSON.parse(run.out[0]!) as Json, text, file: JSON.parse(text) as TraceFile, path };
}

describe('ferry bench --trace (spec §15)', () => {
  it('R-TRACE-2: the event names of §15.3 are exactly the names the implementation emits', () => {
    expect(documented.length).toBeGreaterThan(10);
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual([...traceEventNames].sort());
  });

  it('R-TRACE-1: a kcp-echo trace with FEC is a qlog file of the documented schema', async () => {
    const { file } = await tracedRun(['kcp-echo', '--duration', '2', '--fec', 'on', '--seed', '3']);
    expect(fileProblems(file)).toEqual([]);
    const names = new Set(file.traces.flatMap((t) => t.events.map((e) => e.name)));
    for (const name of ['transport:packet_sent', 'transport:packet_received', 'fec:repair_sent'])
      expect(names).toContain(name);
    expect(file.summary).toMatchObject({ scenario: 'kcp-echo', seed: 3 });
  });

  it('R-TRACE-3: im-30 wire bytes and kcp-echo datagrams are the traced packets', async () => {
    const im = await tracedRun(['im-30', '--duration', '3', '--seed', '2']);
    expect(fileProblems(im.file)).toEqual([]);
    const wire = [
      ...eventsNamed(im.file, 'transport:packet_sent'),
      ...eventsNamed(im.file, 'fec:repair_sent'),
      ...eventsNamed(im.file, 'fec:feedback_sent'),
    ];
    expect(wire.reduce((sum, d) => sum + rawLength(d), 0)).toBe((im.result['results'] as Json)['wireBytes']);
    const echo = await tracedRun(['kcp-echo', '--duration', '2', '--fec', 'on', '--seed', '5']);
    const results = echo.result['results'] as Json;
    const datagrams =
      eventsNamed(echo.file, 'transport:packet_sent').length +
      eventsNamed(echo.file, 'fec:repair_sent').length +
      eventsNamed(echo.file, 'fec:feedback_sent').length;
    expect(datagrams / (results['echoed'] as number)).toBeCloseTo(results['datagramsPerMsg'] as number, 3);
    // The FEC counters of the result (summed over both sides) are the traced FEC events.
    expect(eventsNamed(echo.file, 'fec:repair_sent').length).toBe(results['paritySent']);
    const repairBytes = eventsNamed(echo.file, 'fec:repair_sent').reduce((sum, d) => sum + rawLength(d), 0);
    expect(repairBytes).toBe(results['parityBytesSent']);
    expect(eventsNamed(echo.file, 'fec:packet_recovered').length).toBe(results['packetsRecoveredByFec']);
    const given = eventsNamed(echo.file, 'fec:block_unrecoverable');
    expect(given.reduce((sum, d) => sum + (d['count'] as number), 0)).toBe(results['blocksUnrecoverable']);
  });

  it('R-TRACE-4: the result is the same with and without --trace, and the trace is byte-identical per seed', async () => {
    const argv = ['im-30', '--duration', '2', '--seed', '9', '--fec', 'on'];
    const plain = await ferry(['bench', ...argv, '--json']);
    const first = await tracedRun(argv);
    const { wallMs: _a, ...plainResult } = JSON.parse(plain.out[0]!);
    const { wallMs: _b, ...tracedResult } = first.result;
    expect(tracedResult).toEqual(plainResult);
    rmSync(first.path);
    const second = await tracedRun(argv);
    expect(second.text).toBe(first.text);
  });

  it('bulk-30 traces the default controller: the sender starts in startup, the receiver receives', async () => {
    const { file } = await tracedRun(['bulk-30', '--duration', '1']);
    expect(fileProblems(file)).toEqual([]);
    const [client, server] = file.traces;
    expect(client!.events.find((e) => e.name === 'recovery:congestion_state_updated')?.data).toEqual({
      new: 'startup',
    });
    expect(server!.events.some((e) => e.name === 'transport:packet_received')).toBe(true);
    expect(client!.events.some((e) => e.name === 'recovery:packet_lost')).toBe(true);
  });

  it('--trace needs one simulated run of a scenario with Ferry connections (exit 2, no file)', async () => {
    const path = join(dir, 'refused.qlog');
    for (const argv of [
      ['bench', '--trace', path],
      ['bench', 'im-30', '--sweep', 'loss=5,10', '--trace', path],
      ['bench', 'im-30', '--real', '--trace', path],
      ['bench', 'im-30', '--trace', ''],
      ['bench', 'sim-selftest', '--duration', '1', '--trace', path],
    ]) {
      const run = await ferry(argv);
      expect(run.code).toBe(2);
      expect(run.err.join('\n')).toMatch(/--trace/);
      expect(existsSync(path)).toBe(false);
      expect(existsSync(`${path}.client.part`)).toBe(false);
    }
  });
});
