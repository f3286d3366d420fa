// Row-level security checks must see the committed transaction. Postgres flushes (and
// walsenders decode) a commit record before the committing backend leaves the ProcArray, so a
// snapshot taken in that window does not see the transaction yet: a check run then would judge
// the previous version of the row — an INSERT withheld although the policy allows it, an
// UPDATE judged by its old row and delivered to a user who may not see the new one. walcast's
// authorizer first waits until the changes' transactions are visible (pg_visible_in_snapshot)
// in the same round trip as the check. Many writers on a loaded machine make the window likely.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { VSNS } from './lib/client.mjs';
import { barrier } from './lib/barrier.mjs';
import { rlsTableSql, serverSuite } from './lib/suite.mjs';
import { userToken } from './lib/tokens.mjs';

const USERS = 6;
const WRITERS = 4;
const ROWS_PER_WRITER = 500;

const suite = serverSuite({
  sql: rlsTableSql('always', 'id int PRIMARY KEY, writer int NOT NULL, owner uuid',
    { using: 'true', policy: 'everyone', grantTo: 'authenticated' }) +
    rlsTableSql('moving', 'id int PRIMARY KEY, owner uuid NOT NULL, v int NOT NULL', { grantTo: 'authenticated' }),
});

it('delivers every committed row a policy allows (the check must see the committed row)', async () => {
  const users = Array.from({ length: USERS }, () => randomUUID());
  const subs = await Promise.all(users.map((u, i) =>
    suite.subscriber({ vsn: VSNS[i % 2], token: userToken(u) }, { t: { event: 'INSERT', schema: 'public', table: 'always' } })));
  await Promise.all(Array.from({ length: WRITERS }, async (_, w) => {
    const conn = await suite.server.pool.connect();
    try {
      for (let i = 0; i < ROWS_PER_WRITER; i++) {
        await conn.query('INSERT INTO always VALUES ($1, $2)', [w * ROWS_PER_WRITER + i + 1, w]);
      }
    } finally {
      conn.release();
    }
  }));
  await barrier(suite.server, subs, { timeoutMs: 120_000 });
  const missing = subs.map((s) => {
    const got = new Set(s.of('t').map((e) => e.payload.new.id));
    return Array.from({ length: WRITERS * ROWS_PER_WRITER }, (_, i) => i + 1).filter((id) => !got.has(id));
  });
  const hidden = (await suite.server.metrics()).get('walcast_rls_hidden_total');
  assert.deepEqual(missing.map((m) => m.length), users.map(() => 0),
    `rows withheld although the policy is USING (true) (walcast_rls_hidden_total ${hidden}); first missing: ${missing.map((m) => m.slice(0, 5).join(',')).join(' | ')}`);
});

it('judges an UPDATE by the new row, never by the version before it', async () => {
  const [a, b] = [randomUUID(), randomUUID()];
  const [sa, sb] = await Promise.all([a, b].map((u, i) =>
    suite.subscriber({ vsn: VSNS[i % 2], token: userToken(u) }, { t: { event: 'UPDATE', schema: 'public', table: 'moving' } })));
  const N = 1000;
  await suite.server.sql(`INSERT INTO moving SELECT i, '${a}', 0 FROM generate_series(1, ${N}) i`);
  // Each row moves from a to b: a must never receive these UPDATEs, b must receive all.
  await Promise.all(Array.from({ length: WRITERS }, async (_, w) => {
    const conn = await suite.server.pool.connect();
    try {
      for (let id = w + 1; id <= N; id += WRITERS) await conn.query(`UPDATE moving SET owner = '${b}', v = 1 WHERE id = $1`, [id]);
    } finally {
      conn.release();
    }
  }));
  await barrier(suite.server, [sa, sb], { timeoutMs: 120_000 });
  const leaked = sa.of('t').map((e) => e.payload.new.id);
  assert.deepEqual(leaked.slice(0, 10), [], `${leaked.length} UPDATEs moving rows away from user a were delivered to a (new owner b)`);
  assert.equal(sb.of('t').length, N, `user b received ${sb.of('t').length} of ${N} UPDATEs of rows it owns`);
});
