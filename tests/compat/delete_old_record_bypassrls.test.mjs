// A DELETE's old_record on a table with row-level security (issue 10; spec §6.4 for the
// default): under REPLICA IDENTITY FULL the deleted row is known, so it is decided like any
// other version — a BYPASSRLS role such as service_role and the row's owner get the columns
// they may read, others nothing. Under the default replica identity only the key is known: the
// DELETE goes to every subscriber who may read the table, reduced to the primary key for every
// role (as the reference, which tests the table's flag, RT:`is_rls_enabled`).
import { it } from 'node:test';
import assert from 'node:assert/strict';

import { VSNS } from './lib/client.mjs';
import { barrier } from './lib/barrier.mjs';
import { rlsTableSql, serverSuite } from './lib/suite.mjs';
import { serviceToken, userToken, newUserId } from './lib/tokens.mjs';

const suite = serverSuite({
  sql: rlsTableSql('notes', 'id int PRIMARY KEY, owner uuid NOT NULL, body text', { replicaIdentityFull: true }) +
    rlsTableSql('keyed', 'id int PRIMARY KEY, owner uuid NOT NULL, body text'),
});

it('decides a DELETE under REPLICA IDENTITY FULL on the deleted row, and keeps the key only under the default identity', async () => {
  const [owner, other] = [newUserId(), newUserId()];
  const subs = await Promise.all([serviceToken(), userToken(owner), userToken(other)].map((token, i) =>
    suite.subscriber({ vsn: VSNS[i % 2], token }, {
      full: { event: 'DELETE', schema: 'public', table: 'notes' },
      key: { event: 'DELETE', schema: 'public', table: 'keyed' },
    })));
  await suite.server.sql(`INSERT INTO notes VALUES (1, '${owner}', 'secret body'); INSERT INTO keyed VALUES (1, '${owner}', 'secret body')`);
  await suite.server.sql('DELETE FROM notes WHERE id = 1; DELETE FROM keyed WHERE id = 1');
  await barrier(suite.server, subs);
  const [service, own, others] = subs;
  const full = { id: 1, owner, body: 'secret body' };
  assert.deepEqual(service.of('full').map((e) => e.payload.old), [full], 'service_role (BYPASSRLS)');
  assert.deepEqual(own.of('full').map((e) => e.payload.old), [full], 'the owner');
  assert.deepEqual(others.of('full').map((e) => e.payload.old), [], 'another user');
  for (const [s, who] of [[service, 'service_role'], [own, 'the owner'], [others, 'another user']]) {
    assert.deepEqual(s.of('key').map((e) => e.payload.old), [{ id: 1 }], `${who}: default identity, key only`);
  }
});
