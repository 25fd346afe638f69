// The few DOM features the progress bar engines use, enough to read back what they render
// without a browser.

class FakeClassList {
  constructor(private readonly element: FakeElement) {}

  private get names(): string[] {
    return this.element.className.split(/\s+/).filter(Boolean);
  }

  private set names(names: string[]) {
    this.element.className = names.join(' ');
  }

  add(...names: string[]): void {
    this.names = this.names.concat(names.filter((name) => !this.contains(name)));
  }

  remove(...names: string[]): void {
    this.names = this.names.filter((name) => names.indexOf(name) === -1);
  }

  contains(name: string): boolean {
    return this.names.indexOf(name) !== -1;
  }

  toggle(name: string, force?: boolean): boolean {
    const present = force === undefined ? !this.contains(name) : force;
    if (present) this.add(name);
    else this.remove(name);
    return present;
  }
}

export class FakeElement {
  className = '';
  readonly classList = new FakeClassList(this);
  readonly style: Record<string, string> = {};
  readonly children: FakeElement[] = [];
  parentNode: FakeElement | null = null;
  private readonly attributes = new Map<string, string>();
  private text = '';

  constructor(
    readonly tagName: string,
    readonly ownerDocument: FakeDocument,
  ) {}

  get textContent(): string {
    return this.text + this.children.map((child) => child.textContent).join('');
  }

  set textContent(value: string) {
    this.text = value;
    this.children.length = 0;
  }

  setAttribute(name: string, value: string): void {
    this.attributes.set(name, String(value));
  }

  getAttribute(name: string): string | null {
    const value = this.attributes.get(name);
    return value === undefined ? null : value;
  }

  hasAttribute(name: string): boolean {
    return this.attributes.has(name);
  }

  removeAttribute(name: string): void {
    this.attributes.delete(name);
  }

  appendChild(child: FakeElement): FakeElement {
    child.parentNode = this;
    this.children.push(child);
    return child;
  }

  insertBefore(child: FakeElement, reference: FakeElement | null): FakeElement {
    const index = reference ? this.children.indexOf(reference) : -1;
    child.parentNode = this;
    if (index === -1) this.children.push(child);
    else this.children.splice(index, 0, child);
    return child;
  }

  /** Descendants (depth first) matching a test: a tag name, or `.class`. */
  find(selector: string): FakeElement[] {
    const matches = (element: FakeElement) =>
      selector.charAt(0) === '.' ? element.classList.contains(selector.slice(1)) : element.tagName === selector;
    const found: FakeElement[] = [];
    const visit = (element: FakeElement) => {
      element.children.forEach((child) => {
        if (matches(child)) found.push(child);
        visit(child);
      });
    };
    visit(this);
    return found;
  }

  /** The one descendant matching `selector`; fails the test when there is not exactly one. */
  one(selector: string): FakeElement {
    const found = this.find(selector);
    if (found.length !== 1) throw new Error('expected one "' + selector + '", found ' + found.length);
    return found[0] as FakeElement;
  }
}

export class FakeDocument {
  createElement(tagName: string): FakeElement {
    return new FakeElement(tagName, this);
  }
}

/** A container for an engine, typed as the HTMLElement the engine expects. */
export function fakeContainer(): { container: HTMLElement; root: FakeElement } {
  const root = new FakeDocument().createElement('div');
  return { container: root as unknown as HTMLElement, root };
}
