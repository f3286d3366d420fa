// A join made while Postgres is down (issue 16): realtime-js gets SUBSCRIBED and one `system`
// error saying walcast subscribes the channel again every 5–10 s; once Postgres is back the
// channel's validation succeeds ("Subscribed to PostgreSQL") and every change committed from
// then on arrives, in order (counted by sequence number). Before, such a channel was never
// retried and received nothing.
import { before, after, it } from 'node:test';
import assert from 'node:assert/strict';

import { Walcast } from './lib/server.mjs';
import { makeClient, subscribe, news } from './lib/client.mjs';
import { waitUntil } from './lib/wait.mjs';

const RETRY = /the database is unreachable .*walcast subscribes this channel again every 5–10 s/s;

let server;
let client;
before(async () => {
  server = await Walcast.start();
  // Never joined before the outage: its validation needs the database (no cached answer).
  await server.sql(`CREATE TABLE public.outage_rows (id bigserial PRIMARY KEY, seq int NOT NULL);
    GRANT SELECT ON public.outage_rows TO anon`);
});
after(async () => {
  client?.disconnect();
  await server?.stop();
});

it('a join during an outage is retried until Postgres is back, then loses nothing', async () => {
  await server.stopPostgres();
  await waitUntil(async () => (await server.fetch('/healthz')).status === 503,
    { what: '/healthz 503 with Postgres stopped', timeoutMs: 20_000 });
  client = await makeClient(server);
  const sub = await subscribe(client, { rows: { event: 'INSERT', schema: 'public', table: 'outage_rows' } });
  await sub.waitSystem((m) => m.status === 'error' && RETRY.test(m.message), 'the retry notice');

  await server.startPostgres();
  const restarted = Date.now();
  // Rows are written from the restart on, before and after the channel is subscribed again.
  let seq = 0;
  let writing = true;
  const committed = []; // [seq, commit acknowledged at]
  const writer = (async () => {
    while (writing) {
      const n = ++seq;
      try {
        await server.sql('INSERT INTO outage_rows (seq) VALUES ($1)', [n]);
        committed.push([n, Date.now()]);
      } catch { /* Postgres still starting, or the pool reconnecting: this seq was not written */ }
    }
  })();
  let subscribedAt = 0;
  try {
    await sub.waitSystem((m) => m.status === 'ok' && m.message === 'Subscribed to PostgreSQL',
      '"Subscribed to PostgreSQL" after the restart', 30_000);
    subscribedAt = Date.now();
    const before = committed.length;
    await waitUntil(() => committed.length >= before + 100, { what: '100 more rows written' });
  } finally {
    writing = false;
    await writer;
  }
  const after = committed.filter(([, at]) => at > subscribedAt).map(([n]) => n);
  assert.ok(after.length >= 100);
  const received = news(sub.of('rows')).map((r) => r.seq);
  await waitUntil(() => {
    const got = new Set(news(sub.of('rows')).map((r) => r.seq));
    return after.every((n) => got.has(n));
  }, { what: `the ${after.length} rows committed after "Subscribed"`,
    dump: () => ({ missing: after.filter((n) => !news(sub.of('rows')).some((r) => r.seq === n)).length }) });
  const seqs = news(sub.of('rows')).map((r) => r.seq);
  const lost = after.filter((n) => !seqs.includes(n));
  assert.equal(lost.length, 0, `lost after "Subscribed": ${lost}`);
  // In order, once each (one channel, one writer).
  for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `out of order at ${i}: ${seqs.slice(i - 2, i + 2)}`);
  const notices = sub.systems.filter((m) => RETRY.test(m.message));
  assert.equal(notices.length, 1, `one retry notice: ${JSON.stringify(sub.systems)}`);
  assert.equal(sub.statuses[0].status, 'SUBSCRIBED');
  const retriedAfter = subscribedAt - restarted;
  // Reported in the log line of the run: how long after the restart the channel was live.
  console.log(`# subscribed ${retriedAfter} ms after Postgres was started; ${after.length} rows after it, ` +
    `${seqs.length} received in all, 0 lost; ${received.length} had arrived when the writer stopped`);
});
