import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { FakeWebSocket } from './support/fake-websocket';
import { openClient, useFakeBrowser } from './support/client-fixture';

useFakeBrowser();

describe('the browser going offline and online', () => {
  const globals = globalThis as Record<string, unknown>;
  beforeEach(() => {
    globals.window = new EventTarget();
  });
  afterEach(() => {
    delete globals.window;
  });

  test('offline drops the connection at once, online reconnects without waiting', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    mock.method(Math, 'random', () => 0.999);
    const { client, socket } = openClient('/news', { reconnect_delay: 5000 });
    const closes: unknown[] = [];
    client.on('close', (event: { code: number }) => closes.push(event.code));
    (globals.window as EventTarget).dispatchEvent(new Event('offline'));
    assert.deepEqual(closes, [1006]);
    assert.equal(client.state, 'connecting');
    assert.notEqual(socket.closeRequest, null);
    socket.receive({ event: 'late', data: {} }); // from the dropped socket: ignored
    assert.equal(FakeWebSocket.instances.length, 1);
    (globals.window as EventTarget).dispatchEvent(new Event('online'));
    assert.equal(FakeWebSocket.instances.length, 2);
    FakeWebSocket.latest().acceptConnection();
    assert.equal(client.state, 'open');
  });

  test('a page that closed its connection stays closed', () => {
    const { client } = openClient('/news');
    client.close();
    (globals.window as EventTarget).dispatchEvent(new Event('offline'));
    (globals.window as EventTarget).dispatchEvent(new Event('online'));
    assert.equal(FakeWebSocket.instances.length, 1);
    assert.equal(client.state, 'closed');
  });
});
