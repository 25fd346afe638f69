import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { Emitter } from '../src/emitter';

describe('listeners', () => {
  let consoleError: ReturnType<typeof mock.method>;

  beforeEach(() => {
    consoleError = mock.method(console, 'error', () => undefined);
  });

  afterEach(() => {
    consoleError.mock.restore();
  });

  test('several listeners of one event all run, in the order they were added', () => {
    const emitter = new Emitter('Test');
    const calls: string[] = [];
    emitter.add('message', (data: { n: number }) => calls.push('first ' + data.n), false);
    emitter.add('message', (data: { n: number }) => calls.push('second ' + data.n), false);
    emitter.dispatch('message', { n: 1 });
    assert.deepEqual(calls, ['first 1', 'second 1']);
  });

  test('a listener that throws is reported with console.error and the others still run', () => {
    const emitter = new Emitter('Test');
    const failure = new Error('a bug in one handler');
    const calls: string[] = [];
    emitter.add('message', () => calls.push('before'), false);
    emitter.add('message', () => {
      throw failure;
    }, false);
    emitter.add('message', () => calls.push('after'), false);
    emitter.dispatch('message', {});
    assert.deepEqual(calls, ['before', 'after']);
    assert.equal(consoleError.mock.callCount(), 1);
    assert.match(String(consoleError.mock.calls[0]?.arguments[0]), /"message"/);
    assert.equal(consoleError.mock.calls[0]?.arguments[1], failure);
  });

  test('an async listener that rejects is reported too', async () => {
    const emitter = new Emitter('Test');
    const failure = new Error('rejected');
    let reported!: () => void;
    const wasReported = new Promise<void>((resolve) => (reported = resolve));
    consoleError.mock.mockImplementation(() => reported());
    emitter.add('message', async () => {
      throw failure;
    }, false);
    emitter.dispatch('message', {});
    await wasReported;
    assert.equal(consoleError.mock.calls[0]?.arguments[1], failure);
  });

  test('a once listener runs for the next event only', () => {
    const emitter = new Emitter('Test');
    let calls = 0;
    emitter.add('tick', () => (calls += 1), true);
    emitter.dispatch('tick', {});
    emitter.dispatch('tick', {});
    assert.equal(calls, 1);
    assert.equal(emitter.has('tick'), false);
  });

  test('removing one listener keeps the others; removing with no listener removes all', () => {
    const emitter = new Emitter('Test');
    const calls: string[] = [];
    const first = () => calls.push('first');
    emitter.add('tick', first, false);
    emitter.add('tick', () => calls.push('second'), false);
    emitter.remove('tick', first);
    emitter.dispatch('tick', {});
    emitter.remove('tick');
    emitter.dispatch('tick', {});
    assert.deepEqual(calls, ['second']);
  });

  test('a listener added while an event is dispatched runs from the next event on', () => {
    const emitter = new Emitter('Test');
    const calls: string[] = [];
    emitter.add('tick', () => {
      calls.push('outer');
      emitter.add('tick', () => calls.push('inner'), false);
    }, true);
    emitter.dispatch('tick', {});
    emitter.dispatch('tick', {});
    assert.deepEqual(calls, ['outer', 'inner']);
  });

  test('a listener that is not a function is refused at once', () => {
    assert.throws(() => new Emitter('Test').add('tick', 'nope' as never, false), TypeError);
  });
});
