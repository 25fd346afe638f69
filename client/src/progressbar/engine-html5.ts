import { Engine, type CommonEngineOptions } from './engine';
import type { ProgressState } from './progress-state';

export interface Html5EngineOptions extends CommonEngineOptions {
  /** The progression text left (`'left'`) or right (`'right'`, default) of the bar. */
  progression_position: 'left' | 'right';
}

const DEFAULTS: Html5EngineOptions = {
  label_visible: true,
  label_classes: ['progressbar-label'],
  label_position: 'top',
  progression_visible: true,
  progression_format: '{{progress}}%',
  progression_position: 'right',
};

/**
 * The native `<progress>` element. It has no minimum, so it holds `current - min` out of
 * `max - min`; its aria-valuemin/max/now carry the server's own values.
 */
export class EngineHtml5 extends Engine<Html5EngineOptions> {
  private bar!: HTMLProgressElement;

  constructor(container: HTMLElement, options?: Partial<Html5EngineOptions>) {
    super(container, DEFAULTS, options);
  }

  protected createBar(document: Document): HTMLElement {
    const wrapper = document.createElement('div');
    wrapper.className = 'progressbar-html5';
    this.bar = document.createElement('progress');
    if (!this.options.progression_visible) {
      this.progression.style.display = 'none';
    }
    if (this.options.progression_position === 'left') {
      wrapper.appendChild(this.progression);
      wrapper.appendChild(this.bar);
    } else {
      wrapper.appendChild(this.bar);
      wrapper.appendChild(this.progression);
    }
    return wrapper;
  }

  protected draw(state: Readonly<ProgressState>, progression: number | null): void {
    this.setAriaValues(this.bar, state);
    if (progression === null) {
      // Without a value attribute, <progress> shows itself as indeterminate.
      this.bar.removeAttribute('value');
      return;
    }
    const span = state.max - state.min;
    if (span > 0) {
      this.bar.setAttribute('max', String(span));
      this.bar.setAttribute('value', String(Math.min(span, Math.max(0, state.current - state.min))));
    } else {
      this.bar.setAttribute('max', '1');
      this.bar.setAttribute('value', progression === 100 ? '1' : '0');
    }
  }
}
