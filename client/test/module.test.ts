import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Module, ModuleProgressBar, TornadoWebSocket } from '../src/index';
import { FakeWebSocket } from './support/fake-websocket';

let restoreWebSocket: () => void;
beforeEach(() => {
  restoreWebSocket = FakeWebSocket.install();
});
afterEach(() => restoreWebSocket());

class ChatModule extends TornadoWebSocket.Module {
  constructor() {
    super('chat');
  }
}

function connected(): { client: TornadoWebSocket; socket: FakeWebSocket } {
  const client = new TornadoWebSocket('module_progressbar');
  const socket = FakeWebSocket.latest();
  socket.acceptConnection();
  return { client, socket };
}

describe('module prefixes', () => {
  test('a named progress bar uses the server\'s prefix module_progressbar_<name>', () => {
    assert.equal(new ModuleProgressBar('foo').eventName('start'), 'module_progressbar_foo_start');
  });

  test('an unnamed progress bar uses module_progressbar', () => {
    assert.equal(new ModuleProgressBar().eventName('init'), 'module_progressbar_init');
  });

  test('any module is prefixed module_<name>_, as the server\'s Module', () => {
    assert.equal(new ChatModule().eventName('join'), 'module_chat_join');
  });

  test('the base Module is abstract', () => {
    const Abstract = Module as unknown as new (name: string) => Module;
    assert.throws(() => new Abstract('x'), TypeError);
  });
});

describe('bound modules', () => {
  test('emit sends the prefixed event: progressbar.emit(\'start\') sends module_progressbar_foo_start', () => {
    const { client, socket } = connected();
    const progressbar = new ModuleProgressBar('foo');
    client.bind(progressbar);
    progressbar.emit('start');
    assert.deepEqual(socket.frames(), [{ event: 'module_progressbar_foo_start', data: {} }]);
  });

  test('listeners get the prefixed server events, even when added before binding', () => {
    const { client, socket } = connected();
    const progressbar = new ModuleProgressBar('foo');
    const seen: string[] = [];
    progressbar.on('done', () => seen.push('done, added before bind'));
    progressbar.bind(client);
    progressbar.on('after_init', () => seen.push('after_init'));
    socket.receive({ event: 'module_progressbar_foo_after_init', data: {} });
    socket.receive({ event: 'module_progressbar_foo_done', data: {} });
    socket.receive({ event: 'module_progressbar_bar_done', data: {} });
    assert.deepEqual(seen, ['after_init', 'done, added before bind']);
  });

  test('request sends the prefixed event with an id and resolves with its ack', async () => {
    const { client, socket } = connected();
    const chat = new ChatModule();
    client.bind(chat);
    const history = chat.request('history');
    assert.deepEqual(socket.frames(), [{ event: 'module_chat_history', data: {}, id: 1 }]);
    socket.receive({ ack: 1, data: ['hello'] });
    assert.deepEqual(await history, ['hello']);
  });

  test('emitting before binding says what to do', () => {
    assert.throws(() => new ModuleProgressBar('foo').emit('start'), /bind it to a TornadoWebSocket/);
  });

  test('a module cannot be bound to two connections', () => {
    const progressbar = new ModuleProgressBar('foo');
    connected().client.bind(progressbar);
    assert.throws(() => connected().client.bind(progressbar), /already bound/);
  });
});

describe('ModuleProgressBar values', () => {
  test('follow the server\'s init, update and done events, before the page\'s listeners run', () => {
    const { client, socket } = connected();
    const progressbar = new ModuleProgressBar('foo');
    client.bind(progressbar);
    const seenByPage: Array<number | null> = [];
    progressbar.on('update', () => seenByPage.push(progressbar.progression));
    socket.receive({ event: 'module_progressbar_foo_init', data: { indeterminate: false, min: 0, max: 200, current: 0 } });
    socket.receive({ event: 'module_progressbar_foo_update', data: { current: 51, label: '[51/200]' } });
    assert.deepEqual([progressbar.min, progressbar.max, progressbar.current], [0, 200, 51]);
    assert.equal(progressbar.progression, 26);
    assert.equal(progressbar.label, '[51/200]');
    assert.deepEqual(seenByPage, [26]);
  });

  test('an indeterminate bar has no progression', () => {
    const { client, socket } = connected();
    const progressbar = new ModuleProgressBar();
    client.bind(progressbar);
    socket.receive({ event: 'module_progressbar_init', data: { indeterminate: true } });
    assert.equal(progressbar.indeterminate, true);
    assert.equal(progressbar.progression, null);
  });

  test('set_engine refuses what is not an engine', () => {
    assert.throws(() => new ModuleProgressBar().set_engine({} as never), TypeError);
  });
});
