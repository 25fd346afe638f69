import { buildUrl, currentLocation, normalisePath } from './address';
import { reconnectDelay } from './backoff';
import { stopsReconnection } from './close-codes';
import { Emitter, type Listener } from './emitter';
import { encodeEvent, normaliseData, parseServerFrame } from './frames';
import { Positions, RECOVER_ANSWER, RECOVER_REQUEST } from './history';
import { watchNetwork } from './network';
import { Module } from './module';
import { connectionSettings, type ConnectionSettings, type TornadoWebSocketOptions } from './options';
import { Outbox, type OutgoingFrame } from './outbox';
import { RequestError } from './request-error';
import { PendingRequests } from './requests';
import {
  dispatchPresenceDiff,
  PRESENCE_DIFF,
  PRESENCE_REQUEST,
  PRESENCE_STATS_REQUEST,
  type PresenceEntry,
  type PresenceStats,
} from './presence';

export type ConnectionState = 'connecting' | 'open' | 'closed';

export interface RequestOptions {
  /** Milliseconds before the request fails with reason `timeout` (0 for none). */
  timeout?: number;
}

/** Data of the `reconnecting` event. */
export interface ReconnectingData {
  /** 1 for the first reconnect attempt after a connection was lost. */
  attempt: number;
  /** Milliseconds until this attempt. */
  delay: number;
}

/**
 * Names of the client's own events. A server frame carrying one of them is ignored: the server
 * cannot fake a connection opening or closing (the 0.2.0 client never delivered those either).
 */
/** Library events that reach a page's listeners: the figures of the Django admin's live page. */
const LISTENED_LIBRARY_EVENTS = ['$admin.snapshot'];
const LIFECYCLE_EVENTS = ['open', 'close', 'error', 'reconnect', 'reconnecting', 'reconnect_failed', 'recovered'];

const NAME = 'TornadoWebSocket';

// WebSocket.readyState values, spelt out: the constructor may not be there when this file loads.
const OPEN = 1;
const CLOSING = 2;

/**
 * A connection to one `WebSocket(path)` application of the server. Exported as
 * `TornadoWebSocket`, which is this class made callable without `new`.
 */
export class TornadoWebSocketClient {
  /** The base of client modules (`TornadoWebSocket.Module` in the 0.2.0 client). */
  static Module = Module;
  /** The class of `request()` rejections. */
  static RequestError = RequestError;

  /** The path on the server, as the server registers it: `'/ws' + path`. */
  readonly path: string;
  /** The URL the client connects to. */
  readonly url: string;
  /** The browser's WebSocket of the current connection, or null between connections. */
  websocket: WebSocket | null = null;

  private readonly settings: ConnectionSettings;
  private readonly listeners = new Emitter(NAME);
  private readonly outbox: Outbox;
  private readonly requests = new PendingRequests();
  private currentState: ConnectionState = 'closed';
  private stopped = false;
  /** Reconnect attempts made since the last open connection. */
  private reconnectAttempts = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  /** Last offset and epoch of each history stream received (see history.ts). */
  private readonly positions: Positions;
  /** The current connection was opened to recover what was missed. */
  private recovering = false;

  constructor(path: string, options: TornadoWebSocketOptions = {}) {
    if (typeof path !== 'string') {
      throw new TypeError(NAME + ': the path should be a string, like the path of the server\'s WebSocket(path).');
    }
    this.path = normalisePath(path);
    this.url = buildUrl(path, options, currentLocation());
    this.settings = connectionSettings(options);
    this.outbox = new Outbox(this.settings.queue_limit);
    this.positions = new Positions(this.url, this.settings.resume);
    watchNetwork(
      () => this.dropLostConnection(),
      () => this.reconnectNow(),
    );
    if (this.settings.auto_connect) {
      this.connect();
    }
  }

  /** `connecting` (opening, or waiting to reconnect), `open`, or `closed` (for good, until `connect()`). */
  get state(): ConnectionState {
    return this.currentState;
  }

  /** Opens the connection; does nothing when it is open or opening. */
  connect(): this {
    if (this.websocket && this.websocket.readyState <= OPEN) {
      return this;
    }
    this.clearReconnectTimer();
    this.stopped = false;
    let socket: WebSocket;
    this.recovering = this.positions.any;
    try {
      socket = new WebSocket(this.recovering ? this.positions.recoveringUrl(this.url) : this.url);
    } catch (error) {
      this.currentState = 'closed';
      throw error; // an invalid URL: retrying could not help
    }
    this.currentState = 'connecting';
    this.websocket = socket;
    socket.onopen = (event) => {
      if (socket === this.websocket) this.handleOpen(event);
    };
    socket.onmessage = (event) => {
      if (socket === this.websocket) this.handleMessage(event.data);
    };
    socket.onerror = (event) => {
      if (socket === this.websocket) this.listeners.dispatch('error', event);
    };
    socket.onclose = (event) => {
      if (socket === this.websocket) this.handleClose(event);
    };
    return this;
  }

  /**
   * Closes the connection for good: no reconnection, pending requests fail, queued frames are
   * discarded. `connect()` opens it again.
   */
  close(code?: number, reason?: string): this {
    this.stopped = true;
    this.clearReconnectTimer();
    this.outbox.clear();
    this.requests.failAll('The connection was closed by the page.');
    this.currentState = 'closed';
    const socket = this.websocket;
    if (socket && socket.readyState < CLOSING) {
      socket.close(code, reason);
    }
    return this;
  }

  /**
   * Calls `listener` with the data of every `event`: a server event, or `open`, `close`,
   * `error` (with the browser's Event), `warning`, `reconnecting`, `reconnect`, `reconnect_failed`,
   * `recovered` (after a reconnect, for WebSockets with history: see `RecoveredData`),
   * and, with presence events on: `join`, `leave` (a `PresenceChange`) and `presence` (a `PresenceDiff`).
   */
  on<T = any>(event: string, listener: Listener<T>): this {
    this.listeners.add(event, listener, false);
    return this;
  }

  /** Like `on`, for the next `event` only. */
  once<T = any>(event: string, listener: Listener<T>): this {
    this.listeners.add(event, listener, true);
    return this;
  }

  /** Removes `listener` from `event`, or every listener of `event` when none is given. */
  off(event: string, listener?: Listener): this {
    this.listeners.remove(event, listener);
    return this;
  }

  /** Sends `event` with `data` (normalised as the seed says); queued while not connected. */
  emit(event: string, data?: unknown): void {
    checkEventName(event);
    this.send({ event, text: encodeEvent(event, normaliseData(data)) });
  }

  /** Sends `event` and resolves with what the server's handler returned (its ack). */
  request<T = unknown>(event: string, data?: unknown, options: RequestOptions = {}): Promise<T> {
    checkEventName(event);
    const timeout = options.timeout !== undefined ? options.timeout : this.settings.request_timeout;
    const { id, promise } = this.requests.create(event, timeout);
    this.send({ event, id, text: encodeEvent(event, normaliseData(data), id) });
    return promise as Promise<T>;
  }

  /**
   * Everyone present in `room` (null or omitted: the whole application), on every server
   * process, when the server's WebSocket has `presence=True`. Rejects when this client may not
   * see that room (by default: rooms it is not in).
   */
  presence(room: string | null = null, options: RequestOptions = {}): Promise<PresenceEntry[]> {
    return this.request<PresenceEntry[]>(PRESENCE_REQUEST, { room }, options);
  }

  /** `{clients, users}` of `room`: a user with several tabs counts once. */
  presenceStats(room: string | null = null, options: RequestOptions = {}): Promise<PresenceStats> {
    return this.request<PresenceStats>(PRESENCE_STATS_REQUEST, { room }, options);
  }

  /** Binds a module (a `TornadoWebSocket.Module`), as the server's `ws.bind(module)`. */
  bind(module: Module): this {
    module.bind(this);
    return this;
  }

  private send(frame: OutgoingFrame): void {
    const socket = this.websocket;
    if (this.currentState === 'open' && socket && socket.readyState === OPEN) {
      this.transmit(socket, frame);
      return;
    }
    const dropped = this.outbox.push(frame);
    if (dropped) {
      const message = 'The queue of frames waiting for the connection is full: "' + dropped.event + '" was dropped.';
      this.warn(message);
      if (dropped.id !== undefined) this.requests.fail(dropped.id, message, 'dropped');
    }
  }

  private transmit(socket: WebSocket, frame: OutgoingFrame): void {
    socket.send(frame.text);
    if (frame.id !== undefined) this.requests.markSent(frame.id);
  }

  private handleOpen(event: Event): void {
    const attempts = this.reconnectAttempts;
    this.reconnectAttempts = 0;
    this.currentState = 'open';
    // Open listeners run before the queue is flushed, so that a page re-establishes its session
    // (joins its room, authenticates) before the frames it emitted while disconnected arrive.
    this.listeners.dispatch('open', event);
    let frame: OutgoingFrame | undefined;
    while (this.currentState === 'open' && this.websocket && (frame = this.outbox.shift())) {
      this.transmit(this.websocket, frame);
    }
    // After the frames the page sent to rejoin its rooms: the server handles them first.
    if (this.recovering && this.currentState === 'open' && this.websocket) {
      const request = this.positions.request();
      this.transmit(this.websocket, { event: RECOVER_REQUEST, text: encodeEvent(RECOVER_REQUEST, request) });
    }
    if (attempts > 0) {
      this.listeners.dispatch('reconnect', { attempt: attempts });
    }
  }

  private handleMessage(text: unknown): void {
    const frame = parseServerFrame(text);
    switch (frame.kind) {
      case 'ack':
        this.requests.resolve(frame.id, frame.data);
        return;
      case 'ack-error':
        this.requests.fail(frame.id, frame.message, 'server');
        return;
      case 'invalid':
        console.warn(NAME + ': ignored a frame from the server: ' + frame.reason + '.');
        return;
      case 'event':
        if (frame.event === RECOVER_ANSWER) {
          const answer = Positions.answer(frame.data);
          this.positions.adopt(answer);
          this.listeners.dispatch('recovered', answer);
        } else if (frame.event === PRESENCE_DIFF) {
          dispatchPresenceDiff(this.listeners, frame.data);
        } else if (frame.event.charAt(0) === '$' && LISTENED_LIBRARY_EVENTS.indexOf(frame.event) === -1) {
          // reserved for the library: events of features this client does not know
        } else if (frame.position && !this.positions.observe(frame.position.stream, frame.position.offset, frame.position.epoch)) {
          // already delivered: a replay and a live message may both carry it
        } else if (LIFECYCLE_EVENTS.indexOf(frame.event) !== -1) {
          console.warn(NAME + ': ignored a server event named like a client event: "' + frame.event + '".');
        } else if (frame.event === 'warning' && !this.listeners.has('warning')) {
          console.warn(NAME + ': warning from the server:', frame.data);
        } else {
          this.listeners.dispatch(frame.event, frame.data);
        }
        return;
    }
  }

  private handleClose(event: CloseEvent): void {
    this.websocket = null;
    this.requests.failSent('The connection closed before the server answered.');
    const retry = !this.stopped && this.settings.reconnect && !stopsReconnection(event.code);
    const exhausted = retry && this.reconnectAttempts >= this.settings.reconnect_attempts;
    this.currentState = retry && !exhausted ? 'connecting' : 'closed';
    // Listeners see the state that follows: 'connecting' when a reconnect is coming.
    this.listeners.dispatch('close', event);
    if (exhausted) {
      this.listeners.dispatch('reconnect_failed', { attempts: this.reconnectAttempts });
    } else if (retry && this.currentState === 'connecting' && !this.websocket) {
      this.scheduleReconnect();
    }
  }

  /** The browser went offline: the connection is lost, whatever the socket still says. */
  private dropLostConnection(): void {
    const socket = this.websocket;
    if (this.stopped || !socket || socket.readyState >= CLOSING) return;
    this.websocket = null; // its late events are ignored from now on
    socket.close();
    this.handleClose({ code: 1006, reason: 'The browser went offline.', wasClean: false } as CloseEvent);
  }

  /** The browser is online again: a pending reconnect need not wait for its delay. */
  private reconnectNow(): void {
    if (this.stopped || this.reconnectTimer === undefined) return;
    this.clearReconnectTimer();
    this.connect();
  }

  private scheduleReconnect(): void {
    const { reconnect_delay, reconnect_delay_max } = this.settings;
    const delay = reconnectDelay(this.reconnectAttempts, { initial: reconnect_delay, max: reconnect_delay_max });
    this.reconnectAttempts += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delay);
    this.listeners.dispatch('reconnecting', { attempt: this.reconnectAttempts, delay } satisfies ReconnectingData);
  }

  /** A warning of the client itself, delivered like the server's warnings. */
  private warn(message: string): void {
    if (this.listeners.has('warning')) {
      this.listeners.dispatch('warning', { message });
    } else {
      console.warn(NAME + ': ' + message);
    }
  }

  private clearReconnectTimer(): void {
    if (this.reconnectTimer !== undefined) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
    }
  }
}

function checkEventName(event: unknown): void {
  if (typeof event !== 'string' || event === '') {
    throw new TypeError(NAME + ': the event name should be a non-empty string.');
  }
}
