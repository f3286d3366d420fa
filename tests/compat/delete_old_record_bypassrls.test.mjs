// Spec §6.4 / §6.2: a DELETE's old_record is reduced to the primary key whenever row-level
// security is enabled on the table (RT's apply_rls tests the table's flag, `is_rls_enabled`),
// whatever the subscriber's role — a BYPASSRLS role such as service_role included.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Walcast } from './lib/server.mjs';
import { makeClient, subscribe, VSNS } from './lib/client.mjs';
import { serviceToken, userToken, newUserId } from './lib/tokens.mjs';

let server;
const clients = [];

before(async () => {
  server = await Walcast.start();
  await server.sql(`
    CREATE TABLE public.notes (id int PRIMARY KEY, owner uuid NOT NULL, body text);
    ALTER TABLE public.notes REPLICA IDENTITY FULL;
    ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
    CREATE POLICY own ON public.notes FOR SELECT TO authenticated USING (owner = auth.uid());
    GRANT SELECT ON public.notes TO authenticated, service_role;`);
});

after(async () => {
  await Promise.all(clients.map((c) => c.disconnect()));
  await server?.stop();
});

it('reduces the old_record of a DELETE on an RLS table to the primary key for every role (§6.4)', async () => {
  const owner = newUserId();
  const subs = await Promise.all([serviceToken(), userToken(owner)].map(async (token, i) => {
    const c = await makeClient(server, { vsn: VSNS[i % 2], token });
    clients.push(c);
    return subscribe(c, { d: { event: 'DELETE', schema: 'public', table: 'notes' } });
  }));
  await server.sql(`INSERT INTO notes VALUES (1, '${owner}', 'secret body')`);
  await server.sql('DELETE FROM notes WHERE id = 1');
  for (const [s, who] of [[subs[1], 'authenticated'], [subs[0], 'service_role']]) {
    await s.waitCount('d', 1);
    assert.deepEqual(s.of('d')[0].payload.old, { id: 1 }, `${who}: old_record is not reduced to the primary key`);
  }
});
