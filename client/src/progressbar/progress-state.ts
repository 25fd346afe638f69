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
export type ProgressPhase = 'waiting' | 'indeterminate' | 'running' | 'done';

export function initialProgressState(): ProgressState {
  return { initialised: false, indeterminate: false, min: 0, max: 100, current: 0, label: '', done: false };
}

function fields(data: unknown): Record<string, unknown> {
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && isFinite(value) ? value : fallback;
}

function withLabel(state: ProgressState, label: unknown): ProgressState {
  return typeof label === 'string' ? Object.assign(state, { label }) : state;
}

/** The server's init: `{indeterminate}`, plus `min`, `max`, `current` when determinate. */
export function applyInit(state: ProgressState, data: unknown): ProgressState {
  const init = fields(data);
  const next: ProgressState = Object.assign({}, state, { initialised: true, done: false });
  next.indeterminate = init.indeterminate === true;
  if (!next.indeterminate) {
    next.min = numberOr(init.min, 0);
    next.max = numberOr(init.max, 100);
    // `value` is what servers of the 0.2.0 era sent instead of `current`.
    next.current = numberOr(init.current, numberOr(init.value, next.min));
  }
  // An init starts the bar over (a reset, a new connection): the former label is gone.
  next.label = typeof init.label === 'string' ? init.label : '';
  return next;
}

/** The server's update: `current` when determinate, `label` when it has one. */
export function applyUpdate(state: ProgressState, data: unknown): ProgressState {
  const update = fields(data);
  const next: ProgressState = Object.assign({}, state);
  if (!next.indeterminate) {
    next.current = numberOr(update.current, numberOr(update.value, next.current));
    next.done = next.done && next.current >= next.max;
  }
  return withLabel(next, update.label);
}

export function applyDone(state: ProgressState): ProgressState {
  return Object.assign({}, state, { done: true });
}

/**
 * Progression in whole percent, 0 to 100; null when indeterminate. A bar whose min equals its
 * max is at 100 once current reaches max, else at 0: there is no division by zero.
 */
export function progressionOf(state: ProgressState): number | null {
  if (state.indeterminate) {
    return null;
  }
  const span = state.max - state.min;
  const ratio = span > 0 ? (state.current - state.min) / span : state.current >= state.max ? 1 : 0;
  return Math.round(Math.min(1, Math.max(0, ratio)) * 100);
}

export function phaseOf(state: ProgressState): ProgressPhase {
  if (!state.initialised) return 'waiting';
  if (state.done || (!state.indeterminate && state.current >= state.max)) return 'done';
  if (state.indeterminate) return 'indeterminate';
  return state.current <= state.min ? 'waiting' : 'running';
}

/** Replaces `{{progress}}` (spaces inside the braces allowed) with the progression. */
export function formatProgression(format: string, progression: number): string {
  return format.replace(/\{\{\s*progress\s*\}\}/g, String(progression));
}
