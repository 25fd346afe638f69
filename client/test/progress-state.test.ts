import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  applyDone,
  applyInit,
  applyUpdate,
  formatProgression,
  initialProgressState,
  phaseOf,
  progressionOf,
} from '../src/progressbar/progress-state';

const determinate = (min: number, max: number, current: number) =>
  applyInit(initialProgressState(), { indeterminate: false, min, max, current });

describe('progression', () => {
  test('is rounded to a whole percent', () => {
    assert.equal(progressionOf(determinate(0, 3, 1)), 33);
    assert.equal(progressionOf(determinate(0, 3, 2)), 67);
    assert.equal(progressionOf(determinate(0, 200, 1)), 1);
  });

  test('counts from min, not from zero', () => {
    assert.equal(progressionOf(determinate(50, 150, 75)), 25);
  });

  test('does not divide by zero when min equals max', () => {
    assert.equal(progressionOf(determinate(5, 5, 5)), 100);
    assert.equal(progressionOf(determinate(5, 5, 4)), 0);
  });

  test('stays between 0 and 100 when current is out of range', () => {
    assert.equal(progressionOf(determinate(0, 10, 12)), 100);
    assert.equal(progressionOf(determinate(0, 10, -3)), 0);
  });

  test('is null for an indeterminate bar', () => {
    assert.equal(progressionOf(applyInit(initialProgressState(), { indeterminate: true })), null);
  });

  test('is formatted by replacing {{progress}}, with or without spaces inside the braces', () => {
    assert.equal(formatProgression('{{progress}} %', 42), '42 %');
    assert.equal(formatProgression('Done: {{ progress }}% ({{progress}})', 7), 'Done: 7% (7)');
  });
});

describe('state from the server\'s events', () => {
  test('init takes min, max and current', () => {
    const state = determinate(0, 100, 10);
    assert.deepEqual([state.min, state.max, state.current, state.indeterminate], [0, 100, 10, false]);
  });

  test('init from a 0.2.0-era server, which sent value instead of current, is understood', () => {
    assert.equal(applyInit(initialProgressState(), { indeterminate: false, min: 0, max: 10, value: 4 }).current, 4);
  });

  test('an init clears the label, unless it brings one', () => {
    const labelled = applyUpdate(determinate(0, 100, 99), { current: 100, label: '[100/100] Task 100 done' });
    assert.equal(applyInit(labelled, { indeterminate: false, min: 0, max: 100, current: 0 }).label, '');
    assert.equal(applyInit(labelled, { indeterminate: true, label: 'Again' }).label, 'Again');
  });

  test('a label stays through updates until a new label arrives', () => {
    let state = applyUpdate(determinate(0, 100, 0), { current: 1, label: 'Task 1 done' });
    state = applyUpdate(state, { current: 2 });
    assert.equal(state.label, 'Task 1 done');
    state = applyUpdate(state, { current: 3, label: 'Task 3 done' });
    assert.equal(state.label, 'Task 3 done');
  });

  test('an update without current keeps the current value', () => {
    assert.equal(applyUpdate(determinate(0, 100, 40), { label: 'x' }).current, 40);
  });
});

describe('phase', () => {
  test('is waiting before the first init', () => {
    assert.equal(phaseOf(initialProgressState()), 'waiting');
  });

  test('is running, then done after the done event or once current reaches max', () => {
    const running = determinate(0, 100, 99);
    assert.equal(phaseOf(running), 'running');
    assert.equal(phaseOf(applyUpdate(running, { current: 100 })), 'done');
    assert.equal(phaseOf(applyDone(applyInit(initialProgressState(), { indeterminate: true }))), 'done');
  });

  test('goes back to waiting after a reset (a new init at min), running from the first update', () => {
    const done = applyDone(determinate(0, 100, 100));
    const reset = applyInit(done, { indeterminate: false, min: 0, max: 100, current: 0 });
    assert.equal(phaseOf(reset), 'waiting');
    assert.equal(phaseOf(applyUpdate(reset, { current: 1 })), 'running');
  });

  test('is running when a page connects to a bar already under way', () => {
    assert.equal(phaseOf(applyInit(initialProgressState(), { indeterminate: false, min: 0, max: 100, current: 42 })), 'running');
  });

  test('is indeterminate for an indeterminate bar', () => {
    assert.equal(phaseOf(applyInit(initialProgressState(), { indeterminate: true })), 'indeterminate');
  });
});
