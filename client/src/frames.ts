// The wire format (DESIGN §3): text frames, one JSON object each.
// Client → server: {"event", "data"} plus "id" when the client wants an ack.
// Server → client: {"event", "data"}, or {"ack", "data"} / {"ack", "error": {"message"}}.

import { positionOf } from './history';

export type EventData = Record<string, unknown>;

/**
 * The seed's rules for `emit(event, data)`, so that a page written for the 0.2.0 client sends
 * the same frames: nothing → `{}`, an object as is, anything else → `{message: data}`.
 * `null` and arrays are not the "object" the server accepts, so they are normalised too.
 */
export function normaliseData(data: unknown): EventData {
  if (data === undefined || data === null) {
    return {};
  }
  if (typeof data === 'object' && !Array.isArray(data)) {
    return data as EventData;
  }
  return { message: data };
}

export function encodeEvent(event: string, data: EventData, id?: number): string {
  const frame: { event: string; data: EventData; id?: number } = { event, data };
  if (id !== undefined) {
    frame.id = id;
  }
  return JSON.stringify(frame);
}

export type ServerFrame =
  | { kind: 'event'; event: string; data: unknown; position?: { stream: string; offset: number; epoch: string } }
  | { kind: 'ack'; id: number; data: unknown }
  | { kind: 'ack-error'; id: number; message: string }
  | { kind: 'invalid'; reason: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseServerFrame(text: unknown): ServerFrame {
  if (typeof text !== 'string') {
    return { kind: 'invalid', reason: 'a binary frame' };
  }
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch (_error) {
    return { kind: 'invalid', reason: 'invalid JSON' };
  }
  if (!isObject(frame)) {
    return { kind: 'invalid', reason: 'JSON that is not an object' };
  }
  if (typeof frame.ack === 'number') {
    const error = frame.error;
    if (error !== undefined && error !== null) {
      const message = isObject(error) && typeof error.message === 'string' ? error.message : String(error);
      return { kind: 'ack-error', id: frame.ack, message };
    }
    return { kind: 'ack', id: frame.ack, data: frame.data };
  }
  if (typeof frame.event === 'string' && frame.event !== '') {
    const parsed: ServerFrame = { kind: 'event', event: frame.event, data: frame.data === undefined ? {} : frame.data };
    const position = positionOf(frame); // a message of a stream with history
    if (position) parsed.position = position;
    return parsed;
  }
  return { kind: 'invalid', reason: 'a frame with neither an event nor an ack' };
}
