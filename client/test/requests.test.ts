import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { RequestError, TornadoWebSocket } from '../src/index';
import { FakeWebSocket } from './support/fake-websocket';
import { openClient, useFakeBrowser } from './support/client-fixture';

useFakeBrowser();

describe('requests', () => {
  test('resolve with the data of the ack carrying their id, whatever the order of the acks', async () => {
    const { client, socket } = openClient();
    const first = client.request('reverse', { message: 'abc' });
    const second = client.request('reverse', { message: 'xyz' });
    const [firstFrame, secondFrame] = socket.frames();
    assert.deepEqual(firstFrame, { event: 'reverse', data: { message: 'abc' }, id: 1 });
    assert.equal(secondFrame?.id, 2);
    socket.receive({ ack: 2, data: { message: 'zyx' } });
    socket.receive({ ack: 1, data: { message: 'cba' } });
    assert.deepEqual(await first, { message: 'cba' });
    assert.deepEqual(await second, { message: 'zyx' });
  });

  test('reject with the server\'s message when the handler raised', async () => {
    const { client, socket } = openClient();
    const failing = client.request('fail');
    socket.receive({ ack: 1, error: { message: 'The handler raised an exception.' } });
    await assert.rejects(failing, (error: unknown) => {
      assert.ok(error instanceof RequestError);
      assert.ok(error instanceof TornadoWebSocket.RequestError);
      assert.equal(error.message, 'The handler raised an exception.');
      assert.equal(error.reason, 'server');
      assert.equal(error.event, 'fail');
      return true;
    });
  });

  test('reject when no ack comes in time, and a late ack is then ignored', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const { client, socket } = openClient('/echo', { request_timeout: 5000 });
    const slow = client.request('slow');
    const slower = client.request('slower', {}, { timeout: 8000 });
    mock.timers.tick(5000);
    await assert.rejects(slow, { name: 'RequestError', reason: 'timeout' });
    socket.receive({ ack: 1, data: 'too late' });
    socket.receive({ ack: 2, data: 'in time' });
    assert.equal(await slower, 'in time');
  });

  test('made while connecting, are sent on open', async () => {
    const client = new TornadoWebSocket('/echo');
    const reply = client.request('reverse', { message: 'abc' });
    const socket = FakeWebSocket.latest();
    socket.acceptConnection();
    assert.deepEqual(socket.frames(), [{ event: 'reverse', data: { message: 'abc' }, id: 1 }]);
    socket.receive({ ack: 1, data: { message: 'cba' } });
    assert.deepEqual(await reply, { message: 'cba' });
  });

  test('already sent when the connection drops, reject: their answer can no longer come', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const { client, socket } = openClient();
    const inFlight = client.request('reverse', { message: 'abc' });
    socket.closeFromServer(1006);
    await assert.rejects(inFlight, { reason: 'closed' });
  });

  test('pushed out of the full queue, reject with reason dropped', async () => {
    const client = new TornadoWebSocket('/echo', { queue_limit: 1 });
    client.on('warning', () => undefined);
    const dropped = client.request('first');
    client.emit('second');
    await assert.rejects(dropped, { reason: 'dropped' });
  });

  test('pending when close() is called, reject', async () => {
    const { client } = openClient();
    const pending = client.request('reverse');
    client.close();
    await assert.rejects(pending, { reason: 'closed' });
  });
});
