// Stands in for the browser's WebSocket: records what the client sends and lets a test play
// the server's part (open, send a frame, close with a code).

type Handler = ((event: any) => void) | null;

export class FakeWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static instances: FakeWebSocket[] = [];

  readyState = FakeWebSocket.CONNECTING;
  readonly sent: string[] = [];
  closeRequest: { code: number | undefined; reason: string | undefined } | null = null;
  onopen: Handler = null;
  onmessage: Handler = null;
  onerror: Handler = null;
  onclose: Handler = null;

  constructor(readonly url: string) {
    if (!/^wss?:\/\/[^/]/.test(url)) {
      throw new SyntaxError("Failed to construct 'WebSocket': the URL '" + url + "' is invalid.");
    }
    FakeWebSocket.instances.push(this);
  }

  /** The socket the client opened last. */
  static latest(): FakeWebSocket {
    const socket = FakeWebSocket.instances[FakeWebSocket.instances.length - 1];
    if (!socket) throw new Error('the client opened no WebSocket');
    return socket;
  }

  /** Replaces the global WebSocket for one test. */
  static install(): () => void {
    const globals = globalThis as Record<string, unknown>;
    const previous = globals.WebSocket;
    FakeWebSocket.instances = [];
    globals.WebSocket = FakeWebSocket;
    return () => {
      globals.WebSocket = previous;
    };
  }

  send(text: string): void {
    if (this.readyState !== FakeWebSocket.OPEN) {
      throw new Error('InvalidStateError: send() on a socket that is not open');
    }
    this.sent.push(text);
  }

  close(code?: number, reason?: string): void {
    this.closeRequest = { code, reason };
    this.readyState = FakeWebSocket.CLOSING;
  }

  /** The frames sent so far, parsed. */
  frames(): Array<Record<string, unknown>> {
    return this.sent.map((text) => JSON.parse(text) as Record<string, unknown>);
  }

  acceptConnection(): void {
    this.readyState = FakeWebSocket.OPEN;
    if (this.onopen) this.onopen({ type: 'open' });
  }

  receive(frame: unknown): void {
    if (this.onmessage) this.onmessage({ type: 'message', data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }

  /** The connection ends with `code`: 1006 is what a browser reports for a lost connection. */
  closeFromServer(code: number, reason = ''): void {
    this.readyState = FakeWebSocket.CLOSED;
    if (this.onclose) this.onclose({ type: 'close', code, reason, wasClean: code !== 1006 });
  }

  /** A connection attempt that fails, as browsers report it: error, then close 1006. */
  refuse(): void {
    this.readyState = FakeWebSocket.CLOSED;
    if (this.onerror) this.onerror({ type: 'error' });
    if (this.onclose) this.onclose({ type: 'close', code: 1006, reason: '', wasClean: false });
  }

  /** Completes a close the client asked for. */
  finishClose(): void {
    const request = this.closeRequest;
    this.readyState = FakeWebSocket.CLOSED;
    if (this.onclose) this.onclose({ type: 'close', code: request && request.code !== undefined ? request.code : 1005, reason: '', wasClean: true });
  }
}
