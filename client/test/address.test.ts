import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildUrl, normalisePath, type PageLocation } from '../src/address';

const httpPage: PageLocation = { protocol: 'http:', hostname: 'example.com', port: '8080' };
const httpsPageOnDefaultPort: PageLocation = { protocol: 'https:', hostname: 'example.com', port: '' };

describe('path normalisation', () => {
  test('puts the path under /ws, as the server registers WebSocket(path)', () => {
    assert.equal(normalisePath('/echo'), '/ws/echo');
  });

  test('adds the leading slash the server adds', () => {
    assert.equal(normalisePath('echo'), '/ws/echo');
    assert.equal(normalisePath('module_progressbar'), '/ws/module_progressbar');
  });

  test('strips surrounding spaces first', () => {
    assert.equal(normalisePath('  chat  '), '/ws/chat');
    assert.equal(normalisePath(' /chat\t'), '/ws/chat');
  });

  test('keeps inner slashes', () => {
    assert.equal(normalisePath('/rooms/lobby'), '/ws/rooms/lobby');
  });
});

describe('URL building', () => {
  test('uses the page\'s host and port by default', () => {
    assert.equal(buildUrl('/echo', {}, httpPage), 'ws://example.com:8080/ws/echo');
  });

  test('uses wss and no port on an https page served on its default port', () => {
    assert.equal(buildUrl('echo', {}, httpsPageOnDefaultPort), 'wss://example.com/ws/echo');
  });

  test('falls back to the seed\'s localhost:8000 when there is no page location', () => {
    assert.equal(buildUrl('/echo', {}, undefined), 'ws://localhost:8000/ws/echo');
  });

  test('lets host, port and secure override the page, each on its own', () => {
    assert.equal(buildUrl('/echo', { host: 'ws.example.org' }, httpPage), 'ws://ws.example.org:8080/ws/echo');
    assert.equal(buildUrl('/echo', { port: 9000 }, httpPage), 'ws://example.com:9000/ws/echo');
    assert.equal(buildUrl('/echo', { secure: true }, httpPage), 'wss://example.com:8080/ws/echo');
    assert.equal(buildUrl('/echo', { secure: false }, httpsPageOnDefaultPort), 'ws://example.com/ws/echo');
  });

  test('puts brackets around an IPv6 host', () => {
    assert.equal(buildUrl('/echo', { host: '::1', port: 8000 }, undefined), 'ws://[::1]:8000/ws/echo');
    assert.equal(buildUrl('/echo', {}, { protocol: 'http:', hostname: '[::1]', port: '8000' }), 'ws://[::1]:8000/ws/echo');
  });

  test('uses the url option verbatim, ignoring path and the other options', () => {
    const url = 'wss://push.example.net/socket?token=abc';
    assert.equal(buildUrl('/echo', { url, host: 'other', port: 1, secure: false }, httpPage), url);
  });
});
