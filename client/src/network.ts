// The browser's own word on the network. Browsers keep a WebSocket "open" long after the
// network went away (until TCP gives up, minutes later); the `offline` event says so at once.

/** Calls `offline()` and `online()` on the window's events; returns a function that stops. */
export function watchNetwork(offline: () => void, online: () => void): () => void {
  const target = typeof window === 'object' && window !== null ? window : undefined;
  if (!target || typeof target.addEventListener !== 'function') return () => undefined;
  target.addEventListener('offline', offline);
  target.addEventListener('online', online);
  return () => {
    target.removeEventListener('offline', offline);
    target.removeEventListener('online', online);
  };
}
