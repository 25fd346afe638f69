import { formatProgression, phaseOf, progressionOf, type ProgressState } from './progress-state';

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
  label_position: 'top' | 'bottom';
  /** Show the progression text (default true). */
  progression_visible: boolean;
  /** Text of the progression; `{{progress}}` is replaced by the whole percent. */
  progression_format: string;
}

let mountedEngines = 0;

/**
 * Base of the built-in engines: a root element (`.tws-progressbar`, its `data-state` telling
 * the phase), a label and a progression text; subclasses build and draw the bar itself.
 */
export abstract class Engine<Options extends CommonEngineOptions> implements ProgressBarEngine {
  readonly container: HTMLElement;
  readonly options: Options;
  /** The element this engine appended to the container; null until mounted. */
  element: HTMLElement | null = null;
  protected label!: HTMLElement;
  protected progression!: HTMLElement;
  private labelId = '';

  constructor(container: HTMLElement, defaults: Options, options: Partial<Options> | undefined) {
    if (!container || typeof container.appendChild !== 'function' || !container.ownerDocument) {
      throw new TypeError('ModuleProgressBar: the engine\'s container should be an HTML element.');
    }
    this.container = container;
    this.options = Object.assign({}, defaults, options);
  }

  mount(): void {
    if (this.element) {
      return;
    }
    const document = this.container.ownerDocument;
    const root = document.createElement('div');
    root.className = 'tws-progressbar';
    this.label = document.createElement('div');
    // The bar's accessible name is its label, referenced by an id unique in the page.
    this.labelId = 'tws-progressbar-label-' + ++mountedEngines;
    this.label.setAttribute('id', this.labelId);
    this.options.label_classes.forEach((name) => this.label.classList.add(name));
    if (!this.options.label_visible) {
      this.label.style.display = 'none';
    }
    this.progression = document.createElement('span');
    this.progression.classList.add('progressbar-progression');
    const bar = this.createBar(document);
    if (this.options.label_position === 'bottom') {
      root.appendChild(bar);
      root.appendChild(this.label);
    } else {
      root.appendChild(this.label);
      root.appendChild(bar);
    }
    this.container.appendChild(root);
    this.element = root;
  }

  render(state: Readonly<ProgressState>): void {
    this.mount();
    const progression = progressionOf(state);
    this.label.textContent = state.label;
    this.progression.textContent =
      progression === null ? '' : formatProgression(this.options.progression_format, progression);
    (this.element as HTMLElement).setAttribute('data-state', phaseOf(state));
    this.draw(state, progression);
  }

  /** Builds the bar (and places `this.progression` in it or beside it); returns what to mount. */
  protected abstract createBar(document: Document): HTMLElement;

  /** Shows `state` on the bar; `progression` is null when indeterminate. */
  protected abstract draw(state: Readonly<ProgressState>, progression: number | null): void;

  /** The ARIA values of a progress bar; an indeterminate one has no aria-valuenow (WAI-ARIA). */
  protected setAriaValues(element: HTMLElement, state: Readonly<ProgressState>): void {
    element.setAttribute('aria-labelledby', this.labelId);
    element.setAttribute('aria-valuemin', String(state.min));
    element.setAttribute('aria-valuemax', String(state.max));
    if (state.indeterminate) {
      element.removeAttribute('aria-valuenow');
    } else {
      element.setAttribute('aria-valuenow', String(state.current));
    }
  }
}
