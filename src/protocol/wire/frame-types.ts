/** Frame type bytes (spec §4, R-FRAME-1). MESSAGE uses 0x10–0x13: its low two bits are flags. */
export const FrameType = {
  padding: 0x00,
  ping: 0x01,
  ack: 0x02,
  close: 0x03,
  maxData: 0x04,
  maxChannelData: 0x05,
  expired: 0x06,
  message: 0x10,
} as const;

/** MESSAGE flag: fragment offset and total length follow (R-FRAME-13, R-FRAME-16). */
export const messageOffsetFlag = 0x01;
/** MESSAGE flag: an explicit payload length follows (R-FRAME-14). */
export const messageLengthFlag = 0x02;

/**
 * Frame type ranges reserved for later sections (R-FRAME-2), inclusive. Until a section defines them they are
 * unknown types: never sent, and a packet carrying one is dropped.
 */
export const reservedFrameTypes = {
  /** Channel control: open and close notices (spec §7, §12). */
  channelControl: [0x07, 0x0f],
  /** Handshake (spec §13). */
  handshake: [0x20, 0x2f],
  /** Forward error correction (spec §11). */
  fec: [0x30, 0x3f],
} as const;

/** Most ranges one ACK frame may carry (R-FRAME-8): the ACK Range Count field is at most this minus one. */
export const maxAckRanges = 256;

/** A run of `length` zero bytes (R-FRAME-4); a decoder folds a run of 0x00 bytes into one frame. */
export interface PaddingFrame {
  type: 'padding';
  /** Number of zero bytes, at least 1. */
  length: number;
}

/** Asks the peer to acknowledge the packet (R-FRAME-5); no body. */
export interface PingFrame {
  type: 'ping';
}

/** An inclusive range of acknowledged packet numbers. */
export interface AckRange {
  /** Smallest packet number in the range. */
  smallest: number;
  /** Largest packet number in the range. */
  largest: number;
}

/** Selective acknowledgement (R-FRAME-6 … R-FRAME-9). */
export interface AckFrame {
  type: 'ack';
  /** Time between receiving the largest acknowledged packet and sending this ACK, in microseconds. */
  ackDelayUs: number;
  /** Acknowledged ranges, in DESCENDING order, disjoint and non-adjacent; 1 to {@link maxAckRanges} of them. */
  ranges: AckRange[];
}

/** Closes the connection (R-FRAME-10). */
export interface CloseFrame {
  type: 'close';
  /** Application or protocol close code. */
  code: number;
  /** Human-readable reason (UTF-8 on the wire), may be empty. */
  reason: string;
}

/** Connection-level flow-control credit (R-FRAME-11). */
export interface MaxDataFrame {
  type: 'max_data';
  /** The total number of message payload bytes the peer may send on the connection. */
  maximumBytes: number;
}

/** Channel-level flow-control credit (R-FRAME-12). */
export interface MaxChannelDataFrame {
  type: 'max_channel_data';
  /** The channel the credit applies to. */
  channelId: number;
  /** The total number of message payload bytes the peer may send on that channel. */
  maximumBytes: number;
}

/**
 * A partially reliable channel's forward point (R-FRAME-17, spec §12.1): the sender will never send again any
 * message of the channel with an id below `forwardMessageId` — each is acknowledged or abandoned — so the
 * receiver stops waiting for them.
 */
export interface ExpiredFrame {
  type: 'expired';
  /** The channel (a deadline or unreliable channel). */
  channelId: number;
  /** Every message id below this one is settled at the sender. */
  forwardMessageId: number;
}

/** One fragment (or all) of an application message (R-FRAME-13 … R-FRAME-16). */
export interface MessageFrame {
  type: 'message';
  /** The channel the message belongs to. */
  channelId: number;
  /** The message's id within its channel. */
  messageId: number;
  /** Byte offset of this fragment within the message. */
  offset: number;
  /** Length of the whole message in bytes. */
  totalLength: number;
  /** The fragment's bytes. In a decoded frame this is a view of the packet's bytes, not a copy. */
  payload: Uint8Array;
  /**
   * Whether the payload length is written explicitly. Without it the payload runs to the end of the packet,
   * so only the last frame of a packet may omit it (R-FRAME-14).
   */
  lengthPresent: boolean;
}

/** Any Ferry frame (spec §4), discriminated by `type`. */
export type Frame =
  | PaddingFrame
  | PingFrame
  | AckFrame
  | CloseFrame
  | MaxDataFrame
  | MaxChannelDataFrame
  | ExpiredFrame
  | MessageFrame;

/**
 * Whether receiving `frame` obliges the receiver to acknowledge its packet (R-FRAME-3): every frame except
 * PADDING, ACK and CLOSE.
 */
export function isAckEliciting(frame: Frame): boolean {
  return frame.type !== 'padding' && frame.type !== 'ack' && frame.type !== 'close';
}
