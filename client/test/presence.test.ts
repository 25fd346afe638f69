import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PresenceChange, PresenceDiff } from '../src/index';
import { openClient, useFakeBrowser } from './support/client-fixture';

useFakeBrowser();

describe('presence', () => {
  test('presence(room) asks the server with $presence and resolves with its entries', async () => {
    const { client, socket } = openClient('/chat');
    const everyone = client.presence();
    const inLobby = client.presence('lobby');
    assert.deepEqual(socket.frames(), [
      { event: '$presence', data: { room: null }, id: 1 },
      { event: '$presence', data: { room: 'lobby' }, id: 2 },
    ]);
    const entry = { client: 'a1b2c3:7', user: { username: 'ann' } };
    socket.receive({ ack: 2, data: [entry] });
    socket.receive({ ack: 1, data: [] });
    assert.deepEqual(await inLobby, [entry]);
    assert.deepEqual(await everyone, []);
  });

  test('presenceStats(room) asks with $presence_stats', async () => {
    const { client, socket } = openClient('/chat');
    const stats = client.presenceStats('lobby');
    assert.deepEqual(socket.frames(), [{ event: '$presence_stats', data: { room: 'lobby' }, id: 1 }]);
    socket.receive({ ack: 1, data: { clients: 3, users: 2 } });
    assert.deepEqual(await stats, { clients: 3, users: 2 });
  });

  test('a $presence_diff frame becomes one presence event, then a join or leave per entry', () => {
    const { client, socket } = openClient('/chat');
    const seen: string[] = [];
    const diffs: PresenceDiff[] = [];
    client.on('presence', (diff: PresenceDiff) => diffs.push(diff));
    client.on('join', (change: PresenceChange) => seen.push('join ' + change.user.username + ' in ' + change.room));
    client.on('leave', (change: PresenceChange) => seen.push('leave ' + change.client + ' in ' + change.room));
    client.on('$presence_diff', () => seen.push('raw frame leaked'));
    socket.receive({
      event: '$presence_diff',
      data: {
        room: 'lobby',
        joins: [{ client: 'n:1', user: { username: 'ann' } }, { client: 'n:2', user: { username: 'bob' } }],
        leaves: [{ client: 'n:3', user: null }, 'not an entry'],
      },
    });
    assert.deepEqual(seen, ['join ann in lobby', 'join bob in lobby', 'leave n:3 in lobby']);
    assert.equal(diffs.length, 1);
    assert.equal(diffs[0]?.leaves.length, 1);
  });

  test('an overflow notice dispatches presence with overflow and no joins or leaves', () => {
    const { client, socket } = openClient('/chat');
    const diffs: PresenceDiff[] = [];
    let changes = 0;
    client.on('presence', (diff: PresenceDiff) => diffs.push(diff));
    client.on('join', () => (changes += 1));
    socket.receive({ event: '$presence_diff', data: { room: null, joins: [], leaves: [], overflow: true } });
    assert.deepEqual(diffs, [{ room: null, joins: [], leaves: [], overflow: true }]);
    assert.equal(changes, 0);
  });
});
