import type { Listener } from './emitter';
import type { RequestOptions, TornadoWebSocketClient as TornadoWebSocket } from './tornado-websocket';

/**
 * Base of client modules, the counterpart of the server's `Module`: every event it sends or
 * listens to is prefixed exactly as the server prefixes it, `'module_' + name + '_' + event`.
 * Listeners added before the module is bound are attached when it is.
 */
export abstract class Module {
  /** The prefix of the module's events, without the trailing "_": `'module_' + name`. */
  readonly name: string;
  /** The connection this module is bound to, or null until `bind`. */
  websocket: TornadoWebSocket | null = null;

  private readonly waiting: Array<{ event: string; listener: Listener; once: boolean }> = [];

  constructor(name = '') {
    if (this.constructor === Module) {
      throw new TypeError('TornadoWebSocket.Module is abstract: extend it.');
    }
    this.name = 'module_' + name;
  }

  /** The full name of one of this module's events, as it travels on the wire. */
  eventName(event: string): string {
    return this.name + '_' + event;
  }

  /** Binds the module to a connection; `tws.bind(module)` does the same. */
  bind(websocket: TornadoWebSocket): this {
    if (this.websocket && this.websocket !== websocket) {
      throw new Error('Module "' + this.name + '": it is already bound to another TornadoWebSocket.');
    }
    if (this.websocket === websocket) {
      return this;
    }
    this.websocket = websocket;
    this.waiting.splice(0).forEach(({ event, listener, once }) => {
      if (once) websocket.once(this.eventName(event), listener);
      else websocket.on(this.eventName(event), listener);
    });
    return this;
  }

  on<T = any>(event: string, listener: Listener<T>): this {
    return this.listen(event, listener, false);
  }

  once<T = any>(event: string, listener: Listener<T>): this {
    return this.listen(event, listener, true);
  }

  off(event: string, listener?: Listener): this {
    if (this.websocket) {
      this.websocket.off(this.eventName(event), listener);
    } else {
      const kept = this.waiting.filter((entry) => entry.event !== event || (listener && entry.listener !== listener));
      this.waiting.splice(0, this.waiting.length, ...kept);
    }
    return this;
  }

  emit(event: string, data?: unknown): void {
    this.bound().emit(this.eventName(event), data);
  }

  request<T = unknown>(event: string, data?: unknown, options?: RequestOptions): Promise<T> {
    return this.bound().request<T>(this.eventName(event), data, options);
  }

  private listen(event: string, listener: Listener, once: boolean): this {
    if (typeof listener !== 'function') {
      throw new TypeError('Module "' + this.name + '": the listener of "' + event + '" should be a function.');
    }
    if (!this.websocket) {
      this.waiting.push({ event, listener, once });
    } else if (once) {
      this.websocket.once(this.eventName(event), listener);
    } else {
      this.websocket.on(this.eventName(event), listener);
    }
    return this;
  }

  private bound(): TornadoWebSocket {
    if (!this.websocket) {
      throw new Error('Module "' + this.name + '": bind it to a TornadoWebSocket before sending.');
    }
    return this.websocket;
  }
}
