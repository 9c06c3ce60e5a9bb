import { WireEncodeError } from './errors.ts';
import { type CloseFrame, FrameType } from './frame-types.ts';
import type { WireReader } from './reader.ts';
import { varintLength } from './varint.ts';
import { writeU8, writeVarint } from './writer.ts';

const utf8Encoder = new TextEncoder();
// fatal: invalid UTF-8 is an error, not U+FFFD; ignoreBOM: keep a leading BOM so decoding is lossless.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 length of `text` in bytes. Throws {@link WireEncodeError} on a lone surrogate (not encodable losslessly). */
export function utf8Length(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) length += 1;
    else if (unit < 0x800) length += 2;
    else if (unit < 0xd800 || unit > 0xdfff) length += 3;
    else if (unit <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 4;
      i++;
    } else {
      throw new WireEncodeError('invalid-frame', `CLOSE reason has a lone surrogate at index ${i}`);
    }
  }
  return length;
}

/** Encoded size of a CLOSE frame (spec §4.5). Throws {@link WireEncodeError} if it is invalid. */
export function closeFrameLength(frame: CloseFrame): number {
  const reasonLength = utf8Length(frame.reason);
  return 1 + varintLength(frame.code) + varintLength(reasonLength) + reasonLength;
}

/** Encodes a CLOSE frame (R-FRAME-10) at `offset`; returns the offset after it. */
export function encodeCloseFrame(frame: CloseFrame, buf: Uint8Array, offset: number): number {
  const reasonLength = utf8Length(frame.reason);
  let at = writeU8(buf, offset, FrameType.close);
  at = writeVarint(buf, at, frame.code);
  at = writeVarint(buf, at, reasonLength);
  if (at + reasonLength > buf.length) {
    throw new WireEncodeError('buffer-too-small', `CLOSE reason needs ${reasonLength} bytes at offset ${at}`);
  }
  utf8Encoder.encodeInto(frame.reason, buf.subarray(at, at + reasonLength));
  return at + reasonLength;
}

/** Decodes a CLOSE frame body, or returns `undefined` with the reader's error set (`invalid-utf8`, R-FRAME-10). */
export function decodeCloseFrame(reader: WireReader): CloseFrame | undefined {
  const code = reader.varint();
  const reasonLength = code < 0 ? -1 : reader.varint();
  if (reasonLength < 0) return undefined;
  const reasonAt = reader.offset;
  const bytes = reader.view(reasonLength);
  if (bytes === undefined) return undefined;
  let reason: string;
  try {
    reason = utf8Decoder.decode(bytes);
  } catch {
    reader.fail('invalid-utf8', reasonAt);
    return undefined;
  }
  return { type: 'close', code, reason };
}
