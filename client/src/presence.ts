import type { Emitter } from './emitter';

/** Wire names of presence: requests to the server and the frame it pushes to room members. */
export const PRESENCE_REQUEST = '$presence';
export const PRESENCE_STATS_REQUEST = '$presence_stats';
export const PRESENCE_DIFF = '$presence_diff';

/** One connection present in the application or a room, as the server shares it. */
export interface PresenceEntry {
  /** `"<node id>:<connection id>"`, unique in the cluster. */
  client: string;
  /** What the server's `presence_info` hook shares (by default `{username}`), or null. */
  user: any;
}

/** Data of the `join` and `leave` events: an entry and its room (null: the application). */
export interface PresenceChange extends PresenceEntry {
  room: string | null;
}

/** Data of the `presence` event: the joins and leaves of one room, gathered by the server. */
export interface PresenceDiff {
  room: string | null;
  joins: PresenceEntry[];
  leaves: PresenceEntry[];
  /** Too many changed at once to list: read `presence(room)` again. */
  overflow?: boolean;
}

export interface PresenceStats {
  clients: number;
  users: number;
}

function isEntry(value: unknown): value is PresenceEntry {
  return typeof value === 'object' && value !== null && typeof (value as PresenceEntry).client === 'string';
}

/** Dispatches a `$presence_diff` frame as one `presence` event, then a `join` or `leave` per entry. */
export function dispatchPresenceDiff(listeners: Emitter, data: unknown): void {
  if (typeof data !== 'object' || data === null) return;
  const raw = data as Partial<PresenceDiff>;
  const room = typeof raw.room === 'string' ? raw.room : null;
  const joins = Array.isArray(raw.joins) ? raw.joins.filter(isEntry) : [];
  const leaves = Array.isArray(raw.leaves) ? raw.leaves.filter(isEntry) : [];
  const diff: PresenceDiff = { room, joins, leaves };
  if (raw.overflow === true) diff.overflow = true;
  listeners.dispatch('presence', diff);
  for (const entry of joins) listeners.dispatch('join', { client: entry.client, user: entry.user, room });
  for (const entry of leaves) listeners.dispatch('leave', { client: entry.client, user: entry.user, room });
}
