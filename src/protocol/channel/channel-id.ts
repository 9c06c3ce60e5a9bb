/**
 * Channel ids carry their reliability mode and opener in the low bits (spec §7.1, R-CHAN-1):
 * `id = (index << 3) | (opener << 2) | mode`. A receiver learns a channel's mode from its id alone, and the two
 * sides never allocate the same id.
 */
export const ChannelMode = {
  /** Every message delivered exactly once, in send order (IM). */
  reliableOrdered: 0,
  /** Every message delivered exactly once, as soon as complete. */
  reliableUnordered: 1,
  /** Partial reliability: retransmitted only while it can meet its deadline (spec §12). */
  deadline: 2,
  /** Never retransmitted (spec §12). */
  unreliable: 3,
} as const;

/** One of the {@link ChannelMode} values. */
export type ChannelMode = (typeof ChannelMode)[keyof typeof ChannelMode];

/** Which side allocated a channel id. */
export type ChannelOpener = 'client' | 'server';

/** Builds a channel id (R-CHAN-1). */
export function makeChannelId(index: number, opener: ChannelOpener, mode: ChannelMode): number {
  return index * 8 + (opener === 'server' ? 4 : 0) + mode;
}

/** The reliability mode encoded in a channel id. */
export function channelModeOf(channelId: number): ChannelMode {
  return (channelId % 4) as ChannelMode;
}

/** Whether the channel's messages are delivered reliably (reliable-ordered or reliable-unordered). */
export function isReliableMode(mode: ChannelMode): boolean {
  return mode === ChannelMode.reliableOrdered || mode === ChannelMode.reliableUnordered;
}

/** The default channel every connection has: index 0, client-opened, reliable-ordered (id 0). */
export const defaultChannelId = 0;
