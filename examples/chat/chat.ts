/**
 * A two-terminal IM chat over Ferry with delivery receipts.
 *
 *   terminal 1: node --import tsx examples/chat/chat.ts server [port]
 *   terminal 2: node --import tsx examples/chat/chat.ts client <host:port> <name> <server public key>
 *
 * Every line typed is one message on a reliable-ordered channel; the sender prints `✓ delivered` when the peer
 * acknowledged it. The server relays each client's lines to every other client. Ctrl-D closes gracefully and
 * lists any message the peer never confirmed. Encrypted: the server prints its static public key (hex), which
 * the client pins; FERRY_CHAT_KEY (64 hex digits) keeps the server's private key across restarts.
 */
import { createInterface } from 'node:readline';
import {
  connect,
  type FerryChannel,
  type FerryConnection,
  generateKeyPair,
  listen,
  publicKeyOf,
} from '../../src/index.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));

const chatChannelId = 0; // the default channel: client-opened, index 0, reliable-ordered (spec §7.1)
const decoder = new TextDecoder();
const [mode = '', arg = '', nameArg] = process.argv.slice(2);

function stamp(): string {
  return new Date().toISOString().slice(11, 19);
}

async function server(port: number): Promise<void> {
  const envKey = process.env.FERRY_CHAT_KEY;
  const staticKey = envKey ? unhex(envKey) : generateKeyPair().privateKey;
  const server = await listen({ staticKey, port });
  console.log(`chat server on port ${server.address().port}; Ctrl-C to stop`);
  console.log(`server public key: ${hex(publicKeyOf(staticKey))}`);
  const rooms = new Map<FerryConnection, FerryChannel>();
  server.on('connection', (connection: FerryConnection) => {
    const channel = connection.openChannel({ mode: 'reliable-ordered', id: chatChannelId });
    rooms.set(connection, channel);
    console.log(`${stamp()} + ${connection.remoteAddress} joined (${rooms.size} online)`);
    channel.on('message', (data: Uint8Array) => {
      const line = decoder.decode(data);
      console.log(`${stamp()} ${connection.remoteAddress}: ${line}`);
      for (const [other, otherChannel] of rooms) {
        if (other === connection) continue;
        otherChannel.send(line).catch(() => {}); // a peer that left: its close report lists the message
      }
    });
    connection.on('close', (info) => {
      rooms.delete(connection);
      console.log(`${stamp()} - ${connection.remoteAddress} left (${info.initiator}; ${rooms.size} online)`);
    });
  });
  process.once('SIGINT', () => {
    console.log('closing…');
    void server.close().then(() => process.exit(0));
  });
}

async function client(address: string, name: string, serverKey: string): Promise<void> {
  const connection = await connect(address, { serverPublicKey: unhex(serverKey), connectTimeoutMs: 5000 });
  console.log(
    `connected to ${connection.remoteAddress} as ${name}; type a line and press Enter, Ctrl-D to quit`,
  );
  const channel = connection.openChannel({ mode: 'reliable-ordered', id: chatChannelId });
  channel.on('message', (data: Uint8Array) => console.log(`${stamp()} ${decoder.decode(data)}`));
  connection.on('close', (info) => {
    console.log(`connection closed (${info.initiator}${info.reason ? `: ${info.reason}` : ''})`);
    process.exit(info.unconfirmed.length === 0 ? 0 : 1);
  });
  let counter = 0;
  const input = createInterface({ input: process.stdin });
  input.on('line', (line) => {
    if (line.trim() === '') return;
    const n = ++counter;
    const sentAt = performance.now();
    channel.send(`${name}: ${line}`).then(
      () => console.log(`  ✓ #${n} delivered in ${(performance.now() - sentAt).toFixed(0)} ms`),
      (error: Error) => console.log(`  ✗ #${n} not confirmed: ${error.message}`),
    );
  });
  input.on('close', async () => {
    const unconfirmed = await connection.close();
    for (const u of unconfirmed) console.log(`never confirmed: ${decoder.decode(u.data)}`);
  });
}

if (mode === 'server') {
  await server(Number(arg || 4433));
} else if (mode === 'client') {
  const key = process.argv[5] ?? '';
  if (!/^[0-9a-f]{64}$/i.test(key)) {
    console.error('usage: chat.ts client <host:port> <name> <server public key, 64 hex digits>');
    process.exit(2);
  }
  await client(arg || '127.0.0.1:4433', nameArg ?? `guest${process.pid}`, key);
} else {
  console.error('usage: chat.ts server [port] | chat.ts client <host:port> <name> <server public key>');
  process.exit(2);
}
