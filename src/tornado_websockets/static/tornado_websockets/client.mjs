/*! django-tornado-websockets client 0.3.0-dev.0 | MIT License | generated from client/src by `npm run build`: edit the sources, not this file */

// src/callable.ts
function callableWithoutNew(cls) {
  return new Proxy(cls, {
    apply: (target, _thisArg, args) => new target(...args)
  });
}

// src/address.ts
function normalisePath(path) {
  const trimmed = path.trim();
  return "/ws" + (trimmed.charAt(0) === "/" ? trimmed : "/" + trimmed);
}
function urlHost(host) {
  return host.indexOf(":") !== -1 && host.charAt(0) !== "[" ? "[" + host + "]" : host;
}
function currentLocation() {
  const location = typeof window === "object" && window !== null ? window.location : void 0;
  return location && location.hostname ? location : void 0;
}
function buildUrl(path, options, page) {
  if (options.url) {
    return options.url;
  }
  const secure = options.secure !== void 0 ? options.secure : page ? page.protocol === "https:" : false;
  const host = options.host !== void 0 ? options.host : page ? page.hostname : "localhost";
  const port = options.port !== void 0 ? String(options.port) : page ? page.port : "8000";
  return (secure ? "wss" : "ws") + "://" + urlHost(host) + (port ? ":" + port : "") + normalisePath(path);
}

// src/backoff.ts
function reconnectDelay(attempt, options, random = Math.random) {
  const ceiling = Math.min(options.max, options.initial * Math.pow(2, attempt));
  return Math.floor(random() * ceiling);
}

// src/close-codes.ts
function stopsReconnection(code) {
  return code === 1008 || code >= 4e3 && code <= 4999;
}

// src/emitter.ts
function isThenable(value) {
  return typeof value === "object" && value !== null && typeof value.then === "function";
}
var Emitter = class {
  constructor(owner) {
    this.owner = owner;
    this.entries = /* @__PURE__ */ new Map();
  }
  add(event, listener, once) {
    if (typeof listener !== "function") {
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
  remove(event, listener) {
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
  has(event) {
    return this.entries.has(event);
  }
  dispatch(event, data) {
    const list = this.entries.get(event);
    if (!list) {
      return;
    }
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
          result.then(void 0, (error) => this.report(event, error));
        }
      } catch (error) {
        this.report(event, error);
      }
    }
  }
  report(event, error) {
    console.error(this.owner + ': a listener of "' + event + '" failed:', error);
  }
};

// src/history.ts
var RECOVER_REQUEST = "$recover";
var RECOVER_ANSWER = "$recovered";
var RECOVER_QUERY = "$recover=1";
var BROADCAST = "";
var STORAGE_PREFIX = "tornado-websockets:positions:";
function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
function positionOf(frame) {
  const { offset, epoch, room } = frame;
  if (typeof offset !== "number" || typeof epoch !== "string") return void 0;
  return { stream: typeof room === "string" ? room : BROADCAST, offset, epoch };
}
function sessionStore() {
  try {
    return typeof sessionStorage === "object" && sessionStorage !== null ? sessionStorage : void 0;
  } catch (_error) {
    return void 0;
  }
}
var Positions = class {
  /** With `resume`, positions are kept in sessionStorage under the URL: a reload recovers too. */
  constructor(url, resume) {
    this.streams = /* @__PURE__ */ new Map();
    this.key = STORAGE_PREFIX + url;
    this.storage = resume ? sessionStore() : void 0;
    const saved = this.storage ? this.storage.getItem(this.key) : null;
    if (saved) {
      try {
        const parsed = JSON.parse(saved);
        if (isObject(parsed)) {
          Object.keys(parsed).forEach((stream) => {
            const position = parsed[stream];
            if (isObject(position) && typeof position.offset === "number" && typeof position.epoch === "string") {
              this.streams.set(stream, { offset: position.offset, epoch: position.epoch });
            }
          });
        }
      } catch (_error) {
      }
    }
  }
  /** Whether there is anything to recover. */
  get any() {
    return this.streams.size > 0;
  }
  /** `url` with the flag that asks the server to hold new messages until the replay. */
  recoveringUrl(url) {
    return url + (url.indexOf("?") === -1 ? "?" : "&") + RECOVER_QUERY;
  }
  /**
   * Records a stream message; false when the client already has it (same epoch, offset at or
   * below the last one), in which case it must not be delivered twice.
   */
  observe(stream, offset, epoch) {
    const known = this.streams.get(stream);
    if (known && known.epoch === epoch && offset <= known.offset) return false;
    this.streams.set(stream, { offset, epoch });
    this.save();
    return true;
  }
  /** The data of the `$recover` request. */
  request() {
    const data = { rooms: {} };
    this.streams.forEach((position, stream) => {
      if (stream === BROADCAST) data.broadcast = position;
      else data.rooms[stream] = position;
    });
    return data;
  }
  /** Takes the server's answer: each stream continues from where the server stands now. */
  adopt(answer) {
    const take = (stream, detail) => {
      if (!detail) return;
      if (typeof detail.offset === "number" && typeof detail.epoch === "string") {
        const known = this.streams.get(stream);
        if (!known || known.epoch !== detail.epoch || known.offset < detail.offset) {
          this.streams.set(stream, { offset: detail.offset, epoch: detail.epoch });
        }
      } else if (!detail.recovered) {
        this.streams.delete(stream);
      }
    };
    take(BROADCAST, answer.broadcast);
    Object.keys(answer.rooms).forEach((room) => take(room, answer.rooms[room]));
    this.save();
  }
  /** Reads the `$recovered` data, whatever the server sent. */
  static answer(data) {
    const source = isObject(data) ? data : {};
    const rooms = isObject(source.rooms) ? source.rooms : {};
    const result = {
      recovered: source.recovered === true,
      missed: typeof source.missed === "number" ? source.missed : 0,
      rooms
    };
    if (isObject(source.broadcast)) result.broadcast = source.broadcast;
    if (typeof source.reason === "string") result.reason = source.reason;
    return result;
  }
  save() {
    if (!this.storage) return;
    const saved = {};
    this.streams.forEach((position, stream) => {
      saved[stream] = position;
    });
    try {
      this.storage.setItem(this.key, JSON.stringify(saved));
    } catch (_error) {
    }
  }
};

// src/frames.ts
function normaliseData(data) {
  if (data === void 0 || data === null) {
    return {};
  }
  if (typeof data === "object" && !Array.isArray(data)) {
    return data;
  }
  return { message: data };
}
function encodeEvent(event, data, id) {
  const frame = { event, data };
  if (id !== void 0) {
    frame.id = id;
  }
  return JSON.stringify(frame);
}
function isObject2(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
function parseServerFrame(text) {
  if (typeof text !== "string") {
    return { kind: "invalid", reason: "a binary frame" };
  }
  let frame;
  try {
    frame = JSON.parse(text);
  } catch (_error) {
    return { kind: "invalid", reason: "invalid JSON" };
  }
  if (!isObject2(frame)) {
    return { kind: "invalid", reason: "JSON that is not an object" };
  }
  if (typeof frame.ack === "number") {
    const error = frame.error;
    if (error !== void 0 && error !== null) {
      const message = isObject2(error) && typeof error.message === "string" ? error.message : String(error);
      return { kind: "ack-error", id: frame.ack, message };
    }
    return { kind: "ack", id: frame.ack, data: frame.data };
  }
  if (typeof frame.event === "string" && frame.event !== "") {
    const parsed = { kind: "event", event: frame.event, data: frame.data === void 0 ? {} : frame.data };
    const position = positionOf(frame);
    if (position) parsed.position = position;
    return parsed;
  }
  return { kind: "invalid", reason: "a frame with neither an event nor an ack" };
}

// src/network.ts
function watchNetwork(offline, online) {
  const target = typeof window === "object" && window !== null ? window : void 0;
  if (!target || typeof target.addEventListener !== "function") return () => void 0;
  target.addEventListener("offline", offline);
  target.addEventListener("online", online);
  return () => {
    target.removeEventListener("offline", offline);
    target.removeEventListener("online", online);
  };
}

// src/module.ts
var Module = class _Module {
  constructor(name = "") {
    /** The connection this module is bound to, or null until `bind`. */
    this.websocket = null;
    this.waiting = [];
    if (this.constructor === _Module) {
      throw new TypeError("TornadoWebSocket.Module is abstract: extend it.");
    }
    this.name = "module_" + name;
  }
  /** The full name of one of this module's events, as it travels on the wire. */
  eventName(event) {
    return this.name + "_" + event;
  }
  /** Binds the module to a connection; `tws.bind(module)` does the same. */
  bind(websocket) {
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
  on(event, listener) {
    return this.listen(event, listener, false);
  }
  once(event, listener) {
    return this.listen(event, listener, true);
  }
  off(event, listener) {
    if (this.websocket) {
      this.websocket.off(this.eventName(event), listener);
    } else {
      const kept = this.waiting.filter((entry) => entry.event !== event || listener && entry.listener !== listener);
      this.waiting.splice(0, this.waiting.length, ...kept);
    }
    return this;
  }
  emit(event, data) {
    this.bound().emit(this.eventName(event), data);
  }
  request(event, data, options) {
    return this.bound().request(this.eventName(event), data, options);
  }
  listen(event, listener, once) {
    if (typeof listener !== "function") {
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
  bound() {
    if (!this.websocket) {
      throw new Error('Module "' + this.name + '": bind it to a TornadoWebSocket before sending.');
    }
    return this.websocket;
  }
};

// src/options.ts
var DEFAULTS = {
  auto_connect: true,
  reconnect: true,
  reconnect_delay: 1e3,
  reconnect_delay_max: 3e4,
  reconnect_attempts: Infinity,
  queue_limit: 100,
  request_timeout: 1e4,
  resume: false
};
function connectionSettings(options) {
  const settings = Object.assign({}, DEFAULTS);
  Object.keys(DEFAULTS).forEach((key) => {
    const value = options[key];
    if (value === void 0) return;
    if (typeof value !== typeof DEFAULTS[key] || typeof value === "number" && !(value >= 0)) {
      throw new TypeError('TornadoWebSocket: option "' + key + '" should be a ' + typeof DEFAULTS[key] + " (>= 0).");
    }
    settings[key] = value;
  });
  return settings;
}

// src/outbox.ts
var Outbox = class {
  constructor(limit) {
    this.limit = limit;
    this.frames = [];
  }
  get size() {
    return this.frames.length;
  }
  /** Queues the frame; returns the frame dropped to make room, if any. */
  push(frame) {
    if (this.limit <= 0) {
      return frame;
    }
    this.frames.push(frame);
    return this.frames.length > this.limit ? this.frames.shift() : void 0;
  }
  /** The oldest frame, removed from the queue. */
  shift() {
    return this.frames.shift();
  }
  clear() {
    const frames = this.frames;
    this.frames = [];
    return frames;
  }
};

// src/request-error.ts
var RequestError = class extends Error {
  constructor(message, event, reason) {
    super(message);
    this.event = event;
    this.reason = reason;
    this.name = "RequestError";
  }
};

// src/requests.ts
var PendingRequests = class {
  constructor() {
    this.lastId = 0;
    this.pending = /* @__PURE__ */ new Map();
  }
  get size() {
    return this.pending.size;
  }
  /** A new request; it fails by itself after `timeout` ms (none when 0 or Infinity). */
  create(event, timeout) {
    const id = ++this.lastId;
    const promise = new Promise((resolve, reject) => {
      const entry = { event, resolve, reject, timer: void 0, sent: false };
      if (timeout > 0 && timeout !== Infinity) {
        entry.timer = setTimeout(() => {
          this.fail(id, 'The server did not answer "' + event + '" within ' + timeout + " ms.", "timeout");
        }, timeout);
      }
      this.pending.set(id, entry);
    });
    return { id, promise };
  }
  markSent(id) {
    const entry = this.pending.get(id);
    if (entry) entry.sent = true;
  }
  /** Settles the request with the server's answer; an unknown id (late, after a timeout) is ignored. */
  resolve(id, data) {
    const entry = this.take(id);
    if (entry) entry.resolve(data);
  }
  fail(id, message, reason) {
    const entry = this.take(id);
    if (entry) entry.reject(new RequestError(message, entry.event, reason));
  }
  /** Fails the requests already sent on a connection that closed: their answer can no longer come. */
  failSent(message) {
    this.pending.forEach((entry, id) => {
      if (entry.sent) this.fail(id, message, "closed");
    });
  }
  failAll(message) {
    this.pending.forEach((_entry, id) => this.fail(id, message, "closed"));
  }
  take(id) {
    const entry = this.pending.get(id);
    if (entry) {
      this.pending.delete(id);
      if (entry.timer !== void 0) clearTimeout(entry.timer);
    }
    return entry;
  }
};

// src/presence.ts
var PRESENCE_REQUEST = "$presence";
var PRESENCE_STATS_REQUEST = "$presence_stats";
var PRESENCE_DIFF = "$presence_diff";
function isEntry(value) {
  return typeof value === "object" && value !== null && typeof value.client === "string";
}
function dispatchPresenceDiff(listeners, data) {
  if (typeof data !== "object" || data === null) return;
  const raw = data;
  const room = typeof raw.room === "string" ? raw.room : null;
  const joins = Array.isArray(raw.joins) ? raw.joins.filter(isEntry) : [];
  const leaves = Array.isArray(raw.leaves) ? raw.leaves.filter(isEntry) : [];
  const diff = { room, joins, leaves };
  if (raw.overflow === true) diff.overflow = true;
  listeners.dispatch("presence", diff);
  for (const entry of joins) listeners.dispatch("join", { client: entry.client, user: entry.user, room });
  for (const entry of leaves) listeners.dispatch("leave", { client: entry.client, user: entry.user, room });
}

// src/tornado-websocket.ts
var LISTENED_LIBRARY_EVENTS = ["$admin.snapshot"];
var LIFECYCLE_EVENTS = ["open", "close", "error", "reconnect", "reconnecting", "reconnect_failed", "recovered"];
var NAME = "TornadoWebSocket";
var OPEN = 1;
var CLOSING = 2;
var TornadoWebSocketClient = class {
  constructor(path, options = {}) {
    /** The browser's WebSocket of the current connection, or null between connections. */
    this.websocket = null;
    this.listeners = new Emitter(NAME);
    this.requests = new PendingRequests();
    this.currentState = "closed";
    this.stopped = false;
    /** Reconnect attempts made since the last open connection. */
    this.reconnectAttempts = 0;
    /** The current connection was opened to recover what was missed. */
    this.recovering = false;
    if (typeof path !== "string") {
      throw new TypeError(NAME + ": the path should be a string, like the path of the server's WebSocket(path).");
    }
    this.path = normalisePath(path);
    this.url = buildUrl(path, options, currentLocation());
    this.settings = connectionSettings(options);
    this.outbox = new Outbox(this.settings.queue_limit);
    this.positions = new Positions(this.url, this.settings.resume);
    watchNetwork(
      () => this.dropLostConnection(),
      () => this.reconnectNow()
    );
    if (this.settings.auto_connect) {
      this.connect();
    }
  }
  /** `connecting` (opening, or waiting to reconnect), `open`, or `closed` (for good, until `connect()`). */
  get state() {
    return this.currentState;
  }
  /** Opens the connection; does nothing when it is open or opening. */
  connect() {
    if (this.websocket && this.websocket.readyState <= OPEN) {
      return this;
    }
    this.clearReconnectTimer();
    this.stopped = false;
    let socket;
    this.recovering = this.positions.any;
    try {
      socket = new WebSocket(this.recovering ? this.positions.recoveringUrl(this.url) : this.url);
    } catch (error) {
      this.currentState = "closed";
      throw error;
    }
    this.currentState = "connecting";
    this.websocket = socket;
    socket.onopen = (event) => {
      if (socket === this.websocket) this.handleOpen(event);
    };
    socket.onmessage = (event) => {
      if (socket === this.websocket) this.handleMessage(event.data);
    };
    socket.onerror = (event) => {
      if (socket === this.websocket) this.listeners.dispatch("error", event);
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
  close(code, reason) {
    this.stopped = true;
    this.clearReconnectTimer();
    this.outbox.clear();
    this.requests.failAll("The connection was closed by the page.");
    this.currentState = "closed";
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
  on(event, listener) {
    this.listeners.add(event, listener, false);
    return this;
  }
  /** Like `on`, for the next `event` only. */
  once(event, listener) {
    this.listeners.add(event, listener, true);
    return this;
  }
  /** Removes `listener` from `event`, or every listener of `event` when none is given. */
  off(event, listener) {
    this.listeners.remove(event, listener);
    return this;
  }
  /** Sends `event` with `data` (normalised as the seed says); queued while not connected. */
  emit(event, data) {
    checkEventName(event);
    this.send({ event, text: encodeEvent(event, normaliseData(data)) });
  }
  /** Sends `event` and resolves with what the server's handler returned (its ack). */
  request(event, data, options = {}) {
    checkEventName(event);
    const timeout = options.timeout !== void 0 ? options.timeout : this.settings.request_timeout;
    const { id, promise } = this.requests.create(event, timeout);
    this.send({ event, id, text: encodeEvent(event, normaliseData(data), id) });
    return promise;
  }
  /**
   * Everyone present in `room` (null or omitted: the whole application), on every server
   * process, when the server's WebSocket has `presence=True`. Rejects when this client may not
   * see that room (by default: rooms it is not in).
   */
  presence(room = null, options = {}) {
    return this.request(PRESENCE_REQUEST, { room }, options);
  }
  /** `{clients, users}` of `room`: a user with several tabs counts once. */
  presenceStats(room = null, options = {}) {
    return this.request(PRESENCE_STATS_REQUEST, { room }, options);
  }
  /** Binds a module (a `TornadoWebSocket.Module`), as the server's `ws.bind(module)`. */
  bind(module) {
    module.bind(this);
    return this;
  }
  send(frame) {
    const socket = this.websocket;
    if (this.currentState === "open" && socket && socket.readyState === OPEN) {
      this.transmit(socket, frame);
      return;
    }
    const dropped = this.outbox.push(frame);
    if (dropped) {
      const message = 'The queue of frames waiting for the connection is full: "' + dropped.event + '" was dropped.';
      this.warn(message);
      if (dropped.id !== void 0) this.requests.fail(dropped.id, message, "dropped");
    }
  }
  transmit(socket, frame) {
    socket.send(frame.text);
    if (frame.id !== void 0) this.requests.markSent(frame.id);
  }
  handleOpen(event) {
    const attempts = this.reconnectAttempts;
    this.reconnectAttempts = 0;
    this.currentState = "open";
    this.listeners.dispatch("open", event);
    let frame;
    while (this.currentState === "open" && this.websocket && (frame = this.outbox.shift())) {
      this.transmit(this.websocket, frame);
    }
    if (this.recovering && this.currentState === "open" && this.websocket) {
      const request = this.positions.request();
      this.transmit(this.websocket, { event: RECOVER_REQUEST, text: encodeEvent(RECOVER_REQUEST, request) });
    }
    if (attempts > 0) {
      this.listeners.dispatch("reconnect", { attempt: attempts });
    }
  }
  handleMessage(text) {
    const frame = parseServerFrame(text);
    switch (frame.kind) {
      case "ack":
        this.requests.resolve(frame.id, frame.data);
        return;
      case "ack-error":
        this.requests.fail(frame.id, frame.message, "server");
        return;
      case "invalid":
        console.warn(NAME + ": ignored a frame from the server: " + frame.reason + ".");
        return;
      case "event":
        if (frame.event === RECOVER_ANSWER) {
          const answer = Positions.answer(frame.data);
          this.positions.adopt(answer);
          this.listeners.dispatch("recovered", answer);
        } else if (frame.event === PRESENCE_DIFF) {
          dispatchPresenceDiff(this.listeners, frame.data);
        } else if (frame.event.charAt(0) === "$" && LISTENED_LIBRARY_EVENTS.indexOf(frame.event) === -1) {
        } else if (frame.position && !this.positions.observe(frame.position.stream, frame.position.offset, frame.position.epoch)) {
        } else if (LIFECYCLE_EVENTS.indexOf(frame.event) !== -1) {
          console.warn(NAME + ': ignored a server event named like a client event: "' + frame.event + '".');
        } else if (frame.event === "warning" && !this.listeners.has("warning")) {
          console.warn(NAME + ": warning from the server:", frame.data);
        } else {
          this.listeners.dispatch(frame.event, frame.data);
        }
        return;
    }
  }
  handleClose(event) {
    this.websocket = null;
    this.requests.failSent("The connection closed before the server answered.");
    const retry = !this.stopped && this.settings.reconnect && !stopsReconnection(event.code);
    const exhausted = retry && this.reconnectAttempts >= this.settings.reconnect_attempts;
    this.currentState = retry && !exhausted ? "connecting" : "closed";
    this.listeners.dispatch("close", event);
    if (exhausted) {
      this.listeners.dispatch("reconnect_failed", { attempts: this.reconnectAttempts });
    } else if (retry && this.currentState === "connecting" && !this.websocket) {
      this.scheduleReconnect();
    }
  }
  /** The browser went offline: the connection is lost, whatever the socket still says. */
  dropLostConnection() {
    const socket = this.websocket;
    if (this.stopped || !socket || socket.readyState >= CLOSING) return;
    this.websocket = null;
    socket.close();
    this.handleClose({ code: 1006, reason: "The browser went offline.", wasClean: false });
  }
  /** The browser is online again: a pending reconnect need not wait for its delay. */
  reconnectNow() {
    if (this.stopped || this.reconnectTimer === void 0) return;
    this.clearReconnectTimer();
    this.connect();
  }
  scheduleReconnect() {
    const { reconnect_delay, reconnect_delay_max } = this.settings;
    const delay = reconnectDelay(this.reconnectAttempts, { initial: reconnect_delay, max: reconnect_delay_max });
    this.reconnectAttempts += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = void 0;
      this.connect();
    }, delay);
    this.listeners.dispatch("reconnecting", { attempt: this.reconnectAttempts, delay });
  }
  /** A warning of the client itself, delivered like the server's warnings. */
  warn(message) {
    if (this.listeners.has("warning")) {
      this.listeners.dispatch("warning", { message });
    } else {
      console.warn(NAME + ": " + message);
    }
  }
  clearReconnectTimer() {
    if (this.reconnectTimer !== void 0) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = void 0;
    }
  }
};
/** The base of client modules (`TornadoWebSocket.Module` in the 0.2.0 client). */
TornadoWebSocketClient.Module = Module;
/** The class of `request()` rejections. */
TornadoWebSocketClient.RequestError = RequestError;
function checkEventName(event) {
  if (typeof event !== "string" || event === "") {
    throw new TypeError(NAME + ": the event name should be a non-empty string.");
  }
}

// src/progressbar/progress-state.ts
function initialProgressState() {
  return { initialised: false, indeterminate: false, min: 0, max: 100, current: 0, label: "", done: false };
}
function fields(data) {
  return typeof data === "object" && data !== null ? data : {};
}
function numberOr(value, fallback) {
  return typeof value === "number" && isFinite(value) ? value : fallback;
}
function withLabel(state, label) {
  return typeof label === "string" ? Object.assign(state, { label }) : state;
}
function applyInit(state, data) {
  const init = fields(data);
  const next = Object.assign({}, state, { initialised: true, done: false });
  next.indeterminate = init.indeterminate === true;
  if (!next.indeterminate) {
    next.min = numberOr(init.min, 0);
    next.max = numberOr(init.max, 100);
    next.current = numberOr(init.current, numberOr(init.value, next.min));
  }
  next.label = typeof init.label === "string" ? init.label : "";
  return next;
}
function applyUpdate(state, data) {
  const update = fields(data);
  const next = Object.assign({}, state);
  if (!next.indeterminate) {
    next.current = numberOr(update.current, numberOr(update.value, next.current));
    next.done = next.done && next.current >= next.max;
  }
  return withLabel(next, update.label);
}
function applyDone(state) {
  return Object.assign({}, state, { done: true });
}
function progressionOf(state) {
  if (state.indeterminate) {
    return null;
  }
  const span = state.max - state.min;
  const ratio = span > 0 ? (state.current - state.min) / span : state.current >= state.max ? 1 : 0;
  return Math.round(Math.min(1, Math.max(0, ratio)) * 100);
}
function phaseOf(state) {
  if (!state.initialised) return "waiting";
  if (state.done || !state.indeterminate && state.current >= state.max) return "done";
  if (state.indeterminate) return "indeterminate";
  return state.current <= state.min ? "waiting" : "running";
}
function formatProgression(format, progression) {
  return format.replace(/\{\{\s*progress\s*\}\}/g, String(progression));
}

// src/progressbar/engine.ts
var mountedEngines = 0;
var Engine = class {
  constructor(container, defaults, options) {
    /** The element this engine appended to the container; null until mounted. */
    this.element = null;
    this.labelId = "";
    if (!container || typeof container.appendChild !== "function" || !container.ownerDocument) {
      throw new TypeError("ModuleProgressBar: the engine's container should be an HTML element.");
    }
    this.container = container;
    this.options = Object.assign({}, defaults, options);
  }
  mount() {
    if (this.element) {
      return;
    }
    const document = this.container.ownerDocument;
    const root = document.createElement("div");
    root.className = "tws-progressbar";
    this.label = document.createElement("div");
    this.labelId = "tws-progressbar-label-" + ++mountedEngines;
    this.label.setAttribute("id", this.labelId);
    this.options.label_classes.forEach((name) => this.label.classList.add(name));
    if (!this.options.label_visible) {
      this.label.style.display = "none";
    }
    this.progression = document.createElement("span");
    this.progression.classList.add("progressbar-progression");
    const bar = this.createBar(document);
    if (this.options.label_position === "bottom") {
      root.appendChild(bar);
      root.appendChild(this.label);
    } else {
      root.appendChild(this.label);
      root.appendChild(bar);
    }
    this.container.appendChild(root);
    this.element = root;
  }
  render(state) {
    this.mount();
    const progression = progressionOf(state);
    this.label.textContent = state.label;
    this.progression.textContent = progression === null ? "" : formatProgression(this.options.progression_format, progression);
    this.element.setAttribute("data-state", phaseOf(state));
    this.draw(state, progression);
  }
  /** The ARIA values of a progress bar; an indeterminate one has no aria-valuenow (WAI-ARIA). */
  setAriaValues(element, state) {
    element.setAttribute("aria-labelledby", this.labelId);
    element.setAttribute("aria-valuemin", String(state.min));
    element.setAttribute("aria-valuemax", String(state.max));
    if (state.indeterminate) {
      element.removeAttribute("aria-valuenow");
    } else {
      element.setAttribute("aria-valuenow", String(state.current));
    }
  }
};

// src/progressbar/engine-bootstrap.ts
var CONTEXTS = ["primary", "secondary", "success", "info", "warning", "danger", "light", "dark"];
var DEFAULTS2 = {
  label_visible: true,
  label_classes: ["progressbar-label"],
  label_position: "top",
  progressbar_context: "info",
  progressbar_striped: false,
  progressbar_animated: false,
  progression_visible: true,
  progression_format: "{{progress}} %"
};
var EngineBootstrap = class extends Engine {
  constructor(container, options) {
    super(container, DEFAULTS2, options);
  }
  createBar(document) {
    this.progress = document.createElement("div");
    this.progress.className = "progress";
    this.progress.setAttribute("role", "progressbar");
    this.bar = document.createElement("div");
    this.bar.className = "progress-bar";
    if (CONTEXTS.indexOf(this.options.progressbar_context) !== -1) {
      this.bar.classList.add("bg-" + this.options.progressbar_context);
    }
    if (!this.options.progression_visible) {
      this.progression.classList.add("visually-hidden");
    }
    this.bar.appendChild(this.progression);
    this.progress.appendChild(this.bar);
    return this.progress;
  }
  draw(state, progression) {
    this.setAriaValues(this.progress, state);
    const indeterminate = progression === null;
    const striped = indeterminate || this.options.progressbar_striped;
    this.bar.style.width = (indeterminate ? 100 : progression) + "%";
    this.bar.classList.toggle("progress-bar-striped", striped);
    this.bar.classList.toggle("progress-bar-animated", indeterminate || striped && this.options.progressbar_animated);
  }
};

// src/progressbar/engine-html5.ts
var DEFAULTS3 = {
  label_visible: true,
  label_classes: ["progressbar-label"],
  label_position: "top",
  progression_visible: true,
  progression_format: "{{progress}}%",
  progression_position: "right"
};
var EngineHtml5 = class extends Engine {
  constructor(container, options) {
    super(container, DEFAULTS3, options);
  }
  createBar(document) {
    const wrapper = document.createElement("div");
    wrapper.className = "progressbar-html5";
    this.bar = document.createElement("progress");
    if (!this.options.progression_visible) {
      this.progression.style.display = "none";
    }
    if (this.options.progression_position === "left") {
      wrapper.appendChild(this.progression);
      wrapper.appendChild(this.bar);
    } else {
      wrapper.appendChild(this.bar);
      wrapper.appendChild(this.progression);
    }
    return wrapper;
  }
  draw(state, progression) {
    this.setAriaValues(this.bar, state);
    if (progression === null) {
      this.bar.removeAttribute("value");
      return;
    }
    const span = state.max - state.min;
    if (span > 0) {
      this.bar.setAttribute("max", String(span));
      this.bar.setAttribute("value", String(Math.min(span, Math.max(0, state.current - state.min))));
    } else {
      this.bar.setAttribute("max", "1");
      this.bar.setAttribute("value", progression === 100 ? "1" : "0");
    }
  }
};

// src/progressbar/module-progressbar.ts
var ModuleProgressBar = class extends Module {
  /** `name` as given to the server's `ProgressBar(name)`; none for an unnamed bar. */
  constructor(name = "") {
    super(name ? "progressbar_" + name : "progressbar");
    /** The engine drawing the bar, or null: the values are kept either way. */
    this.engine = null;
    this.state = initialProgressState();
    this.on("init", (data) => this.apply(applyInit(this.state, data)));
    this.on("update", (data) => this.apply(applyUpdate(this.state, data)));
    this.on("done", () => this.apply(applyDone(this.state)));
  }
  set_engine(engine) {
    if (!engine || typeof engine.mount !== "function" || typeof engine.render !== "function") {
      throw new TypeError("ModuleProgressBar: the engine should have mount() and render(state) methods.");
    }
    this.engine = engine;
    engine.mount();
    engine.render(this.state);
    return this;
  }
  get min() {
    return this.state.min;
  }
  get max() {
    return this.state.max;
  }
  get current() {
    return this.state.current;
  }
  /** Whole percent from 0 to 100, or null while the bar is indeterminate. */
  get progression() {
    return progressionOf(this.state);
  }
  get indeterminate() {
    return this.state.indeterminate;
  }
  /** The last label received from the server. */
  get label() {
    return this.state.label;
  }
  apply(state) {
    this.state = state;
    if (this.engine) {
      this.engine.render(state);
    }
  }
};
/** Where pages written for the 0.2.0 client look for the engines. */
ModuleProgressBar.EngineHtml5 = EngineHtml5;
ModuleProgressBar.EngineBootstrap = EngineBootstrap;

// src/index.ts
var TornadoWebSocket = callableWithoutNew(TornadoWebSocketClient);
function tws(path, options) {
  return new TornadoWebSocketClient(path, options);
}
export {
  Engine,
  EngineBootstrap,
  EngineHtml5,
  Module,
  ModuleProgressBar,
  RequestError,
  TornadoWebSocket,
  TornadoWebSocketClient,
  tws
};
