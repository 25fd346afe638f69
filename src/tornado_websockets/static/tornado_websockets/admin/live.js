/* The live page of tornado_websockets in the Django admin.
 *
 * Talks to the admin's WebSocket with the library's own client (the TornadoWebSocket global of
 * client.js): `$admin.snapshot` events bring every process's figures about once a second; the page
 * derives the rates, draws the chart of the last five minutes and lists rooms and connections.
 * Everything the server sends is shown with textContent: user names and origins come from
 * clients and are never read as HTML.
 */
(function () {
  'use strict';

  var root = document.getElementById('tws-live');
  if (!root || typeof TornadoWebSocket === 'undefined') return;
  var canClose = root.getAttribute('data-can-close') === '1';
  var HISTORY = 300; // samples kept for the chart: five minutes at one a second
  var history = [];
  var previous = null; // {time, totals: {in, out}, paths: {path: {in, out}}}

  var socket = new TornadoWebSocket(root.getAttribute('data-ws-path'));

  function byId(id) { return document.getElementById(id); }

  function text(value) { return value === null || value === undefined ? '' : String(value); }

  function cell(row, value, className) {
    var td = document.createElement('td');
    td.textContent = text(value);
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function replaceRows(tableId, rows) {
    var body = byId(tableId).tBodies[0];
    while (body.firstChild) body.removeChild(body.firstChild);
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function say(message) { byId('tws-message').textContent = message; }

  function showState() {
    var state = byId('tws-state');
    state.textContent = socket.state;
    state.setAttribute('data-state', socket.state);
  }
  ['open', 'close', 'reconnecting', 'reconnect_failed'].forEach(function (event) {
    socket.on(event, showState);
  });
  socket.on('close', function (event) {
    if (event && event.code && event.code !== 1000) say('Live feed closed (' + event.code + ').');
  });
  socket.on('open', function () {
    socket.request('$watch', { search: byId('tws-search').value }).catch(function () {});
  });
  showState();

  function rate(now, before, seconds) {
    if (typeof before !== 'number' || seconds <= 0) return 0;
    return Math.max(0, (now - before) / seconds);
  }

  function round(value) { return value >= 10 ? Math.round(value) : Math.round(value * 10) / 10; }

  function render(snapshot) {
    var nodes = snapshot.nodes || [];
    var now = Date.now() / 1000;
    var totals = { in: 0, out: 0 };
    var paths = {};
    var order = [];
    nodes.forEach(function (node) {
      (node.paths || []).forEach(function (figures) {
        var path = paths[figures.path];
        if (!path) {
          path = paths[figures.path] = {
            path: figures.path, connections: 0, perNode: [], in: 0, out: 0, rooms: {},
            bytes_waiting: 0, slow_consumer_disconnects: 0, rate_limit_closes: 0,
            refused_handshakes: 0, handler_errors: 0
          };
          order.push(figures.path);
        }
        path.connections += figures.connections_open;
        path.perNode.push(node.node + ': ' + figures.connections_open);
        path.in += figures.messages_received;
        path.out += figures.messages_sent;
        ['bytes_waiting', 'slow_consumer_disconnects', 'rate_limit_closes', 'refused_handshakes',
          'handler_errors'].forEach(function (name) { path[name] += figures[name] || 0; });
        (figures.rooms || []).forEach(function (pair) {
          path.rooms[pair[0]] = (path.rooms[pair[0]] || 0) + pair[1];
        });
        totals.in += figures.messages_received;
        totals.out += figures.messages_sent;
      });
    });

    var seconds = previous ? now - previous.time : 0;
    var rateIn = previous ? rate(totals.in, previous.totals.in, seconds) : 0;
    var rateOut = previous ? rate(totals.out, previous.totals.out, seconds) : 0;
    history.push({ in: rateIn, out: rateOut });
    if (history.length > HISTORY) history.shift();

    var open = 0;
    order.forEach(function (name) { open += paths[name].connections; });
    byId('tws-rate-in').textContent = round(rateIn);
    byId('tws-rate-out').textContent = round(rateOut);
    byId('tws-open').textContent = open;
    byId('tws-updated').textContent = '· updated ' + new Date().toLocaleTimeString() + ' · ' +
      nodes.length + (nodes.length === 1 ? ' process' : ' processes');
    drawChart(rateIn, rateOut);

    replaceRows('tws-nodes', nodes.map(function (node) {
      var row = document.createElement('tr');
      var count = 0;
      (node.paths || []).forEach(function (figures) { count += figures.connections_open; });
      cell(row, node.node);
      cell(row, node.pid);
      cell(row, count);
      var broker = node.broker;
      if (broker) {
        cell(row, broker.name + (broker.connected ? ', connected' : ', disconnected'),
          broker.connected ? '' : 'tws-down');
        cell(row, broker.publish_failures);
        cell(row, broker.reconnects);
      } else {
        cell(row, 'none (one process)');
        cell(row, '');
        cell(row, '');
      }
      return row;
    }));

    var presence = snapshot.presence || {};
    var roomRows = [];
    replaceRows('tws-paths', order.map(function (name) {
      var path = paths[name];
      var before = previous && previous.paths[name];
      var row = document.createElement('tr');
      row.setAttribute('data-path', name);
      cell(row, name);
      cell(row, path.connections + ' (' + path.perNode.join(', ') + ')');
      cell(row, round(before ? rate(path.in, before.in, seconds) : 0));
      cell(row, round(before ? rate(path.out, before.out, seconds) : 0));
      var roomNames = Object.keys(path.rooms).sort(function (a, b) {
        return path.rooms[b] - path.rooms[a] || (a < b ? -1 : 1);
      });
      cell(row, roomNames.length);
      var seen = presence[name];
      cell(row, seen ? (seen.error ? 'error: ' + seen.error
        : seen.clients + ' clients, ' + seen.users + ' users') : 'off');
      cell(row, path.bytes_waiting);
      cell(row, path.slow_consumer_disconnects);
      cell(row, path.rate_limit_closes);
      cell(row, path.refused_handshakes);
      cell(row, path.handler_errors);
      roomNames.forEach(function (room) {
        var roomRow = document.createElement('tr');
        roomRow.setAttribute('data-room', room);
        cell(roomRow, name);
        cell(roomRow, room);
        cell(roomRow, path.rooms[room]);
        roomRows.push(roomRow);
      });
      return row;
    }));
    replaceRows('tws-rooms', roomRows);

    var connections = [];
    var matched = 0;
    nodes.forEach(function (node) {
      var listed = node.connections || { rows: [], matched: 0 };
      matched += listed.matched;
      listed.rows.forEach(function (entry) { connections.push(entry); });
    });
    byId('tws-matched').textContent = matched + ' matching, ' + connections.length + ' listed';
    replaceRows('tws-connections', connections.map(connectionRow));

    var perPath = {};
    order.forEach(function (name) { perPath[name] = { in: paths[name].in, out: paths[name].out }; });
    previous = { time: now, totals: totals, paths: perPath };
  }

  function connectionRow(entry) {
    var row = document.createElement('tr');
    row.setAttribute('data-connection', entry.id);
    cell(row, entry.id);
    cell(row, entry.path);
    cell(row, entry.user ? entry.user + ' (#' + entry.user_id + ')' : 'anonymous');
    cell(row, entry.remote);
    cell(row, entry.origin);
    cell(row, entry.since ? new Date(entry.since * 1000).toLocaleString() : '');
    cell(row, (entry.rooms || []).join(', '), 'tws-conn-rooms');
    cell(row, entry.waiting);
    var actions = cell(row, '');
    if (canClose) {
      actions.appendChild(button('Close', 'tws-close', function () {
        act('$close', { connection: entry.id }, 'Closing ' + entry.id + '…');
      }));
      if (entry.user_id) {
        var all = button('Close user', 'tws-close-user', function () {
          act('$close_user', { user: entry.user_id },
            'Closing every connection of ' + entry.user + '…');
        });
        all.title = 'Close every connection of ' + entry.user + ', on every process';
        actions.appendChild(all);
      }
    }
    return row;
  }

  function button(label, className, onClick) {
    var element = document.createElement('button');
    element.type = 'button';
    element.className = 'button ' + className;
    element.textContent = label;
    element.addEventListener('click', onClick);
    return element;
  }

  function act(event, data, message) {
    say(message);
    socket.request(event, data).then(function () {
      say(message.replace('…', ': done.'));
    }, function (error) {
      say(error && error.message ? error.message : String(error));
    });
  }

  function drawChart(lastIn, lastOut) {
    var canvas = byId('tws-chart');
    canvas.setAttribute('data-samples', String(history.length));
    canvas.setAttribute('data-last-in', String(round(lastIn)));
    canvas.setAttribute('data-last-out', String(round(lastOut)));
    var context = canvas.getContext && canvas.getContext('2d');
    if (!context) return;
    var width = canvas.width;
    var height = canvas.height;
    var top = 1;
    history.forEach(function (sample) { top = Math.max(top, sample.in, sample.out); });
    context.clearRect(0, 0, width, height);
    context.fillStyle = '#888';
    context.font = '11px sans-serif';
    context.fillText(round(top) + ' msg/s', 4, 12);
    // In drawn wide under a thin out: equal rates (an echo) still show both lines.
    [['in', '#2a7ab8', 4], ['out', '#d2691e', 1.5]].forEach(function (series) {
      context.strokeStyle = series[1];
      context.lineWidth = series[2];
      context.beginPath();
      history.forEach(function (sample, index) {
        var x = width - (history.length - 1 - index) * (width / (HISTORY - 1));
        var y = height - 4 - (sample[series[0]] / top) * (height - 20);
        if (index === 0) context.moveTo(x, y); else context.lineTo(x, y);
      });
      context.stroke();
    });
  }

  var searchTimer = null;
  byId('tws-search').addEventListener('input', function (event) {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () {
      socket.request('$watch', { search: event.target.value }).catch(function () {});
    }, 250);
  });

  socket.on('$admin.snapshot', render);
})();
