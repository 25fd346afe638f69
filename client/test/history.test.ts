import assert from 'node:assert/strict';
import { beforeEach, describe, mock, test } from 'node:test';
import { TornadoWebSocket } from '../src/index';
import { FakeWebSocket } from './support/fake-websocket';
import { openClient, useFakeBrowser } from './support/client-fixture';

useFakeBrowser();
beforeEach(() => {
  timersMocked = false;
});

function said(n: number, offset: number, epoch = 'e1', room?: string): Record<string, unknown> {
  const frame: Record<string, unknown> = { event: 'said', data: { n }, offset, epoch };
  if (room !== undefined) frame.room = room;
  return frame;
}

let timersMocked = false;

function reconnect(socket: FakeWebSocket): FakeWebSocket {
  if (!timersMocked) {
    mock.timers.enable({ apis: ['setTimeout'] });
    mock.method(Math, 'random', () => 0);
    timersMocked = true;
  }
  socket.closeFromServer(1006);
  mock.timers.tick(0);
  const next = FakeWebSocket.latest();
  next.acceptConnection();
  return next;
}

describe('recovering missed messages', () => {
  test('after a reconnect it asks from the last position of each stream, after its open listeners', () => {
    const { client, socket } = openClient('/chat');
    client.on('open', () => client.emit('join', { room: 'lobby' }));
    socket.receive(said(1, 7));
    socket.receive(said(2, 3, 'e2', 'lobby'));
    socket.receive({ event: 'plain', data: {} });
    const next = reconnect(socket);
    assert.equal(next.url, socket.url + '?$recover=1');
    assert.deepEqual(next.frames(), [
      { event: 'join', data: { room: 'lobby' } },
      {
        event: '$recover',
        data: { broadcast: { offset: 7, epoch: 'e1' }, rooms: { lobby: { offset: 3, epoch: 'e2' } } },
      },
    ]);
  });

  test('a connection that never got a stream message reconnects without asking', () => {
    const { socket } = openClient('/chat');
    socket.receive({ event: 'plain', data: {} });
    const next = reconnect(socket);
    assert.equal(next.url, socket.url);
    assert.deepEqual(next.frames(), []);
  });

  test('the answer becomes the recovered event, and later positions continue from it', () => {
    const { client, socket } = openClient('/chat');
    const recovered: unknown[] = [];
    const seen: unknown[] = [];
    client.on('recovered', (data) => recovered.push(data));
    client.on('said', (data: { n: number }) => seen.push(data.n));
    socket.receive(said(1, 7));
    const next = reconnect(socket);
    next.receive(said(2, 8));
    next.receive(said(3, 9));
    const answer = {
      recovered: true,
      missed: 2,
      broadcast: { recovered: true, missed: 2, offset: 9, epoch: 'e1' },
      rooms: {},
    };
    next.receive({ event: '$recovered', data: answer });
    next.receive(said(3, 9)); // a late duplicate of the replay
    next.receive(said(4, 10));
    assert.deepEqual(seen, [1, 2, 3, 4]);
    assert.deepEqual(recovered, [answer]);
    const again = reconnect(next);
    assert.deepEqual(again.frames()[0], { event: '$recover', data: { broadcast: { offset: 10, epoch: 'e1' }, rooms: {} } });
  });

  test('after recovered false it continues from where the server stands, in the new epoch', () => {
    const { client, socket } = openClient('/chat');
    const recovered: Array<{ recovered: boolean }> = [];
    client.on('recovered', (data: { recovered: boolean }) => recovered.push(data));
    socket.receive(said(1, 7));
    socket.receive(said(1, 2, 'r', 'gone'));
    const next = reconnect(socket);
    next.receive({
      event: '$recovered',
      data: {
        recovered: false,
        missed: 0,
        broadcast: { recovered: false, missed: 0, offset: 1, epoch: 'new', reason: 'lost' },
        rooms: { gone: { recovered: false, missed: 0, reason: 'This connection is not in this room.' } },
      },
    });
    assert.equal(recovered[0]?.recovered, false);
    const again = reconnect(next);
    assert.deepEqual(again.frames()[0], { event: '$recover', data: { broadcast: { offset: 1, epoch: 'new' }, rooms: {} } });
  });

  test('the server cannot fake a recovered event, and unknown reserved events are ignored', () => {
    const { client, socket } = openClient('/chat');
    const got: unknown[] = [];
    client.on('recovered', (data) => got.push(data));
    client.on('$presence', (data) => got.push(data));
    socket.receive({ event: 'recovered', data: { recovered: true } });
    socket.receive({ event: '$presence', data: {} });
    assert.deepEqual(got, []);
  });

  test("the admin's live page gets its library event, $admin.snapshot", () => {
    const { client, socket } = openClient('/_tornado_websockets/admin');
    const got: unknown[] = [];
    client.on('$admin.snapshot', (data) => got.push(data));
    socket.receive({ event: '$admin.snapshot', data: { nodes: [] } });
    assert.deepEqual(got, [{ nodes: [] }]);
  });

  test('with resume, a new page of the same session asks for what it missed from the start', () => {
    const items = new Map<string, string>();
    const storage = {
      getItem: (key: string) => items.get(key) ?? null,
      setItem: (key: string, value: string) => void items.set(key, value),
    };
    (globalThis as Record<string, unknown>).sessionStorage = storage;
    try {
      const { socket } = openClient('/chat', { resume: true });
      socket.receive(said(1, 41));
      const reloaded = new TornadoWebSocket('/chat', { resume: true });
      const fresh = FakeWebSocket.latest();
      assert.equal(fresh.url, socket.url + '?$recover=1');
      fresh.acceptConnection();
      assert.deepEqual(fresh.frames(), [{ event: '$recover', data: { broadcast: { offset: 41, epoch: 'e1' }, rooms: {} } }]);
      reloaded.close();
      const { socket: forgetful } = openClient('/chat');
      assert.equal(forgetful.url, socket.url); // without resume, nothing is read
    } finally {
      delete (globalThis as Record<string, unknown>).sessionStorage;
    }
  });

  test('resume is checked like the other options', () => {
    assert.throws(() => new TornadoWebSocket('/chat', { resume: 'yes' as unknown as boolean }), /option "resume"/);
  });
});
