/**
 * Ferry's wire format (spec §2–§4): checked reader and writer, QUIC varints, the packet header, frames and
 * 32-bit serial-number arithmetic. Encoders write into a caller's buffer and throw {@link WireEncodeError} on
 * local misuse; decoders never throw on untrusted bytes and return a {@link DecodeResult}.
 * @packageDocumentation
 */
export { ackFrameLength, decodeAckFrame, encodeAckFrame } from './ack-frame.ts';
export { closeFrameLength, decodeCloseFrame, encodeCloseFrame, utf8Length } from './close-frame.ts';
export {
  type DecodeResult,
  decodeFailure,
  WireEncodeError,
  type WireEncodeErrorReason,
  WireError,
  type WireErrorReason,
} from './errors.ts';
export {
  type AckFrame,
  type AckRange,
  type CloseFrame,
  type Frame,
  FrameType,
  isAckEliciting,
  type MaxChannelDataFrame,
  type MaxDataFrame,
  type MessageFrame,
  maxAckRanges,
  messageLengthFlag,
  messageOffsetFlag,
  type PaddingFrame,
  type PingFrame,
  reservedFrameTypes,
} from './frame-types.ts';
export { decodeFrame, decodeFrames, encodedFrameLength, encodeFrame } from './frames.ts';
export {
  type DecodedHeader,
  decodeHeader,
  encodeHeader,
  headerLength,
  type PacketHeader,
  PacketType,
} from './header.ts';
export { decodeMessageFrame, encodeMessageFrame, messageFrameLength } from './message-frame.ts';
export { decodePacket, encodedPacketLength, encodePacket, type Packet } from './packet.ts';
export { WireReader } from './reader.ts';
export { seqAdd32, seqDiff32, seqLessThan32 } from './seq.ts';
export { varint1Max, varint2Max, varint4Max, varintLength, varintMax } from './varint.ts';
export { writeBytes, writeU8, writeVarint, writeZeros } from './writer.ts';
