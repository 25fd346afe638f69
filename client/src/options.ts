import type { AddressOptions } from './address';

export interface TornadoWebSocketOptions extends AddressOptions {
  /** Connect at once (default true); otherwise call `connect()`. */
  auto_connect?: boolean;
  /** Reconnect after an unexpected close (default true). */
  reconnect?: boolean;
  /** Ceiling of the first reconnect delay in ms (default 1000); it doubles at each attempt. */
  reconnect_delay?: number;
  /** Largest ceiling of a reconnect delay in ms (default 30000). */
  reconnect_delay_max?: number;
  /** Failed reconnect attempts before giving up (default Infinity). */
  reconnect_attempts?: number;
  /** Frames kept while not connected (default 100); when full, the oldest is dropped. */
  queue_limit?: number;
  /** Default timeout of `request()` in ms (default 10000; 0 for none). */
  request_timeout?: number;
  /**
   * Keep history positions in sessionStorage (default false), so that a reloaded page recovers
   * what it missed too, as a reconnect always does.
   */
  resume?: boolean;
}

export interface ConnectionSettings {
  auto_connect: boolean;
  reconnect: boolean;
  reconnect_delay: number;
  reconnect_delay_max: number;
  reconnect_attempts: number;
  queue_limit: number;
  request_timeout: number;
  resume: boolean;
}

const DEFAULTS: ConnectionSettings = {
  auto_connect: true,
  reconnect: true,
  reconnect_delay: 1000,
  reconnect_delay_max: 30000,
  reconnect_attempts: Infinity,
  queue_limit: 100,
  request_timeout: 10000,
  resume: false,
};

export function connectionSettings(options: TornadoWebSocketOptions): ConnectionSettings {
  const settings: ConnectionSettings = Object.assign({}, DEFAULTS);
  (Object.keys(DEFAULTS) as (keyof ConnectionSettings)[]).forEach((key) => {
    const value = options[key];
    if (value === undefined) return;
    if (typeof value !== typeof DEFAULTS[key] || (typeof value === 'number' && !(value >= 0))) {
      throw new TypeError('TornadoWebSocket: option "' + key + '" should be a ' + typeof DEFAULTS[key] + ' (>= 0).');
    }
    (settings as unknown as Record<string, unknown>)[key] = value;
  });
  return settings;
}
