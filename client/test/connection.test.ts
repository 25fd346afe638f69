import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TornadoWebSocket, tws } from '../src/index';
import { FakeWebSocket } from './support/fake-websocket';
import { openClient, useFakeBrowser } from './support/client-fixture';

const browser = useFakeBrowser();

describe('creating a connection', () => {
  test('connects at once to /ws + path, on localhost:8000 when there is no page', () => {
    const client = new TornadoWebSocket('echo');
    assert.equal(FakeWebSocket.latest().url, 'ws://localhost:8000/ws/echo');
    assert.equal(client.path, '/ws/echo');
    assert.equal(client.state, 'connecting');
    FakeWebSocket.latest().acceptConnection();
    assert.equal(client.state, 'open');
  });

  test('connects to the page\'s own host and port when there is a page', () => {
    const globals = globalThis as Record<string, unknown>;
    globals.window = { location: { protocol: 'https:', hostname: 'demo.example.com', port: '8443' } };
    try {
      new TornadoWebSocket('/chat');
      assert.equal(FakeWebSocket.latest().url, 'wss://demo.example.com:8443/ws/chat');
    } finally {
      delete globals.window;
    }
  });

  test('with auto_connect false, connects only when connect() is called', () => {
    const client = new TornadoWebSocket('/echo', { auto_connect: false });
    assert.equal(FakeWebSocket.instances.length, 0);
    assert.equal(client.state, 'closed');
    client.connect();
    client.connect();
    assert.equal(FakeWebSocket.instances.length, 1);
  });

  test('works without new, and tws() is a shortcut, both giving TornadoWebSocket instances', () => {
    const called = TornadoWebSocket('/echo');
    const short = tws('/echo', { port: 9000 });
    assert.ok(called instanceof TornadoWebSocket);
    assert.ok(short instanceof TornadoWebSocket);
    assert.equal(FakeWebSocket.latest().url, 'ws://localhost:9000/ws/echo');
  });

  test('throws what the browser throws for an invalid URL, and stays closed', () => {
    assert.throws(() => new TornadoWebSocket('/echo', { url: 'http://example.com/ws' }), SyntaxError);
    const client = new TornadoWebSocket('/echo', { url: 'nowhere', auto_connect: false });
    assert.throws(() => client.connect(), SyntaxError);
    assert.equal(client.state, 'closed');
  });

  test('refuses a path that is not a string and options of the wrong type', () => {
    assert.throws(() => new TornadoWebSocket(undefined as unknown as string), TypeError);
    assert.throws(() => new TornadoWebSocket('/echo', { queue_limit: -1 }), TypeError);
    assert.throws(() => new TornadoWebSocket('/echo', { reconnect: 'yes' as unknown as boolean }), TypeError);
  });
});

describe('receiving events', () => {
  test('a server event reaches every listener of its name with its data', () => {
    const { client, socket } = openClient();
    const received: unknown[] = [];
    client.on('message', (data) => received.push(['first', data]));
    client.on('message', (data) => received.push(['second', data]));
    client.on('other', (data) => received.push(['other', data]));
    socket.receive({ event: 'message', data: { message: 'hello' } });
    assert.deepEqual(received, [
      ['first', { message: 'hello' }],
      ['second', { message: 'hello' }],
    ]);
  });

  test('open, error and close listeners get the browser\'s events', () => {
    const client = new TornadoWebSocket('/echo', { reconnect: false });
    const socket = FakeWebSocket.latest();
    const seen: string[] = [];
    client.on('open', (event: { type: string }) => seen.push(event.type));
    client.on('error', (event: { type: string }) => seen.push(event.type));
    client.on('close', (event: { code: number }) => seen.push('close ' + event.code));
    socket.acceptConnection();
    socket.refuse();
    assert.deepEqual(seen, ['open', 'error', 'close 1006']);
  });

  test('a listener that throws is reported and the page\'s other listeners still run', () => {
    const { client, socket } = openClient();
    let ranAfter = false;
    client.on('message', () => {
      throw new Error('bug');
    });
    client.on('message', () => (ranAfter = true));
    socket.receive({ event: 'message', data: {} });
    assert.equal(ranAfter, true);
    assert.equal(browser.consoleError().mock.callCount(), 1);
  });

  test('server warnings reach warning listeners, or the console when there is none', () => {
    const { client, socket } = openClient();
    socket.receive({ event: 'warning', data: { message: 'There is no event in this JSON.' } });
    assert.equal(browser.consoleWarn().mock.callCount(), 1);
    const warnings: unknown[] = [];
    client.on('warning', (data) => warnings.push(data));
    socket.receive({ event: 'warning', data: { message: 'The data should be a dictionary.' } });
    assert.deepEqual(warnings, [{ message: 'The data should be a dictionary.' }]);
  });

  test('a server event named like a client event (open, close, reconnect...) is ignored', () => {
    const { client, socket } = openClient();
    let calls = 0;
    ['open', 'close', 'error', 'reconnect', 'reconnecting', 'reconnect_failed'].forEach((event) => {
      client.on(event, () => (calls += 1));
      socket.receive({ event, data: {} });
    });
    assert.equal(calls, 0);
  });

  test('off and once work on server events', () => {
    const { client, socket } = openClient();
    const calls: string[] = [];
    const listener = () => calls.push('on');
    client.on('tick', listener).once('tick', () => calls.push('once'));
    socket.receive({ event: 'tick', data: {} });
    client.off('tick', listener);
    socket.receive({ event: 'tick', data: {} });
    assert.deepEqual(calls, ['on', 'once']);
  });
});

describe('emitting', () => {
  test('sends {event, data} frames normalised like the seed', () => {
    const { client, socket } = openClient();
    client.emit('my_event');
    client.emit('my_event', 'My message');
    client.emit('my_event', { my: 'data' });
    assert.deepEqual(socket.frames(), [
      { event: 'my_event', data: {} },
      { event: 'my_event', data: { message: 'My message' } },
      { event: 'my_event', data: { my: 'data' } },
    ]);
  });

  test('refuses an empty event name', () => {
    const { client } = openClient();
    assert.throws(() => client.emit(''), TypeError);
  });

  test('frames emitted while connecting are sent on open, in order, after the open listeners', () => {
    const client = new TornadoWebSocket('/chat');
    const socket = FakeWebSocket.latest();
    client.on('open', () => client.emit('join', { username: 'ada' }));
    client.emit('message', 'first');
    client.emit('message', 'second');
    assert.deepEqual(socket.sent, []);
    socket.acceptConnection();
    assert.deepEqual(
      socket.frames().map((frame) => [frame.event, frame.data]),
      [
        ['join', { username: 'ada' }],
        ['message', { message: 'first' }],
        ['message', { message: 'second' }],
      ],
    );
  });

  test('the queue is bounded: when full, the oldest frame is dropped with a warning', () => {
    const client = new TornadoWebSocket('/echo', { queue_limit: 2 });
    const warnings: Array<{ message: string }> = [];
    client.on('warning', (data: { message: string }) => warnings.push(data));
    client.emit('message', 'one');
    client.emit('message', 'two');
    client.emit('message', 'three');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]?.message ?? '', /full.*"message" was dropped/);
    FakeWebSocket.latest().acceptConnection();
    assert.deepEqual(
      FakeWebSocket.latest().frames().map((frame) => frame.data),
      [{ message: 'two' }, { message: 'three' }],
    );
  });
});

