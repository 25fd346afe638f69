import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';

// The committed build, next to the Python package's static files.
const staticDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'tornado_websockets', 'static', 'tornado_websockets');
const classicScript = readFileSync(join(staticDir, 'client.js'));

describe('the built classic script (client.js)', () => {
  test('stays within 8 KB gzipped', () => {
    assert.ok(gzipSync(classicScript, { level: 9 }).length <= 8 * 1024);
  });

  test('defines the globals TornadoWebSocket, tws and ModuleProgressBar, with the members hung on them', () => {
    const opened: string[] = [];
    class BrowserWebSocket {
      readyState = 0;
      constructor(url: string) {
        opened.push(url);
      }
    }
    const page: Record<string, any> = {
      WebSocket: BrowserWebSocket,
      location: { protocol: 'http:', hostname: '127.0.0.1', port: '8123' },
      console,
    };
    page.window = page;
    page.self = page;
    runInNewContext(classicScript.toString('utf8'), page);

    const client = page.TornadoWebSocket('/echo');
    assert.ok(client instanceof page.TornadoWebSocket);
    assert.ok(page.tws('chat') instanceof page.TornadoWebSocket);
    assert.deepEqual(opened, ['ws://127.0.0.1:8123/ws/echo', 'ws://127.0.0.1:8123/ws/chat']);
    assert.equal(typeof page.TornadoWebSocket.Module, 'function');
    assert.equal(typeof page.TornadoWebSocket.RequestError, 'function');
    assert.ok(new page.ModuleProgressBar('foo') instanceof page.TornadoWebSocket.Module);
    assert.equal(typeof page.ModuleProgressBar.EngineHtml5, 'function');
    assert.equal(typeof page.ModuleProgressBar.EngineBootstrap, 'function');
  });

  test('uses nothing newer than ES2017', () => {
    const source = classicScript.toString('utf8');
    assert.doesNotMatch(source, /\?\?|\?\.[a-zA-Z_$(]/, 'no nullish coalescing or optional chaining');
    assert.doesNotMatch(source, /#[a-zA-Z_]\w*\s*[=;(]/, 'no private class members');
  });
});
