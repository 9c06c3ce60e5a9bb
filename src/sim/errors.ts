/** The simulation hit its event budget: most often a livelock (an endpoint whose deadline never advances). */
export class SimulationLimitError extends Error {
  override name = 'SimulationLimitError';

  constructor(
    message: string,
    /** Virtual time (ms) when the limit was hit. */
    readonly nowMs: number,
    /** Events processed by the `run` call. */
    readonly events: number,
  ) {
    super(message);
  }
}
