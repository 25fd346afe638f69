import { Module } from '../module';
import type { ProgressBarEngine } from './engine';
import { EngineBootstrap } from './engine-bootstrap';
import { EngineHtml5 } from './engine-html5';
import {
  applyDone,
  applyInit,
  applyUpdate,
  initialProgressState,
  progressionOf,
  type ProgressState,
} from './progress-state';

/**
 * The client side of the server's `ProgressBar(name)`: keeps the bar's values from the init,
 * update and done events and has an engine draw them. Its events are `before_init`, `init`,
 * `after_init`, `before_update`, `update`, `after_update` and `done`; `emit('start')` sends
 * `module_progressbar_<name>_start`.
 */
export class ModuleProgressBar extends Module {
  /** Where pages written for the 0.2.0 client look for the engines. */
  static EngineHtml5 = EngineHtml5;
  static EngineBootstrap = EngineBootstrap;

  /** The engine drawing the bar, or null: the values are kept either way. */
  engine: ProgressBarEngine | null = null;
  private state: ProgressState = initialProgressState();

  /** `name` as given to the server's `ProgressBar(name)`; none for an unnamed bar. */
  constructor(name = '') {
    super(name ? 'progressbar_' + name : 'progressbar');
    // Registered first, so the state is current when the page's own listeners run.
    this.on('init', (data: unknown) => this.apply(applyInit(this.state, data)));
    this.on('update', (data: unknown) => this.apply(applyUpdate(this.state, data)));
    this.on('done', () => this.apply(applyDone(this.state)));
  }

  set_engine(engine: ProgressBarEngine): this {
    if (!engine || typeof engine.mount !== 'function' || typeof engine.render !== 'function') {
      throw new TypeError('ModuleProgressBar: the engine should have mount() and render(state) methods.');
    }
    this.engine = engine;
    engine.mount();
    engine.render(this.state);
    return this;
  }

  get min(): number {
    return this.state.min;
  }

  get max(): number {
    return this.state.max;
  }

  get current(): number {
    return this.state.current;
  }

  /** Whole percent from 0 to 100, or null while the bar is indeterminate. */
  get progression(): number | null {
    return progressionOf(this.state);
  }

  get indeterminate(): boolean {
    return this.state.indeterminate;
  }

  /** The last label received from the server. */
  get label(): string {
    return this.state.label;
  }

  private apply(state: ProgressState): void {
    this.state = state;
    if (this.engine) {
      this.engine.render(state);
    }
  }
}
