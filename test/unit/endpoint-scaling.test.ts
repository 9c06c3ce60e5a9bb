import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Connection } from '../../src/protocol/connection.ts';
import { Endpoint } from '../../src/protocol/endpoint.ts';
import { SeededRandom } from '../../src/sim/random.ts';

// The endpoint's per-datagram work must not grow with idle connections (a server holds thousands): it polls only
// connections touched since they were drained and keeps the others' deadlines in a timer queue.

function endpointWith(count: number): { endpoint: Endpoint; connections: Connection[] } {
  const endpoint = new Endpoint({ random: new SeededRandom(7), acceptConnections: false });
  const connections: Connection[] = [];
  for (let i = 0; i < count; i++) connections.push(endpoint.connect(0, `peer-${i}`));
  return { endpoint, connections };
}

function drain(endpoint: Endpoint, nowMs: number): number {
  let n = 0;
  while (endpoint.pollTransmit(nowMs)) n++;
  return n;
}

/** Counts the calls the endpoint makes into each connection. */
function spy(connections: Connection[]): number[] {
  const calls = connections.map(() => 0);
  connections.forEach((c, i) => {
    for (const name of ['pollTransmit', 'nextTimeout', 'handleTimeout'] as const) {
      const original = c[name].bind(c) as (...args: unknown[]) => unknown;
      (c as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
        calls[i]!++;
        return original(...args);
      };
    }
  });
  return calls;
}

const minDeadline = (connections: Connection[]): number | undefined => {
  let t: number | undefined;
  for (const c of connections) {
    const d = c.nextTimeout();
    if (d !== undefined && (t === undefined || d < t)) t = d;
  }
  return t;
};

describe('Endpoint scaling', () => {
  it('a datagram-sized burst of work on one connection never touches the idle ones', () => {
    const { endpoint, connections } = endpointWith(500);
    drain(endpoint, 0);
    endpoint.nextTimeout();
    const calls = spy(connections);
    const busy = connections[123]!;
    busy.send(1, 0, new Uint8Array(100));
    expect(drain(endpoint, 1)).toBeGreaterThan(0);
    const next = endpoint.nextTimeout();
    expect(calls.filter((n, i) => n > 0 && i !== 123)).toEqual([]);
    expect(calls[123]).toBeGreaterThan(0);
    expect(next).toBe(minDeadline(connections)); // (this brute-force check calls every connection itself)
    // Firing the busy connection's timer serves it alone (the other 499 are idle with later deadlines).
    const due = busy.nextTimeout()!;
    calls.fill(0);
    endpoint.handleTimeout(due);
    drain(endpoint, due);
    expect(calls.filter((n, i) => n > 0 && i !== 123)).toEqual([]);
  });

  it('its deadline is always the earliest of its connections, whatever the sequence of sends and timers', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            connection: fc.nat({ max: 19 }),
            bytes: fc.nat({ max: 3000 }),
            advanceMs: fc.nat({ max: 400 }),
          }),
          {
            minLength: 1,
            maxLength: 60,
          },
        ),
        (ops) => {
          const { endpoint, connections } = endpointWith(20);
          let now = 0;
          drain(endpoint, now);
          for (const op of ops) {
            connections[op.connection]!.send(now, 0, new Uint8Array(op.bytes));
            drain(endpoint, now);
            expect(endpoint.nextTimeout()).toBe(minDeadline(connections));
            now += op.advanceMs;
            const due = endpoint.nextTimeout();
            if (due !== undefined && due <= now) endpoint.handleTimeout(now);
            drain(endpoint, now);
            expect(endpoint.nextTimeout()).toBe(minDeadline(connections));
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
