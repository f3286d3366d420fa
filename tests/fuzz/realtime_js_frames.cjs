// Seed frames as the pinned realtime-js (tests/compat/node_modules, 2.119.0) writes them, for
// make_corpus.py: each channel below joins over a recording transport (no network; the join
// reply is fed to the client), then sends what the channel's config allows. Prints one JSON
// line per frame the client sent: {"name", "text"} for a text frame, {"name", "hex"} for a
// binary one (a kind-3 user broadcast push, spec §2.2). Run by `make_corpus.py`, never by CI.
'use strict';
const path = require('path');
const { RealtimeClient } = require(
  path.join(__dirname, '..', 'compat', 'node_modules', '@supabase', 'realtime-js'));

let socket = null;
const frames = [];
class RecordingSocket {
  constructor(url) {
    socket = this;
    this.url = url;
    this.readyState = 0;
    this.binaryType = 'arraybuffer';
    setImmediate(() => {
      this.readyState = 1;
      if (this.onopen) this.onopen({});
    });
  }
  send(data) { frames.push(data); }
  close() { this.readyState = 3; }
}

const bytes = (...b) => new Uint8Array(b).buffer;
// name, channel options, postgres_changes bindings, what to send once joined.
const channels = [
  ['defaults', {}, [], []],
  ['broadcast-ack-self', { config: { broadcast: { ack: true, self: true } } }, [],
    [{ event: 'cursor', payload: { x: 1, y: [2, 'é'] } },
     { event: 'bin', payload: bytes(0, 1, 2, 250, 255) },
     { event: 'empty-binary', payload: bytes() },
     { event: 'ünïcødé', payload: {} }]],
  ['presence-key', { config: { presence: { key: 'u1', enabled: true } } }, [], []],
  ['private-replay', { config: { private: true, broadcast: { replay: { since: 1700000000000, limit: 25 } } } }, [], []],
  ['postgres-changes', {}, [
    { event: '*', schema: 'public', table: 'todos' },
    { event: 'UPDATE', schema: 'public', table: 'todos', filter: 'id=in.(1,2,3)' },
    { event: 'INSERT', schema: 'public', table: 'notes', filter: 'title=eq."a,b"' }], []],
  ['postgres-changes-wait', { config: { postgres_changes_options: { wait: true } } },
    [{ event: 'DELETE', schema: 'public', table: 'todos', filter: 'done=is.true' }], []],
];

async function run() {
  const out = [];
  for (const [name, options, bindings, sends] of channels) {
    frames.length = 0;
    const client = new RealtimeClient('ws://127.0.0.1:9/socket',
      { transport: RecordingSocket, params: { apikey: 'k' }, heartbeatIntervalMs: 1e9 });
    const topic = 'room-' + name;
    const ch = client.channel(topic, options);
    for (const b of bindings) ch.on('postgres_changes', b, () => {});
    const joined = new Promise((resolve) => ch.subscribe((s) => { if (s === 'SUBSCRIBED') resolve(); }));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    const join = JSON.parse(frames[0]);
    socket.onmessage({ data: JSON.stringify([join[0], join[1], join[2], 'phx_reply', {
      status: 'ok',
      response: { postgres_changes: bindings.map((b, i) => ({ id: i + 1, ...b })) } }]) });
    await joined;
    for (const s of sends) {
      ch.send({ type: 'broadcast', event: s.event, payload: s.payload });
    }
    if (name === 'presence-key') ch.track({ online_at: '2026-12-02T00:00:00Z' });
    ch.unsubscribe();
    client.disconnect();
    frames.forEach((f, i) => out.push(typeof f === 'string'
      ? { name: `${name}-${i}`, text: f }
      : { name: `${name}-${i}`, hex: Buffer.from(f).toString('hex') }));
  }
  for (const o of out) console.log(JSON.stringify(o));
}

run().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
