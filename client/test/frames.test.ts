import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeEvent, normaliseData, parseServerFrame } from '../src/frames';

describe('emit data normalisation (the seed\'s rules)', () => {
  test('sends an empty object when there is no data', () => {
    assert.deepEqual(normaliseData(undefined), {});
    assert.deepEqual(normaliseData(null), {});
  });

  test('wraps anything that is not an object in {message}', () => {
    assert.deepEqual(normaliseData('My message'), { message: 'My message' });
    assert.deepEqual(normaliseData(42), { message: 42 });
    assert.deepEqual(normaliseData(false), { message: false });
    assert.deepEqual(normaliseData(['a', 'b']), { message: ['a', 'b'] });
  });

  test('sends an object as it is', () => {
    const data = { my: 'data' };
    assert.equal(normaliseData(data), data);
  });
});

describe('frames sent to the server', () => {
  test('carry event and data, as the 0.2.0 client sent them', () => {
    assert.equal(encodeEvent('my_event', { foo: 'bar' }), '{"event":"my_event","data":{"foo":"bar"}}');
  });

  test('carry an id when they ask for an ack', () => {
    assert.deepEqual(JSON.parse(encodeEvent('reverse', { message: 'abc' }, 7)), {
      event: 'reverse',
      data: { message: 'abc' },
      id: 7,
    });
  });
});

describe('frames received from the server', () => {
  test('an event frame gives its name and data', () => {
    assert.deepEqual(parseServerFrame('{"event":"message","data":{"message":"hi"}}'), {
      kind: 'event',
      event: 'message',
      data: { message: 'hi' },
    });
  });

  test('an event frame without data gives an empty object', () => {
    assert.deepEqual(parseServerFrame('{"event":"new_connection"}'), { kind: 'event', event: 'new_connection', data: {} });
  });

  test('an ack frame gives the handler\'s return value, whatever its type', () => {
    assert.deepEqual(parseServerFrame('{"ack":3,"data":{"message":"cba"}}'), { kind: 'ack', id: 3, data: { message: 'cba' } });
    assert.deepEqual(parseServerFrame('{"ack":4,"data":null}'), { kind: 'ack', id: 4, data: null });
  });

  test('an ack frame with an error gives the server\'s message', () => {
    assert.deepEqual(parseServerFrame('{"ack":5,"error":{"message":"boom"}}'), { kind: 'ack-error', id: 5, message: 'boom' });
  });

  test('anything else is invalid, with the reason', () => {
    assert.equal(parseServerFrame('not json').kind, 'invalid');
    assert.equal(parseServerFrame('[1, 2]').kind, 'invalid');
    assert.equal(parseServerFrame('{"data":{}}').kind, 'invalid');
    assert.equal(parseServerFrame('{"event":""}').kind, 'invalid');
    assert.equal(parseServerFrame(new ArrayBuffer(2)).kind, 'invalid');
  });
});
