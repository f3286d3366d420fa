// The WebSocket URL the embedded banner prints (ws://…/socket) works as printed: a plain
// WebSocket client (ws, no realtime-js) opens it, joins a postgres_changes channel and receives
// an INSERT; realtime-js, given the same URL as its endpoint, appends /websocket and works too.
import { before, after, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';

import { Walcast } from './lib/server.mjs';
import { decodeFrame, encodeFrame } from './lib/raw.mjs';
import { waitUntil } from './lib/wait.mjs';

let server;
before(async () => { server = await Walcast.start(); });
after(async () => { await server?.stop(); });

it('a plain WebSocket client on the printed ws://…/socket URL joins and receives a change', async () => {
  assert.match(server.wsUrl, /^ws:\/\/127\.0\.0\.1:\d+\/socket$/);
  const url = `${server.wsUrl}?apikey=${server.anonKey}&vsn=2.0.0`;
  const ws = new WebSocket(url);
  const frames = [];
  let refused = null;
  ws.on('unexpected-response', (_req, res) => { refused = res.statusCode; });
  ws.on('message', (d) => frames.push(decodeFrame('2.0.0', d.toString('utf8'))));
  await waitUntil(() => refused !== null || ws.readyState === WebSocket.OPEN,
    { what: 'the upgrade of the printed URL', dump: () => ({ refused }) });
  assert.equal(refused, null, `the printed URL was refused with HTTP ${refused}`);
  try {
    const topic = 'realtime:banner-url';
    ws.send(encodeFrame('2.0.0', { join_ref: '1', ref: '1', topic, event: 'phx_join', payload: {
      config: { postgres_changes: [{ event: 'INSERT', schema: 'public', table: 'todos' }] },
      access_token: server.anonKey } }));
    await waitUntil(() => frames.some((f) => f.topic === topic && f.event === 'system' &&
      f.payload.status === 'ok' && /Subscribed to PostgreSQL/.test(f.payload.message)),
      { what: '"Subscribed to PostgreSQL"', dump: () => frames.map((f) => f.raw) });
    const reply = frames.find((f) => f.topic === topic && f.event === 'phx_reply' && f.ref === '1');
    assert.equal(reply.payload.status, 'ok', reply.raw);
    await server.sql("insert into todos (task) values ('via the printed URL')");
    const change = await waitUntil(() => frames.find((f) => f.topic === topic &&
      f.event === 'postgres_changes'), { what: 'the INSERT', dump: () => frames.map((f) => f.raw) });
    assert.equal(change.payload.data.type, 'INSERT');
    assert.equal(change.payload.data.record.task, 'via the printed URL');
  } finally {
    ws.close();
  }
});
