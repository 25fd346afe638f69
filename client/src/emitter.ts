// `any`: each listener declares the data type its event carries.
export type Listener<T = any> = (data: T) => unknown;

interface Entry {
  listener: Listener;
  once: boolean;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * Listeners by event name. One listener that throws (or returns a rejected promise) is
 * reported and never keeps the others from running: a page's bug in one handler must not
 * silence the rest of the page.
 */
export class Emitter {
  private readonly entries = new Map<string, Entry[]>();

  constructor(private readonly owner: string) {}

  add(event: string, listener: Listener, once: boolean): void {
    if (typeof listener !== 'function') {
      throw new TypeError(this.owner + ': the listener of "' + event + '" should be a function.');
    }
    const list = this.entries.get(event);
    if (list) {
      list.push({ listener, once });
    } else {
      this.entries.set(event, [{ listener, once }]);
    }
  }

  /** Removes one listener (every registration of it), or all of the event's when none is given. */
  remove(event: string, listener?: Listener): void {
    const list = this.entries.get(event);
    if (!list) {
      return;
    }
    const kept = listener ? list.filter((entry) => entry.listener !== listener) : [];
    if (kept.length) {
      this.entries.set(event, kept);
    } else {
      this.entries.delete(event);
    }
  }

  has(event: string): boolean {
    return this.entries.has(event);
  }

  dispatch(event: string, data: unknown): void {
    const list = this.entries.get(event);
    if (!list) {
      return;
    }
    // A snapshot: listeners added or removed while dispatching take effect from the next event.
    const snapshot = list.slice();
    const kept = list.filter((entry) => !entry.once);
    if (kept.length !== list.length) {
      if (kept.length) this.entries.set(event, kept);
      else this.entries.delete(event);
    }
    for (const entry of snapshot) {
      try {
        const result = entry.listener(data);
        if (isThenable(result)) {
          result.then(undefined, (error: unknown) => this.report(event, error));
        }
      } catch (error) {
        this.report(event, error);
      }
    }
  }

  private report(event: string, error: unknown): void {
    console.error(this.owner + ': a listener of "' + event + '" failed:', error);
  }
}
