// Positions in the server's message history, and what the client does with them.
//
// A WebSocket declared with `history=N` on the server tags the frames of its broadcast stream
// and of each room's stream with `offset` (one more than the stream's previous message) and
// `epoch` (which changes when the server lost that history), plus `room` for a room's stream.
// The client remembers the last position of each stream. After a reconnect it opens the
// connection with `$recover=1` in the URL and sends `$recover` with those positions; the server
// replays what was missed, then answers `$recovered`, which the client dispatches as `recovered`.

/** Where a client stands in one stream. */
export interface StreamPosition {
  offset: number;
  epoch: string;
}

/** Per-stream detail of the `recovered` event. */
export interface StreamRecovery {
  recovered: boolean;
  /** Messages replayed for this stream. */
  missed: number;
  /** The stream's last offset and its epoch when the server answered. */
  offset?: number;
  epoch?: string;
  /** Why the stream could not be recovered. */
  reason?: string;
}

/** Data of the `recovered` event. */
export interface RecoveredData {
  /** True when every stream was recovered: nothing was lost. False: reload the page's state. */
  recovered: boolean;
  /** Messages replayed, all streams together. */
  missed: number;
  /** The broadcast stream, when the client had a position in it. */
  broadcast?: StreamRecovery;
  /** Each room's stream the client had a position in, by room name. */
  rooms: Record<string, StreamRecovery>;
  reason?: string;
}

/** The wire names: reserved (`$`) so that they never meet an application's events. */
export const RECOVER_REQUEST = '$recover';
export const RECOVER_ANSWER = '$recovered';
const RECOVER_QUERY = '$recover=1';
const BROADCAST = '';
const STORAGE_PREFIX = 'tornado-websockets:positions:';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The position a frame carries, if it is a stream message. */
export function positionOf(frame: Record<string, unknown>): { stream: string; offset: number; epoch: string } | undefined {
  const { offset, epoch, room } = frame;
  if (typeof offset !== 'number' || typeof epoch !== 'string') return undefined;
  return { stream: typeof room === 'string' ? room : BROADCAST, offset, epoch };
}

function sessionStore(): Storage | undefined {
  try {
    return typeof sessionStorage === 'object' && sessionStorage !== null ? sessionStorage : undefined;
  } catch (_error) {
    return undefined; // storage disabled by the browser's settings
  }
}

export class Positions {
  private readonly streams = new Map<string, StreamPosition>();
  private readonly storage: Storage | undefined;
  private readonly key: string;

  /** With `resume`, positions are kept in sessionStorage under the URL: a reload recovers too. */
  constructor(url: string, resume: boolean) {
    this.key = STORAGE_PREFIX + url;
    this.storage = resume ? sessionStore() : undefined;
    const saved = this.storage ? this.storage.getItem(this.key) : null;
    if (saved) {
      try {
        const parsed: unknown = JSON.parse(saved);
        if (isObject(parsed)) {
          Object.keys(parsed).forEach((stream) => {
            const position = parsed[stream];
            if (isObject(position) && typeof position.offset === 'number' && typeof position.epoch === 'string') {
              this.streams.set(stream, { offset: position.offset, epoch: position.epoch });
            }
          });
        }
      } catch (_error) {
        // an unreadable entry is as good as none
      }
    }
  }

  /** Whether there is anything to recover. */
  get any(): boolean {
    return this.streams.size > 0;
  }

  /** `url` with the flag that asks the server to hold new messages until the replay. */
  recoveringUrl(url: string): string {
    return url + (url.indexOf('?') === -1 ? '?' : '&') + RECOVER_QUERY;
  }

  /**
   * Records a stream message; false when the client already has it (same epoch, offset at or
   * below the last one), in which case it must not be delivered twice.
   */
  observe(stream: string, offset: number, epoch: string): boolean {
    const known = this.streams.get(stream);
    if (known && known.epoch === epoch && offset <= known.offset) return false;
    this.streams.set(stream, { offset, epoch });
    this.save();
    return true;
  }

  /** The data of the `$recover` request. */
  request(): { broadcast?: StreamPosition; rooms: Record<string, StreamPosition> } {
    const data: { broadcast?: StreamPosition; rooms: Record<string, StreamPosition> } = { rooms: {} };
    this.streams.forEach((position, stream) => {
      if (stream === BROADCAST) data.broadcast = position;
      else data.rooms[stream] = position;
    });
    return data;
  }

  /** Takes the server's answer: each stream continues from where the server stands now. */
  adopt(answer: RecoveredData): void {
    const take = (stream: string, detail: StreamRecovery | undefined): void => {
      if (!detail) return;
      if (typeof detail.offset === 'number' && typeof detail.epoch === 'string') {
        const known = this.streams.get(stream);
        if (!known || known.epoch !== detail.epoch || known.offset < detail.offset) {
          this.streams.set(stream, { offset: detail.offset, epoch: detail.epoch });
        }
      } else if (!detail.recovered) {
        this.streams.delete(stream); // a room the connection is no longer in
      }
    };
    take(BROADCAST, answer.broadcast);
    Object.keys(answer.rooms).forEach((room) => take(room, answer.rooms[room]));
    this.save();
  }

  /** Reads the `$recovered` data, whatever the server sent. */
  static answer(data: unknown): RecoveredData {
    const source = isObject(data) ? data : {};
    const rooms = isObject(source.rooms) ? (source.rooms as Record<string, StreamRecovery>) : {};
    const result: RecoveredData = {
      recovered: source.recovered === true,
      missed: typeof source.missed === 'number' ? source.missed : 0,
      rooms,
    };
    if (isObject(source.broadcast)) result.broadcast = source.broadcast as unknown as StreamRecovery;
    if (typeof source.reason === 'string') result.reason = source.reason;
    return result;
  }

  private save(): void {
    if (!this.storage) return;
    const saved: Record<string, StreamPosition> = {};
    this.streams.forEach((position, stream) => {
      saved[stream] = position;
    });
    try {
      this.storage.setItem(this.key, JSON.stringify(saved));
    } catch (_error) {
      // a full storage loses resumption across reloads, nothing else
    }
  }
}
