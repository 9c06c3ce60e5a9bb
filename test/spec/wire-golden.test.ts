import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodePacket,
  encodedPacketLength,
  encodePacket,
  type Frame,
  type Packet,
} from '../../src/protocol/wire/index.ts';

/** One golden vector of spec.md Appendix A: the bytes and the decoded JSON, or the expected failure. */
interface GoldenVector {
  title: string;
  bytes: Uint8Array;
  expected: JsonPacket | { error: { reason: string; offset: number } };
}

/** Appendix A's JSON form of a packet: byte strings are hex. */
interface JsonPacket {
  header: { type: number; connectionId: string; keyPhase: boolean; packetNumber: number };
  frames: Record<string, unknown>[];
}

const hexBytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));

/** Parses Appendix A: each `### A.n` subsection holds one ```hex block and one ```json block. */
function parseGoldenVectors(spec: string): GoldenVector[] {
  const start = spec.indexOf('## Appendix A. Golden vectors');
  if (start < 0) throw new Error('spec.md has no Appendix A');
  const rest = spec.slice(start + 3);
  const next = rest.search(/^## /m);
  const appendix = next < 0 ? rest : rest.slice(0, next);
  return appendix
    .split(/^### /m)
    .slice(1)
    .map((section) => {
      const title = section.slice(0, section.indexOf('\n')).trim();
      const hex = /```hex\n([\s\S]*?)```/.exec(section)?.[1];
      const json = /```json\n([\s\S]*?)```/.exec(section)?.[1];
      if (hex === undefined || json === undefined)
        throw new Error(`vector ${title}: missing hex or json block`);
      const digits = hex
        .split('\n')
        .map((line) => line.replace(/#.*/, ''))
        .join('')
        .replace(/\s+/g, '');
      if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`vector ${title}: bad hex '${digits}'`);
      return { title, bytes: hexBytes(digits), expected: JSON.parse(json) };
    });
}

/** Converts Appendix A's JSON into a {@link Packet} (hex strings to bytes). */
function fromJson(json: JsonPacket): Packet {
  return {
    header: {
      type: json.header.type as 0,
      connectionId: hexBytes(json.header.connectionId),
      keyPhase: json.header.keyPhase,
      packetNumber: json.header.packetNumber,
    },
    frames: json.frames.map((frame) =>
      frame['type'] === 'message'
        ? ({ ...frame, payload: hexBytes(frame['payload'] as string) } as Frame)
        : (frame as unknown as Frame),
    ),
  };
}

const vectors = parseGoldenVectors(readFileSync(new URL('../../spec.md', import.meta.url), 'utf8'));

describe('spec.md Appendix A golden vectors', () => {
  it('the appendix holds valid and malformed vectors', () => {
    expect(vectors.filter((v) => 'error' in v.expected).length).toBeGreaterThanOrEqual(5);
    expect(vectors.filter((v) => !('error' in v.expected)).length).toBeGreaterThanOrEqual(5);
  });

  it('the parser rejects a vector without its json block', () => {
    expect(() => parseGoldenVectors('## Appendix A. Golden vectors\n### A.1 x\n```hex\n00\n```\n')).toThrow(
      /missing/,
    );
  });

  for (const vector of vectors) {
    const expected = vector.expected;
    if ('error' in expected) {
      it(`${vector.title}: decoding fails with ${expected.error.reason}`, () => {
        const result = decodePacket(vector.bytes);
        expect(result.ok).toBe(false);
        if (!result.ok) {
          expect({ reason: result.error.reason, offset: result.error.offset }).toEqual(expected.error);
        }
      });
    } else {
      it(`${vector.title}: decodes to its JSON and re-encodes to the same bytes`, () => {
        const packet = fromJson(expected);
        const result = decodePacket(vector.bytes);
        expect(result).toEqual({ ok: true, value: packet });
        // Encode both the decoded packet and the one built from the JSON.
        for (const source of [result.ok ? result.value : packet, packet]) {
          const buf = new Uint8Array(encodedPacketLength(source));
          expect(encodePacket(source, buf, 0)).toBe(buf.length);
          expect(Buffer.from(buf).toString('hex')).toBe(Buffer.from(vector.bytes).toString('hex'));
        }
      });
    }
  }
});
