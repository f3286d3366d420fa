// Row-level security decided on the row version a change carries (issue 10), through
// realtime-js: a row reassigned from A to B never shows B what A wrote, and A does not get the
// version that now belongs to B; a row inserted and deleted right after still reaches its
// owner, every time; a DELETE under REPLICA IDENTITY FULL reaches only those who could see the
// deleted row, with the columns they may read; under default replica identity a DELETE carries
// the key to every subscriber who may read the table, as before; an UPDATE's old_record is
// omitted for a subscriber who could not see the old version.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { VSNS } from './lib/client.mjs';
import { barrier } from './lib/barrier.mjs';
import { rlsTableSql, serverSuite } from './lib/suite.mjs';
import { serviceToken, userToken } from './lib/tokens.mjs';
import { show } from './lib/wait.mjs';

const COLUMNS = 'id int PRIMARY KEY, owner uuid NOT NULL';
const suite = serverSuite({
  sql: rlsTableSql('secrets', `${COLUMNS}, body text`, { replicaIdentityFull: true }) +
    rlsTableSql('jobs', `${COLUMNS}, task text`) +
    rlsTableSql('files', `${COLUMNS}, name text, storage_key text`, { replicaIdentityFull: true, grantTo: 'service_role' }) +
    'GRANT SELECT (id, owner, name) ON public.files TO authenticated;',  // storage_key: service_role only
});

const userSub = (user, bindings, vsn = '2.0.0', token = userToken(user)) => suite.subscriber({ vsn, token }, bindings);

const summary = (s, name) => s.of(name).map((e) => [e.payload.eventType, e.payload.new, e.payload.old]);

it('a row reassigned from A to B shows B only the version it may see, 50 times out of 50', async () => {
  const [A, B] = [randomUUID(), randomUUID()];
  const binding = { t: { event: '*', schema: 'public', table: 'secrets' } };
  const [sa, sb] = await Promise.all([userSub(A, binding, VSNS[0]), userSub(B, binding, VSNS[1])]);
  const N = 50;
  for (let i = 1; i <= N; i++) {
    await suite.server.sql(`INSERT INTO secrets VALUES ($1, '${A}', 'A-private ${i}')`, [i]);
    await suite.server.sql(`UPDATE secrets SET owner = '${B}', body = 'for B ${i}' WHERE id = $1`, [i]);
  }
  await barrier(suite.server, [sa, sb]);
  const leaked = sb.of('t').filter((e) => JSON.stringify(e.payload).includes('A-private'));
  assert.deepEqual(leaked.map((e) => e.payload), [], `B received A's version in ${leaked.length} events over ${N} tries`);
  // B: each UPDATE with the new version; the old version was never B's, so no old_record.
  assert.deepEqual(summary(sb, 't'), Array.from({ length: N }, (_, k) =>
    ['UPDATE', { id: k + 1, owner: B, body: `for B ${k + 1}` }, {}]));
  // A: each INSERT of its own version, never the version that went to B.
  assert.deepEqual(summary(sa, 't'), Array.from({ length: N }, (_, k) =>
    ['INSERT', { id: k + 1, owner: A, body: `A-private ${k + 1}` }, {}]));
  await Promise.all([sa.remove(), sb.remove()]);
});

it('a row inserted and deleted right after reaches its owner every time (100 in a row)', async () => {
  const [owner, other] = [randomUUID(), randomUUID()];
  const binding = { j: { event: '*', schema: 'public', table: 'jobs' } };
  const [so, sx] = await Promise.all([userSub(owner, binding), userSub(other, binding, '1.0.0')]);
  const N = 100;
  for (let i = 1; i <= N; i++) {
    await suite.server.sql(`INSERT INTO jobs VALUES ($1, '${owner}', 'job ${i}')`, [i]);
    await suite.server.sql('DELETE FROM jobs WHERE id = $1', [i]);
  }
  // And inserted and deleted in one transaction.
  await suite.server.tx(async (c) => {
    await c.query(`INSERT INTO jobs VALUES (${N + 1}, '${owner}', 'short-lived')`);
    await c.query(`DELETE FROM jobs WHERE id = ${N + 1}`);
  });
  await barrier(suite.server, [so, sx]);
  const inserts = so.of('j').filter((e) => e.payload.eventType === 'INSERT').map((e) => e.payload.new.id);
  const expected = Array.from({ length: N + 1 }, (_, k) => k + 1);
  assert.deepEqual(inserts, expected, `the owner received ${inserts.length} of ${N + 1} INSERTs`);
  // Default replica identity: every DELETE carries the key to everyone who may read the
  // table (the old row is not known, so it cannot be checked), in commit order.
  const want = expected.flatMap((id) => [['INSERT', id], ['DELETE', id]]);
  assert.deepEqual(so.of('j').map((e) => [e.payload.eventType, e.payload.new.id ?? e.payload.old.id]), want);
  assert.ok(so.of('j').filter((e) => e.payload.eventType === 'DELETE').every((e) =>
    JSON.stringify(e.payload.old) === JSON.stringify({ id: e.payload.old.id })), show(so.of('j').slice(0, 4)));
  assert.deepEqual(sx.of('j').map((e) => [e.payload.eventType, e.payload.old]),
    expected.map((id) => ['DELETE', { id }]), 'the other user sees only the keys of the DELETEs');
  await Promise.all([so.remove(), sx.remove()]);
});

it('a DELETE under REPLICA IDENTITY FULL reaches only those who could see the row, with the columns they may read', async () => {
  const [A, B] = [randomUUID(), randomUUID()];
  const binding = { f: { event: 'DELETE', schema: 'public', table: 'files' } };
  const [sa, sb, ss] = await Promise.all([userSub(A, binding), userSub(B, binding, '1.0.0'),
    suite.subscriber({ vsn: '1.0.0', token: serviceToken() }, binding)]);
  await suite.server.sql(`INSERT INTO files VALUES (1, '${A}', 'a.txt', 'k1'), (2, '${B}', 'b.txt', 'k2'), (3, '${randomUUID()}', 'c.txt', 'k3')`);
  await suite.server.sql('DELETE FROM files WHERE id IN (1, 2, 3)');
  await barrier(suite.server, [sa, sb, ss]);
  assert.deepEqual(summary(sa, 'f'), [['DELETE', {}, { id: 1, owner: A, name: 'a.txt' }]]);
  assert.deepEqual(summary(sb, 'f'), [['DELETE', {}, { id: 2, owner: B, name: 'b.txt' }]]);
  // service_role bypasses row-level security and may read every column.
  assert.deepEqual(ss.of('f').map((e) => e.payload.old.storage_key), ['k1', 'k2', 'k3']);
  await Promise.all([sa.remove(), sb.remove(), ss.remove()]);
});

it('an UPDATE keeps its old_record for a subscriber who could see the old version, and omits it otherwise', async () => {
  const [A, B] = [randomUUID(), randomUUID()];
  const binding = { t: { event: 'UPDATE', schema: 'public', table: 'secrets' } };
  const [sa, sb] = await Promise.all([userSub(A, binding), userSub(B, binding)]);
  await suite.server.sql(`INSERT INTO secrets VALUES (1001, '${A}', 'draft')`);
  await suite.server.sql("UPDATE secrets SET body = 'final' WHERE id = 1001");          // A -> A
  await suite.server.sql(`UPDATE secrets SET owner = '${B}', body = 'yours' WHERE id = 1001`); // A -> B
  await suite.server.sql("UPDATE secrets SET body = 'yours, edited' WHERE id = 1001");  // B -> B
  await barrier(suite.server, [sa, sb]);
  assert.deepEqual(summary(sa, 't'), [
    ['UPDATE', { id: 1001, owner: A, body: 'final' }, { id: 1001, owner: A, body: 'draft' }],
  ]);
  assert.deepEqual(summary(sb, 't'), [
    ['UPDATE', { id: 1001, owner: B, body: 'yours' }, {}],
    ['UPDATE', { id: 1001, owner: B, body: 'yours, edited' }, { id: 1001, owner: B, body: 'yours' }],
  ]);
  await Promise.all([sa.remove(), sb.remove()]);
});
