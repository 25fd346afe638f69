import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EngineBootstrap, EngineHtml5 } from '../src/index';
import { applyDone, applyInit, applyUpdate, initialProgressState, type ProgressState } from '../src/progressbar/progress-state';
import { fakeContainer } from './support/fake-dom';

const init = (data: object): ProgressState => applyInit(initialProgressState(), data);
const at = (current: number, label?: string): ProgressState =>
  applyUpdate(init({ indeterminate: false, min: 0, max: 100, current: 0 }), label === undefined ? { current } : { current, label });

describe('the Bootstrap engine', () => {
  test('renders Bootstrap 5 markup with role=progressbar and its ARIA values', () => {
    const { container, root } = fakeContainer();
    const engine = new EngineBootstrap(container);
    engine.mount();
    engine.render(at(42, 'Task 42 done'));
    const progress = root.one('.progress');
    const bar = progress.one('.progress-bar');
    assert.equal(progress.getAttribute('role'), 'progressbar');
    assert.deepEqual(
      ['aria-valuemin', 'aria-valuemax', 'aria-valuenow'].map((name) => progress.getAttribute(name)),
      ['0', '100', '42'],
    );
    assert.equal(bar.style.width, '42%');
    assert.ok(bar.classList.contains('bg-info'));
    assert.equal(bar.one('.progressbar-progression').textContent, '42 %');
    assert.equal(root.one('.progressbar-label').textContent, 'Task 42 done');
    assert.equal(progress.getAttribute('aria-labelledby'), root.one('.progressbar-label').getAttribute('id'));
    assert.equal(root.one('.tws-progressbar').getAttribute('data-state'), 'running');
  });

  test('marks the bar done', () => {
    const { container, root } = fakeContainer();
    const engine = new EngineBootstrap(container);
    engine.render(applyDone(at(100)));
    assert.equal(root.one('.tws-progressbar').getAttribute('data-state'), 'done');
    assert.equal(root.one('.progress-bar').style.width, '100%');
  });

  test('renders an indeterminate bar full, striped and moving, without aria-valuenow', () => {
    const { container, root } = fakeContainer();
    const engine = new EngineBootstrap(container);
    engine.render(init({ indeterminate: true }));
    const bar = root.one('.progress-bar');
    assert.equal(bar.style.width, '100%');
    assert.ok(bar.classList.contains('progress-bar-striped'));
    assert.ok(bar.classList.contains('progress-bar-animated'));
    assert.equal(root.one('.progress').hasAttribute('aria-valuenow'), false);
    assert.equal(root.one('.progressbar-progression').textContent, '');
  });

  test('leaves no stripes of an indeterminate phase on a determinate bar', () => {
    const { container, root } = fakeContainer();
    const engine = new EngineBootstrap(container);
    engine.render(init({ indeterminate: true }));
    engine.render(at(10));
    const bar = root.one('.progress-bar');
    assert.equal(bar.classList.contains('progress-bar-striped'), false);
    assert.equal(bar.classList.contains('progress-bar-animated'), false);
  });

  test('keeps the page\'s stripes through an init', () => {
    const { container, root } = fakeContainer();
    const engine = new EngineBootstrap(container, { progressbar_striped: true, progressbar_animated: true });
    engine.render(init({ indeterminate: true }));
    engine.render(init({ indeterminate: false, min: 0, max: 100, current: 0 }));
    const bar = root.one('.progress-bar');
    assert.ok(bar.classList.contains('progress-bar-striped'));
    assert.ok(bar.classList.contains('progress-bar-animated'));
  });

  test('honours the original option names', () => {
    const { container, root } = fakeContainer();
    const engine = new EngineBootstrap(container, {
      label_visible: false,
      label_classes: ['small', 'text-muted'],
      label_position: 'bottom',
      progressbar_context: 'success',
      progression_visible: false,
      progression_format: 'Progress: {{progress}}/100',
    });
    engine.render(at(7));
    const wrapper = root.one('.tws-progressbar');
    const label = root.one('.small');
    assert.ok(label.classList.contains('text-muted'));
    assert.equal(label.style.display, 'none');
    assert.equal(wrapper.children[1], label, 'the label comes after the bar');
    assert.ok(root.one('.progress-bar').classList.contains('bg-success'));
    const progression = root.one('.progressbar-progression');
    assert.ok(progression.classList.contains('visually-hidden'));
    assert.equal(progression.textContent, 'Progress: 7/100');
  });

  test('mounts once however often it renders', () => {
    const { container, root } = fakeContainer();
    const engine = new EngineBootstrap(container);
    engine.mount();
    engine.render(at(1));
    engine.render(at(2));
    assert.equal(root.children.length, 1);
  });

  test('refuses a container that is not an element', () => {
    assert.throws(() => new EngineBootstrap(null as unknown as HTMLElement), TypeError);
  });
});

describe('the HTML5 engine', () => {
  test('renders a native <progress> holding current - min out of max - min', () => {
    const { container, root } = fakeContainer();
    const engine = new EngineHtml5(container);
    engine.render(applyUpdate(init({ indeterminate: false, min: 10, max: 110, current: 10 }), { current: 60, label: 'Half' }));
    const progress = root.one('progress');
    assert.equal(progress.getAttribute('max'), '100');
    assert.equal(progress.getAttribute('value'), '50');
    assert.deepEqual(
      ['aria-valuemin', 'aria-valuemax', 'aria-valuenow'].map((name) => progress.getAttribute(name)),
      ['10', '110', '60'],
    );
    assert.equal(root.one('.progressbar-progression').textContent, '50%');
    assert.equal(root.one('.progressbar-label').textContent, 'Half');
  });

  test('renders an indeterminate bar as a <progress> without value', () => {
    const { container, root } = fakeContainer();
    const engine = new EngineHtml5(container);
    engine.render(at(30));
    engine.render(init({ indeterminate: true }));
    const progress = root.one('progress');
    assert.equal(progress.hasAttribute('value'), false);
    assert.equal(progress.hasAttribute('aria-valuenow'), false);
    assert.equal(root.one('.tws-progressbar').getAttribute('data-state'), 'indeterminate');
  });

  test('renders a bar whose min equals its max without dividing by zero', () => {
    const { container, root } = fakeContainer();
    const engine = new EngineHtml5(container);
    engine.render(init({ indeterminate: false, min: 3, max: 3, current: 3 }));
    assert.equal(root.one('progress').getAttribute('max'), '1');
    assert.equal(root.one('progress').getAttribute('value'), '1');
    assert.equal(root.one('.progressbar-progression').textContent, '100%');
  });

  test('puts the progression left of the bar when asked', () => {
    const { container, root } = fakeContainer();
    const engine = new EngineHtml5(container, { progression_position: 'left' });
    engine.mount();
    const wrapper = root.one('.progressbar-html5');
    assert.equal(wrapper.children[0]?.classList.contains('progressbar-progression'), true);
    assert.equal(wrapper.children[1]?.tagName, 'progress');
  });
});
