/** The parts of `window.location` the address is built from. */
export interface PageLocation {
  protocol: string;
  hostname: string;
  port: string;
}

export interface AddressOptions {
  /** Host name or IP address. Default: the page's host, else `'localhost'`. */
  host?: string;
  /** Port. Default: the page's port (none when the page uses its scheme's default), else 8000. */
  port?: number | string;
  /** `wss://` when true. Default: true on an https page, else false. */
  secure?: boolean;
  /** Full URL of the WebSocket; when given, path, host, port and secure are ignored. */
  url?: string;
}

/** The server's normalisation of `WebSocket(path)`: trimmed, a leading "/", under "/ws". */
export function normalisePath(path: string): string {
  const trimmed = path.trim();
  return '/ws' + (trimmed.charAt(0) === '/' ? trimmed : '/' + trimmed);
}

/** An IPv6 literal needs brackets in a URL; `location.hostname` already has them. */
function urlHost(host: string): string {
  return host.indexOf(':') !== -1 && host.charAt(0) !== '[' ? '[' + host + ']' : host;
}

/**
 * The page's location, or undefined where there is none worth using (no DOM, a file:// page),
 * in which case the seed's `localhost:8000` applies.
 */
export function currentLocation(): PageLocation | undefined {
  const location = typeof window === 'object' && window !== null ? window.location : undefined;
  return location && location.hostname ? location : undefined;
}

export function buildUrl(path: string, options: AddressOptions, page: PageLocation | undefined): string {
  if (options.url) {
    return options.url;
  }
  const secure = options.secure !== undefined ? options.secure : page ? page.protocol === 'https:' : false;
  const host = options.host !== undefined ? options.host : page ? page.hostname : 'localhost';
  const port = options.port !== undefined ? String(options.port) : page ? page.port : '8000';
  return (secure ? 'wss' : 'ws') + '://' + urlHost(host) + (port ? ':' + port : '') + normalisePath(path);
}
