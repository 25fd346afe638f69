import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { TornadoWebSocket } from '../src/index';
import { FakeWebSocket } from './support/fake-websocket';
import { openClient, useFakeBrowser } from './support/client-fixture';

useFakeBrowser();

describe('reconnecting', () => {
  test('after the server goes away (1001) it reconnects, and frames emitted meanwhile follow', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    mock.method(Math, 'random', () => 0.5);
    const { client, socket } = openClient('/echo', { reconnect_delay: 1000 });
    const events: unknown[] = [];
    client.on('close', (event: { code: number }) => events.push(['close', event.code, client.state]));
    client.on('reconnecting', (data) => events.push(['reconnecting', data]));
    client.on('reconnect', (data) => events.push(['reconnect', data]));

    socket.closeFromServer(1001);
    client.emit('message', 'sent while down');
    mock.timers.tick(499);
    assert.equal(FakeWebSocket.instances.length, 1);
    mock.timers.tick(1);
    assert.equal(FakeWebSocket.instances.length, 2);
    const next = FakeWebSocket.latest();
    next.acceptConnection();

    assert.deepEqual(events, [
      ['close', 1001, 'connecting'],
      ['reconnecting', { attempt: 1, delay: 500 }],
      ['reconnect', { attempt: 1 }],
    ]);
    assert.equal(client.state, 'open');
    assert.equal(next.url, socket.url);
    assert.deepEqual(next.frames(), [{ event: 'message', data: { message: 'sent while down' } }]);
  });

  test('each failed attempt waits within a ceiling twice as high, up to the maximum', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    mock.method(Math, 'random', () => 0.999999);
    const { client, socket } = openClient('/echo', { reconnect_delay: 100, reconnect_delay_max: 500 });
    const delays: number[] = [];
    client.on('reconnecting', (data: { delay: number }) => delays.push(data.delay));
    socket.closeFromServer(1006);
    for (let attempt = 0; attempt < 4; attempt += 1) {
      mock.timers.tick(delays[delays.length - 1] ?? 0);
      FakeWebSocket.latest().refuse();
    }
    assert.deepEqual(delays, [99, 199, 399, 499, 499]);
  });

  test('gives up after reconnect_attempts failed attempts, with reconnect_failed', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    mock.method(Math, 'random', () => 0);
    const { client, socket } = openClient('/echo', { reconnect_attempts: 2 });
    const failed: unknown[] = [];
    client.on('reconnect_failed', (data) => failed.push(data));
    socket.closeFromServer(1006);
    mock.timers.tick(0);
    FakeWebSocket.latest().refuse();
    mock.timers.tick(0);
    FakeWebSocket.latest().refuse();
    mock.timers.tick(10000);
    assert.equal(FakeWebSocket.instances.length, 3);
    assert.deepEqual(failed, [{ attempts: 2 }]);
    assert.equal(client.state, 'closed');
  });

  test('a first connection that fails is retried too', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    mock.method(Math, 'random', () => 0);
    const client = new TornadoWebSocket('/echo');
    FakeWebSocket.latest().refuse();
    assert.equal(client.state, 'connecting');
    mock.timers.tick(0);
    FakeWebSocket.latest().acceptConnection();
    assert.equal(client.state, 'open');
  });

  for (const code of [1008, 4000, 4001, 4008, 4009, 4999]) {
    test(`does not reconnect when the server closes with policy code ${code}`, () => {
      mock.timers.enable({ apis: ['setTimeout'] });
      const { client, socket } = openClient();
      let reconnecting = false;
      client.on('reconnecting', () => (reconnecting = true));
      socket.closeFromServer(code);
      mock.timers.tick(60000);
      assert.equal(FakeWebSocket.instances.length, 1);
      assert.equal(reconnecting, false);
      assert.equal(client.state, 'closed');
    });
  }

  test('does not reconnect after close(), and the close event still arrives', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const { client, socket } = openClient();
    const codes: number[] = [];
    client.on('close', (event: { code: number }) => codes.push(event.code));
    client.close(1000, 'bye');
    assert.deepEqual(socket.closeRequest, { code: 1000, reason: 'bye' });
    assert.equal(client.state, 'closed');
    socket.finishClose();
    mock.timers.tick(60000);
    assert.deepEqual(codes, [1000]);
    assert.equal(FakeWebSocket.instances.length, 1);
  });

  test('close() while waiting to reconnect cancels the reconnection', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const { client, socket } = openClient();
    socket.closeFromServer(1006);
    client.close();
    mock.timers.tick(60000);
    assert.equal(FakeWebSocket.instances.length, 1);
    assert.equal(client.state, 'closed');
  });

  test('connect() after close() opens a new connection', () => {
    const { client, socket } = openClient();
    client.close();
    socket.finishClose();
    client.connect();
    assert.equal(FakeWebSocket.instances.length, 2);
    FakeWebSocket.latest().acceptConnection();
    assert.equal(client.state, 'open');
  });

  test('with reconnect false, a lost connection stays closed', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const { client, socket } = openClient('/echo', { reconnect: false });
    socket.closeFromServer(1006);
    mock.timers.tick(60000);
    assert.equal(FakeWebSocket.instances.length, 1);
    assert.equal(client.state, 'closed');
  });
});

