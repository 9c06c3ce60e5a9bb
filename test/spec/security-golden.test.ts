import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodeHandshakeBody,
  decodeTransportParams,
  encodeHandshakePacket,
  encodeTransportParams,
  type HandshakeMessage,
} from '../../src/protocol/security/handshake-codec.ts';
import { decodeHeader } from '../../src/protocol/wire/header.ts';

// Spec §13.9: the handshake golden vectors, read from spec.md itself so the text and the codec cannot drift.

const hexBytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

interface Vector {
  title: string;
  bytes: Uint8Array;
  expected: Record<string, unknown>;
}

function vectors(): Vector[] {
  const spec = readFileSync(new URL('../../spec.md', import.meta.url), 'utf8');
  const start = spec.indexOf('### 13.9 Golden vectors');
  if (start < 0) throw new Error('spec.md has no §13.9');
  const rest = spec.slice(start + 4);
  const section = rest.slice(0, rest.search(/^##? /m) < 0 ? undefined : rest.search(/^##? /m));
  return section
    .split(/^#### /m)
    .slice(1)
    .map((part) => {
      const hex = /```hex\n([\s\S]*?)```/.exec(part)?.[1] ?? '';
      const json = /```json\n([\s\S]*?)```/.exec(part)?.[1] ?? '{}';
      const clean = hex
        .split('\n')
        .map((line) => line.replace(/#.*$/, '').replace(/\s+/g, ''))
        .join('');
      return { title: part.slice(0, part.indexOf('\n')), bytes: hexBytes(clean), expected: JSON.parse(json) };
    });
}

/** The JSON form of a decoded message: byte strings as hex, the Initial's padding left out. */
function jsonOf(value: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, v instanceof Uint8Array ? toHex(v) : v]),
  );
}

describe('spec §13.9 golden vectors', () => {
  const all = vectors();

  it('has the five vectors', () => {
    expect(all.map((v) => v.title.slice(0, 6))).toEqual(['13.9.1', '13.9.2', '13.9.3', '13.9.4', '13.9.5']);
  });

  for (const vector of all) {
    it(`decodes and re-encodes ${vector.title}`, () => {
      if (vector.title.includes('Transport parameters')) {
        const decoded = decodeTransportParams(vector.bytes);
        expect(decoded.ok && jsonOf(decoded.value)).toEqual(vector.expected);
        if (decoded.ok) expect(encodeTransportParams(decoded.value)).toEqual(vector.bytes);
        return;
      }
      const header = decodeHeader(vector.bytes);
      expect(header.ok).toBe(true);
      if (!header.ok) return;
      const body = decodeHandshakeBody(vector.bytes, header.value.bodyOffset);
      if ('error' in vector.expected) {
        expect(body).toEqual({ ok: false, reason: vector.expected.error });
        return;
      }
      expect(body.ok && jsonOf(body.value)).toEqual(vector.expected);
      if (body.ok) {
        const { connectionId, packetNumber } = header.value.header;
        expect(encodeHandshakePacket(connectionId, packetNumber, body.value as HandshakeMessage)).toEqual(
          vector.bytes,
        );
      }
    });
  }
});
