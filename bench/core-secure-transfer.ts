/**
 * CPU cost of packet protection per datagram without the kernel (issue 7, spec §13.5): a client and a server
 * `SecureEndpoint` wired back to back in memory (25 µs each way, no loss, no sockets), in plaintext mode and
 * encrypted (static key, AES-128-GCM), after the handshake. The client keeps 64 KiB messages queued on a
 * reliable-ordered channel; datagrams due together are handled in batches of up to 32 before one drive pass, as
 * the Node binding reads them (bench/core-transfer.ts does the same for bare connections).
 * Figures: process CPU µs per data datagram (both sides, ACKs included), the fastest of 5 alternating rounds (the
 * least disturbed by other load), and their difference: what protection costs per datagram.
 * Run: `node --import tsx bench/core-secure-transfer.ts` (BENCH_CORE_MB sets the transfer size, default 16).
 */
import b from 'benny';
import { ChannelMode, makeChannelId } from '../src/protocol/channel/channel-id.ts';
import type { Connection } from '../src/protocol/connection.ts';
import { Endpoint } from '../src/protocol/endpoint.ts';
import { x25519PublicKey } from '../src/protocol/security/crypto.ts';
import { protectionOverheadBytes } from '../src/protocol/security/packet-protection.ts';
import { SecureEndpoint } from '../src/protocol/security/secure-endpoint.ts';
import { SeededRandom } from '../src/sim/random.ts';

const oneWayDelayMs = 0.025;
const messageBytes = 64 * 1024;
const channelId = makeChannelId(0, 'client', ChannelMode.reliableOrdered);

interface Flight {
  atMs: number;
  bytes: Uint8Array;
}

/** Moves `totalBytes` client → server after the handshake; CPU µs per data datagram of the transfer alone. */
export function secureTransfer(totalBytes: number, encrypted: boolean): number {
  const random = new SeededRandom(1);
  const staticPrivateKey = new Uint8Array(32);
  random.fill(staticPrivateKey);
  const config = { maxDatagramBytes: 1200 - (encrypted ? protectionOverheadBytes : 0) };
  const params = { maxMessageBytes: 1 << 20, maxChannels: 64, idleTimeoutMs: 30_000, fec: false };
  const side = (server: boolean): SecureEndpoint =>
    new SecureEndpoint({
      endpoint: new Endpoint({ random, acceptConnections: false, config }),
      random,
      acceptConnections: server,
      params,
      security: !encrypted
        ? { mode: 'plaintext' }
        : server
          ? { mode: 'static-key', staticPrivateKey }
          : { mode: 'static-key', serverPublicKey: x25519PublicKey(staticPrivateKey) },
    });
  const server = side(true);
  const client = side(false);
  const queues: [Flight[], Flight[]] = [[], []]; // to the server, to the client
  const heads = [0, 0];
  let nowMs = 0;
  let serverConnection: Connection | undefined;
  let queued = 0;
  let received = 0;
  let datagrams = 0;
  let cpu: NodeJS.CpuUsage | undefined;
  const clientConnection = client.connect(nowMs, 'server');
  const message = new Uint8Array(messageBytes);
  const app = (): void => {
    while (queued < totalBytes && clientConnection.canSend(messageBytes)) {
      clientConnection.send(nowMs, channelId, message);
      queued += messageBytes;
    }
    while (clientConnection.pollEvent());
    if (!serverConnection) return;
    for (let m = serverConnection.receive(); m; m = serverConnection.receive()) received += m.data.length;
    while (serverConnection.pollEvent());
  };
  const drive = (self: SecureEndpoint, queue: Flight[]): void => {
    app();
    for (let e = self.pollEvent(); e; e = self.pollEvent()) {
      if (e.type === 'connection') serverConnection = e.connection;
    }
    for (let t = self.pollTransmit(nowMs); t; t = self.pollTransmit(nowMs)) {
      queue.push({ atMs: nowMs + oneWayDelayMs, bytes: t.bytes });
    }
  };
  drive(client, queues[0]);
  while (received < totalBytes) {
    const next = Math.min(
      queues[0][heads[0]!]?.atMs ?? Number.POSITIVE_INFINITY,
      queues[1][heads[1]!]?.atMs ?? Number.POSITIVE_INFINITY,
      client.nextTimeout() ?? Number.POSITIVE_INFINITY,
      server.nextTimeout() ?? Number.POSITIVE_INFINITY,
    );
    if (next === Number.POSITIVE_INFINITY) throw new Error('transfer stalled');
    nowMs = next > nowMs ? next : nowMs + 0.001; // a deadline not cleared by handleTimeout must not spin
    for (const [index, self, from] of [
      [0, server, 'client'],
      [1, client, 'server'],
    ] as const) {
      const queue = queues[index];
      let batch = 0;
      for (let f = queue[heads[index]!]; f && f.atMs <= nowMs && batch < 32; f = queue[++heads[index]!]) {
        self.handleDatagram(nowMs, from, f.bytes);
        batch++;
      }
      if (index === 0 && cpu) datagrams += batch;
      if (batch > 0) drive(self, queues[1 - index]!);
      if ((self.nextTimeout() ?? Number.POSITIVE_INFINITY) <= nowMs) {
        self.handleTimeout(nowMs);
        drive(self, queues[1 - index]!);
      }
      if (heads[index]! > 4096) {
        queue.splice(0, heads[index]);
        heads[index] = 0;
      }
    }
    if (!cpu && serverConnection) cpu = process.cpuUsage(); // the handshake is done: the transfer starts
  }
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / Math.max(1, datagrams);
}

const totalBytes = Number(process.env.BENCH_CORE_MB ?? 16) * 1024 * 1024;
secureTransfer(4 * 1024 * 1024, false); // warm up the JIT
secureTransfer(4 * 1024 * 1024, true);
const best = { plaintext: Number.POSITIVE_INFINITY, encrypted: Number.POSITIVE_INFINITY };
for (let i = 0; i < 5; i++) {
  best.plaintext = Math.min(best.plaintext, secureTransfer(totalBytes, false));
  best.encrypted = Math.min(best.encrypted, secureTransfer(totalBytes, true));
}
console.log(
  `core-secure-transfer: ${best.plaintext.toFixed(2)} CPU µs per data datagram in plaintext mode, ` +
    `${best.encrypted.toFixed(2)} encrypted (both sides, ACKs included; fastest of 5): ` +
    `protection costs ${(best.encrypted - best.plaintext).toFixed(2)} µs per datagram`,
);
await b.suite(
  'core secure transfer (client and server SecureEndpoint back to back, 25 µs each way)',
  b.add('4 MiB reliable-ordered, encrypted', () => {
    secureTransfer(4 * 1024 * 1024, true);
  }),
  b.cycle(),
  b.complete(),
);
