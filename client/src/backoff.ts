export interface BackoffOptions {
  /** Ceiling of the first delay, in milliseconds. */
  initial: number;
  /** The ceiling never grows past this, in milliseconds. */
  max: number;
}

/**
 * Delay before reconnect attempt number `attempt` (0 for the first), with "full jitter": a
 * random delay between 0 and an exponentially growing ceiling. When a server restarts, all of
 * its clients lose their connection at the same moment; spreading them over the whole window
 * keeps them from coming back in one burst.
 */
export function reconnectDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.max, options.initial * Math.pow(2, attempt));
  return Math.floor(random() * ceiling);
}
