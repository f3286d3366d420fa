// A SLOT_NAME slot invalidated by Postgres (max_slot_wal_keep_size exceeded while walcast was
// down), through the real binary and realtime-js: /healthz says what happened and the fix, a
// join made meanwhile is told that changes are being lost (not "Subscribed to PostgreSQL"),
// and once the operator drops the slot walcast creates it again, tells the channel the gap
// closed, and delivers what is committed from then on.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Walcast } from './lib/server.mjs';
import { makeClient, subscribe, news } from './lib/client.mjs';
import { waitUntil } from './lib/wait.mjs';

const SLOT = 'inv_compat_slot';

async function healthz(server) {
  const r = await fetch(`${server.httpUrl}/healthz`);
  return { status: r.status, body: await r.json() };
}

describe('slot invalidated while walcast was down', () => {
  let server;
  let client;
  before(async () => {
    server = await Walcast.start({ SLOT_NAME: SLOT });
    await server.sql(`CREATE TABLE public.inv_items (id int PRIMARY KEY, pad text);
      GRANT SELECT ON public.inv_items TO anon, authenticated`);
  });
  after(async () => {
    await client?.disconnect();
    await server?.sql('ALTER SYSTEM RESET max_slot_wal_keep_size').catch(() => {});
    await server?.stop();
  });

  it('is reported on /healthz and to joins, and streaming resumes once the slot is dropped', async () => {
    await server.kill9();
    // walcast is gone, its Postgres is not: leave the slot behind past a 1MB allowance.
    await server.sql("ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
    await server.sql('SELECT pg_reload_conf()');
    for (let i = 0; i < 3; ++i) {
      await server.sql(`INSERT INTO inv_items SELECT g, repeat('x', 1000)
        FROM generate_series(${i * 3000 + 1}, ${i * 3000 + 3000}) g`);
      await server.sql('SELECT pg_switch_wal()');
    }
    await server.sql('CHECKPOINT');
    await waitUntil(async () => (await server.sql(
      'SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1', [SLOT]))[0]?.wal_status === 'lost',
    { what: 'the slot to be invalidated' });

    await server.restart({ waitReady: false });
    const h = await waitUntil(async () => {
      const x = await healthz(server);
      return x.body.last_gap ? x : null;
    }, { what: '/healthz to report the open gap', timeoutMs: 30_000 });
    assert.equal(h.status, 503);
    assert.match(h.body.reason, new RegExp(`replication slot "${SLOT}" was invalidated by Postgres: ` +
      'This slot has been invalidated because it exceeded the maximum reserved size\\.'));
    assert.match(h.body.reason, /SLOT_RECREATE=true/);
    assert.match(h.body.reason, new RegExp(`pg_drop_replication_slot\\('${SLOT}'\\)`));
    assert.match(h.body.reason, /raise max_slot_wal_keep_size \(now 1MB/);
    assert.equal(h.body.last_gap.open, true);
    assert.match(h.body.last_gap.message, /are not being delivered and will be missing: replication slot/);

    // A join now: subscribed (its bindings are valid), but told the truth.
    client = await makeClient(server);
    const sub = await subscribe(client, { ins: { event: 'INSERT', schema: 'public', table: 'inv_items' } });
    const joined = await sub.waitSystem((m) => m.extension === 'postgres_changes', 'the join system message');
    assert.equal(joined.status, 'error');
    assert.match(joined.message, /^Subscribed to PostgreSQL, but changes (committed since \S+ )?are not being delivered and will be missing: replication slot/);
    assert.ok(!sub.systems.some((m) => m.status === 'ok'), JSON.stringify(sub.systems));

    // The operator's fix: drop the slot. walcast creates it again and streams.
    await server.sql('SELECT pg_drop_replication_slot($1)', [SLOT]);
    const closed = await sub.waitSystem((m) => /may be missing/.test(m.message), 'the closed gap', 30_000);
    assert.equal(closed.status, 'error');
    assert.match(closed.message, new RegExp(`replication slot "${SLOT}" was dropped while walcast was using it|was invalidated by Postgres`));
    await waitUntil(async () => (await healthz(server)).status === 200, { what: '/healthz 200', timeoutMs: 30_000 });
    await server.sql("INSERT INTO inv_items VALUES (0, 'after')");
    await sub.waitFor((s) => news(s.of('ins')).some((r) => r.id === 0), 'the row after the fix');
    assert.deepEqual(news(sub.of('ins')).map((r) => r.id), [0]);
    const after = await healthz(server);
    assert.equal(after.body.last_gap.open, false);
  });
});
