import fc from 'fast-check';

/**
 * Property tests run from a fixed seed so CI is reproducible; `FC_SEED=random` explores new cases (and any failure
 * prints its seed and path for replay), `FC_SEED=<n>` replays one exploration.
 */
const raw = process.env.FC_SEED;
if (raw !== 'random') {
  const seed = raw === undefined ? 20261126 : Number(raw);
  if (!Number.isInteger(seed)) throw new Error(`FC_SEED must be an integer or 'random', got '${raw}'`);
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
}
