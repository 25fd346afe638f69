import { RequestError } from './request-error';

interface Pending {
  event: string;
  resolve: (data: unknown) => void;
  reject: (error: RequestError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  sent: boolean;
}

/** Requests waiting for their ack, by id: ids are positive and never reused by one client. */
export class PendingRequests {
  private lastId = 0;
  private readonly pending = new Map<number, Pending>();

  get size(): number {
    return this.pending.size;
  }

  /** A new request; it fails by itself after `timeout` ms (none when 0 or Infinity). */
  create(event: string, timeout: number): { id: number; promise: Promise<unknown> } {
    const id = ++this.lastId;
    const promise = new Promise<unknown>((resolve, reject) => {
      const entry: Pending = { event, resolve, reject, timer: undefined, sent: false };
      if (timeout > 0 && timeout !== Infinity) {
        entry.timer = setTimeout(() => {
          this.fail(id, 'The server did not answer "' + event + '" within ' + timeout + ' ms.', 'timeout');
        }, timeout);
      }
      this.pending.set(id, entry);
    });
    return { id, promise };
  }

  markSent(id: number): void {
    const entry = this.pending.get(id);
    if (entry) entry.sent = true;
  }

  /** Settles the request with the server's answer; an unknown id (late, after a timeout) is ignored. */
  resolve(id: number, data: unknown): void {
    const entry = this.take(id);
    if (entry) entry.resolve(data);
  }

  fail(id: number, message: string, reason: RequestError['reason']): void {
    const entry = this.take(id);
    if (entry) entry.reject(new RequestError(message, entry.event, reason));
  }

  /** Fails the requests already sent on a connection that closed: their answer can no longer come. */
  failSent(message: string): void {
    this.pending.forEach((entry, id) => {
      if (entry.sent) this.fail(id, message, 'closed');
    });
  }

  failAll(message: string): void {
    this.pending.forEach((_entry, id) => this.fail(id, message, 'closed'));
  }

  private take(id: number): Pending | undefined {
    const entry = this.pending.get(id);
    if (entry) {
      this.pending.delete(id);
      if (entry.timer !== undefined) clearTimeout(entry.timer);
    }
    return entry;
  }
}
