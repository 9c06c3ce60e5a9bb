import type { Connection } from '../../src/protocol/connection.ts';

/**
 * Every bound a connection promises about its own state, whatever its peer sends (spec §14), checked through its
 * public observability (`bufferSizes()`, `stats`, `congestion`, `rtt`, `nextTimeout()`) and `debugInvariants()`.
 * Returns the broken invariants, [] when all hold, so a property can print them with its counterexample.
 */
export function connectionInvariantViolations(connection: Connection): string[] {
  const c = connection.config;
  const broken = [...connection.debugInvariants()];
  const check = (ok: boolean, what: string): void => {
    if (!ok) broken.push(what);
  };
  const sizes = connection.bufferSizes();
  // R-LIMIT-1: the hard receive cap (one message may start while anything is buffered below it).
  check(
    sizes.receiveBufferedBytes <= c.maxReceiveBufferBytes + c.maxMessageBytes,
    `receiveBufferedBytes ${sizes.receiveBufferedBytes} above maxReceiveBufferBytes + one message`,
  );
  // R-LIMIT-2: pending messages; each channel's head is exempt from the connection-wide count.
  check(
    sizes.receivePendingMessages <= c.maxPendingMessages + sizes.receiveChannels,
    `receivePendingMessages ${sizes.receivePendingMessages} above maxPendingMessages + channels`,
  );
  check(
    sizes.receivePendingMessages <= sizes.receiveChannels * c.maxPendingMessagesPerChannel,
    `receivePendingMessages ${sizes.receivePendingMessages} above channels × maxPendingMessagesPerChannel`,
  );
  check(sizes.receiveChannels <= c.maxChannels, `receiveChannels ${sizes.receiveChannels} above maxChannels`); // R-CHAN-5
  // R-LIMIT-3: the packet-number ranges tracked.
  const maxRanges = Math.max(4 * c.maxAckRanges, c.maxTrackedAckRanges);
  check(sizes.ackRanges <= maxRanges, `ackRanges ${sizes.ackRanges} above ${maxRanges}`);
  // Sender-side structures are bounded by what this side sent.
  check(sizes.trackedPackets <= connection.stats.packetsSent, 'more packets tracked than sent');
  check(
    connection.sendBufferedBytesTotal <= c.sendBufferBytes + c.maxMessageBytes,
    `send buffer ${connection.sendBufferedBytesTotal} above sendBufferBytes + one message`, // R-FLOW-5
  );
  check(sizes.retransmitQueue >= 0, 'negative retransmit queue');
  const { bytesInFlight, congestionWindowBytes } = connection.congestion;
  check(bytesInFlight >= 0 && Number.isFinite(bytesInFlight), `bytesInFlight ${bytesInFlight}`);
  check(
    congestionWindowBytes > 0 && Number.isFinite(congestionWindowBytes),
    `congestion window ${congestionWindowBytes}`,
  );
  for (const [key, value] of Object.entries(connection.rtt)) {
    // minRttMs is +Infinity until the first sample; nothing may be NaN or negative.
    check(value >= 0 && (Number.isFinite(value) || key === 'minRttMs'), `rtt.${key} = ${value}`);
  }
  for (const [key, value] of Object.entries(connection.stats)) {
    check(Number.isSafeInteger(value) && value >= 0, `stats.${key} = ${value}`);
  }
  const timeout = connection.nextTimeout();
  check(timeout === undefined || !Number.isNaN(timeout), 'nextTimeout is NaN');
  check(connection.state !== 'closed' || timeout === undefined, 'closed connection still has a deadline');
  return broken;
}

/** Throws with every broken invariant listed (for use inside fast-check properties and simulations). */
export function assertConnectionInvariants(connection: Connection, context = ''): void {
  const broken = connectionInvariantViolations(connection);
  if (broken.length > 0) {
    throw new Error(`connection invariants broken${context ? ` (${context})` : ''}: ${broken.join('; ')}`);
  }
}
