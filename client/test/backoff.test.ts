import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { reconnectDelay } from '../src/backoff';
import { stopsReconnection } from '../src/close-codes';

const options = { initial: 1000, max: 30000 };
const highest = () => 0.999999;

describe('reconnect delays (exponential backoff, full jitter)', () => {
  test('the ceiling doubles at each attempt, starting from the initial delay', () => {
    const ceilings = [0, 1, 2, 3, 4].map((attempt) => reconnectDelay(attempt, options, highest) + 1);
    assert.deepEqual(ceilings, [1000, 2000, 4000, 8000, 16000]);
  });

  test('the ceiling never grows past the maximum, however many attempts', () => {
    assert.equal(reconnectDelay(5, options, highest), 29999);
    assert.equal(reconnectDelay(60, options, highest), 29999);
    assert.equal(reconnectDelay(5000, options, highest), 29999);
  });

  test('every delay lies between 0 and the attempt\'s ceiling', () => {
    for (let attempt = 0; attempt < 12; attempt += 1) {
      const ceiling = Math.min(options.max, options.initial * 2 ** attempt);
      for (let sample = 0; sample < 200; sample += 1) {
        const delay = reconnectDelay(attempt, options);
        assert.ok(delay >= 0 && delay < ceiling, `attempt ${attempt}: ${delay} outside [0, ${ceiling})`);
        assert.equal(delay, Math.floor(delay));
      }
    }
  });

  test('the jitter spreads delays over the whole window, down to no wait at all', () => {
    assert.equal(reconnectDelay(3, options, () => 0), 0);
    assert.equal(reconnectDelay(3, options, () => 0.5), 4000);
  });
});

describe('close codes', () => {
  test('a policy violation and the application range 4000-4999 stop reconnection', () => {
    [1008, 4000, 4001, 4008, 4009, 4999].forEach((code) => assert.equal(stopsReconnection(code), true, String(code)));
  });

  test('going away, a lost connection and server errors do not', () => {
    [1000, 1001, 1005, 1006, 1011, 1012, 1013, 3000, 3999, 5000].forEach((code) =>
      assert.equal(stopsReconnection(code), false, String(code)),
    );
  });
});
