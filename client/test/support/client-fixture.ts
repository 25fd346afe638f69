import { afterEach, beforeEach, mock } from 'node:test';
import { TornadoWebSocket } from '../../src/index';
import { FakeWebSocket } from './fake-websocket';

/**
 * Each test gets the fake WebSocket as the global one and a silent console whose calls it can
 * inspect; everything is restored after the test, timers included.
 */
export function useFakeBrowser(): { consoleWarn: () => ReturnType<typeof mock.method>; consoleError: () => ReturnType<typeof mock.method> } {
  let restoreWebSocket: () => void = () => undefined;
  let consoleWarn: ReturnType<typeof mock.method> | undefined;
  let consoleError: ReturnType<typeof mock.method> | undefined;

  beforeEach(() => {
    restoreWebSocket = FakeWebSocket.install();
    consoleWarn = mock.method(console, 'warn', () => undefined);
    consoleError = mock.method(console, 'error', () => undefined);
  });

  afterEach(() => {
    restoreWebSocket();
    mock.restoreAll();
    mock.timers.reset();
  });

  return {
    consoleWarn: () => consoleWarn as ReturnType<typeof mock.method>,
    consoleError: () => consoleError as ReturnType<typeof mock.method>,
  };
}

/** A client whose connection the (fake) server has accepted. */
export function openClient(path = '/echo', options = {}): { client: TornadoWebSocket; socket: FakeWebSocket } {
  const client = new TornadoWebSocket(path, options);
  const socket = FakeWebSocket.latest();
  socket.acceptConnection();
  return { client, socket };
}
