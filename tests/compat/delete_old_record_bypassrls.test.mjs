// A DELETE's old_record on a table with row-level security (issue 10; spec §6.4 for the
// default): under REPLICA IDENTITY FULL the deleted row is known, so it is decided like any
// other version — a BYPASSRLS role such as service_role and the row's owner get the columns
// they may read, others nothing. Under the default replica identity only the key is known: the
// DELETE goes to every subscriber who may read the table, reduced to the primary key for every
// role (as the reference, which tests the table's flag, RT:`is_rls_enabled`).
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Walcast } from './lib/server.mjs';
import { makeClient, subscribe, VSNS } from './lib/client.mjs';
import { BARRIER_SQL, barrier, barrierBinding } from './lib/barrier.mjs';
import { serviceToken, userToken, newUserId } from './lib/tokens.mjs';

let server;
const clients = [];

before(async () => {
  server = await Walcast.start();
  await server.sql(`
    ${BARRIER_SQL}
    CREATE TABLE public.notes (id int PRIMARY KEY, owner uuid NOT NULL, body text);
    ALTER TABLE public.notes REPLICA IDENTITY FULL;
    ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
    CREATE POLICY own ON public.notes FOR SELECT TO authenticated USING (owner = auth.uid());
    GRANT SELECT ON public.notes TO authenticated, service_role;
    CREATE TABLE public.keyed (id int PRIMARY KEY, owner uuid NOT NULL, body text);
    ALTER TABLE public.keyed ENABLE ROW LEVEL SECURITY;
    CREATE POLICY own ON public.keyed FOR SELECT TO authenticated USING (owner = auth.uid());
    GRANT SELECT ON public.keyed TO authenticated, service_role;`);
});

after(async () => {
  await Promise.all(clients.map((c) => c.disconnect()));
  await server?.stop();
});

it('decides a DELETE under REPLICA IDENTITY FULL on the deleted row, and keeps the key only under the default identity', async () => {
  const [owner, other] = [newUserId(), newUserId()];
  const subs = await Promise.all([serviceToken(), userToken(owner), userToken(other)].map(async (token, i) => {
    const c = await makeClient(server, { vsn: VSNS[i % 2], token });
    clients.push(c);
    return subscribe(c, {
      full: { event: 'DELETE', schema: 'public', table: 'notes' },
      key: { event: 'DELETE', schema: 'public', table: 'keyed' },
      barrier: barrierBinding(),
    });
  }));
  await server.sql(`INSERT INTO notes VALUES (1, '${owner}', 'secret body'); INSERT INTO keyed VALUES (1, '${owner}', 'secret body')`);
  await server.sql('DELETE FROM notes WHERE id = 1; DELETE FROM keyed WHERE id = 1');
  await barrier(server, subs);
  const [service, own, others] = subs;
  const full = { id: 1, owner, body: 'secret body' };
  assert.deepEqual(service.of('full').map((e) => e.payload.old), [full], 'service_role (BYPASSRLS)');
  assert.deepEqual(own.of('full').map((e) => e.payload.old), [full], 'the owner');
  assert.deepEqual(others.of('full').map((e) => e.payload.old), [], 'another user');
  for (const [s, who] of [[service, 'service_role'], [own, 'the owner'], [others, 'another user']]) {
    assert.deepEqual(s.of('key').map((e) => e.payload.old), [{ id: 1 }], `${who}: default identity, key only`);
  }
});
