// The client's public API: the ES module (client.mjs) and the types (client.d.ts) export it;
// the classic script (client.js) puts it in globals (see classic.ts).
import { callableWithoutNew } from './callable';
import type { TornadoWebSocketOptions } from './options';
import { TornadoWebSocketClient } from './tornado-websocket';

export type { AddressOptions } from './address';
export type { Listener } from './emitter';
export type { EventData } from './frames';
export type { RecoveredData, StreamPosition, StreamRecovery } from './history';
export { Module } from './module';
export type { TornadoWebSocketOptions } from './options';
export type { PresenceChange, PresenceDiff, PresenceEntry, PresenceStats } from './presence';
export { Engine, type CommonEngineOptions, type ProgressBarEngine } from './progressbar/engine';
export { EngineBootstrap, type BootstrapEngineOptions } from './progressbar/engine-bootstrap';
export { EngineHtml5, type Html5EngineOptions } from './progressbar/engine-html5';
export { ModuleProgressBar } from './progressbar/module-progressbar';
export type { ProgressPhase, ProgressState } from './progressbar/progress-state';
export { RequestError, type RequestFailure } from './request-error';
export {
  TornadoWebSocketClient,
  type ConnectionState,
  type ReconnectingData,
  type RequestOptions,
} from './tornado-websocket';

/** `new TornadoWebSocket(path, options)` and, as the seed documents, `TornadoWebSocket(path, options)`. */
export const TornadoWebSocket = callableWithoutNew(TornadoWebSocketClient);
export type TornadoWebSocket = TornadoWebSocketClient;

/** Shortcut of `new TornadoWebSocket(path, options)`. */
export function tws(path: string, options?: TornadoWebSocketOptions): TornadoWebSocketClient {
  return new TornadoWebSocketClient(path, options);
}
