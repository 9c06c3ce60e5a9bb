import type { FerryPair } from '../harness/ferry-pair.ts';

/** FEC counters of both sides of a simulated pair, for scenario results (spec §11, issue 5 stats). */
export interface FecPairStats {
  /** REPAIR packets sent, both directions. */
  paritySent: number;
  /** Bytes of REPAIR packets sent, both directions. */
  parityBytesSent: number;
  /** Source packets rebuilt by FEC and handed to a connection, both directions. */
  packetsRecoveredByFec: number;
  /** Blocks given up with sources missing, both directions. */
  blocksUnrecoverable: number;
  /** Extra REPAIR packets sent after declared losses (R-FEC-14), both directions; part of `paritySent`. */
  extraParitySent: number;
}

/** Sums the FEC counters of both sides of `pair`; all zero when the pair runs without FEC. */
export function fecPairStats(pair: FerryPair): FecPairStats {
  const out: FecPairStats = {
    paritySent: 0,
    parityBytesSent: 0,
    packetsRecoveredByFec: 0,
    blocksUnrecoverable: 0,
    extraParitySent: 0,
  };
  for (const side of ['client', 'server'] as const) {
    const connection = pair.connection(side);
    const session = connection && pair.fec?.[side].session(connection);
    if (!session) continue;
    const s = session.stats;
    out.paritySent += s.paritySent;
    out.parityBytesSent += s.parityBytesSent;
    out.packetsRecoveredByFec += s.packetsRecovered;
    out.blocksUnrecoverable += s.blocksUnrecoverable;
    out.extraParitySent += s.extraParitySent;
  }
  return out;
}
