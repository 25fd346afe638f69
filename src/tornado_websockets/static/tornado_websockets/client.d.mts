/*! django-tornado-websockets client 0.3.0-dev.0 | MIT License | generated from client/src by `npm run build`: edit the sources, not this file */

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
export type Listener<T = any> = (data: T) => unknown;
/**
 * Base of client modules, the counterpart of the server's `Module`: every event it sends or
 * listens to is prefixed exactly as the server prefixes it, `'module_' + name + '_' + event`.
 * Listeners added before the module is bound are attached when it is.
 */
export declare abstract class Module {
	/** The prefix of the module's events, without the trailing "_": `'module_' + name`. */
	readonly name: string;
	/** The connection this module is bound to, or null until `bind`. */
	websocket: TornadoWebSocketClient | null;
	private readonly waiting;
	constructor(name?: string);
	/** The full name of one of this module's events, as it travels on the wire. */
	eventName(event: string): string;
	/** Binds the module to a connection; `tws.bind(module)` does the same. */
	bind(websocket: TornadoWebSocketClient): this;
	on<T = any>(event: string, listener: Listener<T>): this;
	once<T = any>(event: string, listener: Listener<T>): this;
	off(event: string, listener?: Listener): this;
	emit(event: string, data?: unknown): void;
	request<T = unknown>(event: string, data?: unknown, options?: RequestOptions): Promise<T>;
	private listen;
	private bound;
}
/** Why a `request()` was rejected. */
export type RequestFailure = "server" | "timeout" | "closed" | "dropped";
/** The rejection of `request()`. */
export declare class RequestError extends Error {
	/** The event that was requested. */
	readonly event: string;
	/**
	 * `server`: the handler raised (the message is the server's); `timeout`: no answer in time;
	 * `closed`: the connection closed before the answer came; `dropped`: the request was pushed
	 * out of the full queue before it could be sent.
	 */
	readonly reason: RequestFailure;
	readonly name = "RequestError";
	constructor(message: string, 
	/** The event that was requested. */
	event: string, 
	/**
	 * `server`: the handler raised (the message is the server's); `timeout`: no answer in time;
	 * `closed`: the connection closed before the answer came; `dropped`: the request was pushed
	 * out of the full queue before it could be sent.
	 */
	reason: RequestFailure);
}
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
export type ConnectionState = "connecting" | "open" | "closed";
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
 * A connection to one `WebSocket(path)` application of the server. Exported as
 * `TornadoWebSocket`, which is this class made callable without `new`.
 */
export declare class TornadoWebSocketClient {
	/** The base of client modules (`TornadoWebSocket.Module` in the 0.2.0 client). */
	static Module: typeof Module;
	/** The class of `request()` rejections. */
	static RequestError: typeof RequestError;
	/** The path on the server, as the server registers it: `'/ws' + path`. */
	readonly path: string;
	/** The URL the client connects to. */
	readonly url: string;
	/** The browser's WebSocket of the current connection, or null between connections. */
	websocket: WebSocket | null;
	private readonly settings;
	private readonly listeners;
	private readonly outbox;
	private readonly requests;
	private currentState;
	private stopped;
	/** Reconnect attempts made since the last open connection. */
	private reconnectAttempts;
	private reconnectTimer;
	/** Last offset and epoch of each history stream received (see history.ts). */
	private readonly positions;
	/** The current connection was opened to recover what was missed. */
	private recovering;
	constructor(path: string, options?: TornadoWebSocketOptions);
	/** `connecting` (opening, or waiting to reconnect), `open`, or `closed` (for good, until `connect()`). */
	get state(): ConnectionState;
	/** Opens the connection; does nothing when it is open or opening. */
	connect(): this;
	/**
	 * Closes the connection for good: no reconnection, pending requests fail, queued frames are
	 * discarded. `connect()` opens it again.
	 */
	close(code?: number, reason?: string): this;
	/**
	 * Calls `listener` with the data of every `event`: a server event, or `open`, `close`,
	 * `error` (with the browser's Event), `warning`, `reconnecting`, `reconnect`, `reconnect_failed`,
	 * `recovered` (after a reconnect, for WebSockets with history: see `RecoveredData`),
	 * and, with presence events on: `join`, `leave` (a `PresenceChange`) and `presence` (a `PresenceDiff`).
	 */
	on<T = any>(event: string, listener: Listener<T>): this;
	/** Like `on`, for the next `event` only. */
	once<T = any>(event: string, listener: Listener<T>): this;
	/** Removes `listener` from `event`, or every listener of `event` when none is given. */
	off(event: string, listener?: Listener): this;
	/** Sends `event` with `data` (normalised as the seed says); queued while not connected. */
	emit(event: string, data?: unknown): void;
	/** Sends `event` and resolves with what the server's handler returned (its ack). */
	request<T = unknown>(event: string, data?: unknown, options?: RequestOptions): Promise<T>;
	/**
	 * Everyone present in `room` (null or omitted: the whole application), on every server
	 * process, when the server's WebSocket has `presence=True`. Rejects when this client may not
	 * see that room (by default: rooms it is not in).
	 */
	presence(room?: string | null, options?: RequestOptions): Promise<PresenceEntry[]>;
	/** `{clients, users}` of `room`: a user with several tabs counts once. */
	presenceStats(room?: string | null, options?: RequestOptions): Promise<PresenceStats>;
	/** Binds a module (a `TornadoWebSocket.Module`), as the server's `ws.bind(module)`. */
	bind(module: Module): this;
	private send;
	private transmit;
	private handleOpen;
	private handleMessage;
	private handleClose;
	/** The browser went offline: the connection is lost, whatever the socket still says. */
	private dropLostConnection;
	/** The browser is online again: a pending reconnect need not wait for its delay. */
	private reconnectNow;
	private scheduleReconnect;
	/** A warning of the client itself, delivered like the server's warnings. */
	private warn;
	private clearReconnectTimer;
}
export type EventData = Record<string, unknown>;
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
/** What a progress bar shows, as the server's init, update and done events made it. */
export interface ProgressState {
	/** False until the first init event. */
	initialised: boolean;
	indeterminate: boolean;
	min: number;
	max: number;
	current: number;
	/** The last label received: it stays until another label or an init arrives. */
	label: string;
	/** True after a done event, until the next init or an update below max. */
	done: boolean;
}
/**
 * `waiting` before the first init and while a determinate bar is at its min (nothing done yet,
 * as after a reset); `done` after a done event or once current reaches max.
 */
export type ProgressPhase = "waiting" | "indeterminate" | "running" | "done";
/** What ModuleProgressBar needs of an engine: implement it to draw a bar your own way. */
export interface ProgressBarEngine {
	/** Creates the elements; called once, by `set_engine`. */
	mount(): void;
	/** Shows `state`; called after `mount` and after every init, update and done event. */
	render(state: Readonly<ProgressState>): void;
}
/** Options both built-in engines share, named as in the 0.2.0 client. */
export interface CommonEngineOptions {
	/** Show the label (default true). */
	label_visible: boolean;
	/** CSS classes of the label (default `['progressbar-label']`). */
	label_classes: string[];
	/** The label above (`'top'`, default) or below (`'bottom'`) the bar. */
	label_position: "top" | "bottom";
	/** Show the progression text (default true). */
	progression_visible: boolean;
	/** Text of the progression; `{{progress}}` is replaced by the whole percent. */
	progression_format: string;
}
/**
 * Base of the built-in engines: a root element (`.tws-progressbar`, its `data-state` telling
 * the phase), a label and a progression text; subclasses build and draw the bar itself.
 */
export declare abstract class Engine<Options extends CommonEngineOptions> implements ProgressBarEngine {
	readonly container: HTMLElement;
	readonly options: Options;
	/** The element this engine appended to the container; null until mounted. */
	element: HTMLElement | null;
	protected label: HTMLElement;
	protected progression: HTMLElement;
	private labelId;
	constructor(container: HTMLElement, defaults: Options, options: Partial<Options> | undefined);
	mount(): void;
	render(state: Readonly<ProgressState>): void;
	/** Builds the bar (and places `this.progression` in it or beside it); returns what to mount. */
	protected abstract createBar(document: Document): HTMLElement;
	/** Shows `state` on the bar; `progression` is null when indeterminate. */
	protected abstract draw(state: Readonly<ProgressState>, progression: number | null): void;
	/** The ARIA values of a progress bar; an indeterminate one has no aria-valuenow (WAI-ARIA). */
	protected setAriaValues(element: HTMLElement, state: Readonly<ProgressState>): void;
}
export interface BootstrapEngineOptions extends CommonEngineOptions {
	/** Colour of the bar: a Bootstrap 5 theme colour such as `'info'` (default) or `'success'`. */
	progressbar_context: string;
	/** Stripes on the bar (default false). Indeterminate bars are always striped. */
	progressbar_striped: boolean;
	/** Moving stripes (default false; needs `progressbar_striped`). Indeterminate bars always move. */
	progressbar_animated: boolean;
}
/**
 * Bootstrap 5 markup: `.progress` (role=progressbar and its ARIA values) around `.progress-bar`
 * (its width the progression), the progression text inside the bar.
 */
export declare class EngineBootstrap extends Engine<BootstrapEngineOptions> {
	private progress;
	private bar;
	constructor(container: HTMLElement, options?: Partial<BootstrapEngineOptions>);
	protected createBar(document: Document): HTMLElement;
	protected draw(state: Readonly<ProgressState>, progression: number | null): void;
}
export interface Html5EngineOptions extends CommonEngineOptions {
	/** The progression text left (`'left'`) or right (`'right'`, default) of the bar. */
	progression_position: "left" | "right";
}
/**
 * The native `<progress>` element. It has no minimum, so it holds `current - min` out of
 * `max - min`; its aria-valuemin/max/now carry the server's own values.
 */
export declare class EngineHtml5 extends Engine<Html5EngineOptions> {
	private bar;
	constructor(container: HTMLElement, options?: Partial<Html5EngineOptions>);
	protected createBar(document: Document): HTMLElement;
	protected draw(state: Readonly<ProgressState>, progression: number | null): void;
}
/**
 * The client side of the server's `ProgressBar(name)`: keeps the bar's values from the init,
 * update and done events and has an engine draw them. Its events are `before_init`, `init`,
 * `after_init`, `before_update`, `update`, `after_update` and `done`; `emit('start')` sends
 * `module_progressbar_<name>_start`.
 */
export declare class ModuleProgressBar extends Module {
	/** Where pages written for the 0.2.0 client look for the engines. */
	static EngineHtml5: typeof EngineHtml5;
	static EngineBootstrap: typeof EngineBootstrap;
	/** The engine drawing the bar, or null: the values are kept either way. */
	engine: ProgressBarEngine | null;
	private state;
	/** `name` as given to the server's `ProgressBar(name)`; none for an unnamed bar. */
	constructor(name?: string);
	set_engine(engine: ProgressBarEngine): this;
	get min(): number;
	get max(): number;
	get current(): number;
	/** Whole percent from 0 to 100, or null while the bar is indeterminate. */
	get progression(): number | null;
	get indeterminate(): boolean;
	/** The last label received from the server. */
	get label(): string;
	private apply;
}
/** `new TornadoWebSocket(path, options)` and, as the seed documents, `TornadoWebSocket(path, options)`. */
export declare const TornadoWebSocket: typeof TornadoWebSocketClient & ((path: string, options?: TornadoWebSocketOptions | undefined) => TornadoWebSocketClient);
export type TornadoWebSocket = TornadoWebSocketClient;
/** Shortcut of `new TornadoWebSocket(path, options)`. */
export declare function tws(path: string, options?: TornadoWebSocketOptions): TornadoWebSocketClient;

export {};
