import { Engine, type CommonEngineOptions } from './engine';
import type { ProgressState } from './progress-state';

export interface BootstrapEngineOptions extends CommonEngineOptions {
  /** Colour of the bar: a Bootstrap 5 theme colour such as `'info'` (default) or `'success'`. */
  progressbar_context: string;
  /** Stripes on the bar (default false). Indeterminate bars are always striped. */
  progressbar_striped: boolean;
  /** Moving stripes (default false; needs `progressbar_striped`). Indeterminate bars always move. */
  progressbar_animated: boolean;
}

const CONTEXTS = ['primary', 'secondary', 'success', 'info', 'warning', 'danger', 'light', 'dark'];

const DEFAULTS: BootstrapEngineOptions = {
  label_visible: true,
  label_classes: ['progressbar-label'],
  label_position: 'top',
  progressbar_context: 'info',
  progressbar_striped: false,
  progressbar_animated: false,
  progression_visible: true,
  progression_format: '{{progress}} %',
};

/**
 * Bootstrap 5 markup: `.progress` (role=progressbar and its ARIA values) around `.progress-bar`
 * (its width the progression), the progression text inside the bar.
 */
export class EngineBootstrap extends Engine<BootstrapEngineOptions> {
  private progress!: HTMLElement;
  private bar!: HTMLElement;

  constructor(container: HTMLElement, options?: Partial<BootstrapEngineOptions>) {
    super(container, DEFAULTS, options);
  }

  protected createBar(document: Document): HTMLElement {
    this.progress = document.createElement('div');
    this.progress.className = 'progress';
    this.progress.setAttribute('role', 'progressbar');
    this.bar = document.createElement('div');
    this.bar.className = 'progress-bar';
    if (CONTEXTS.indexOf(this.options.progressbar_context) !== -1) {
      this.bar.classList.add('bg-' + this.options.progressbar_context);
    }
    if (!this.options.progression_visible) {
      this.progression.classList.add('visually-hidden');
    }
    this.bar.appendChild(this.progression);
    this.progress.appendChild(this.bar);
    return this.progress;
  }

  protected draw(state: Readonly<ProgressState>, progression: number | null): void {
    this.setAriaValues(this.progress, state);
    const indeterminate = progression === null;
    const striped = indeterminate || this.options.progressbar_striped;
    this.bar.style.width = (indeterminate ? 100 : progression) + '%';
    // Stripes are recomputed from the options every time, so the user's own stripes survive an
    // indeterminate phase (the 0.2.0 client removed them on every init).
    this.bar.classList.toggle('progress-bar-striped', striped);
    this.bar.classList.toggle('progress-bar-animated', indeterminate || (striped && this.options.progressbar_animated));
  }
}
