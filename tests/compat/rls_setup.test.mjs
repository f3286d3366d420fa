// Who may see what, set up as a new user would on their own database (issue 10): walcast run as
// a login role that cannot SET ROLE to the API roles says so at start-up with the exact GRANT,
// and a token whose role it cannot assume gets a join error naming it; a table in the
// publication that the subscriber's role may not read is reported to the subscriber (a `system`
// message with the table, the role and the GRANT) and logged once; `walcast db init` names the
// GRANT too.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

import { Walcast, walcastBin } from './lib/server.mjs';
import { makeClient, Sub, subscribe, uniqueName } from './lib/client.mjs';
import { TEST_SECRET, userToken, newUserId } from './lib/tokens.mjs';

let owner; // the embedded cluster's server (superuser), which also hosts the database
let limited; // a second walcast connecting as the login role `limited`
const clients = [];

before(async () => {
  owner = await Walcast.start();
  await owner.sql(`
    CREATE ROLE limited LOGIN REPLICATION;
    GRANT USAGE ON SCHEMA auth TO limited;
    CREATE TABLE public.hush (id int PRIMARY KEY, owner uuid NOT NULL, body text);
    ALTER TABLE public.hush ENABLE ROW LEVEL SECURITY;
    CREATE POLICY own ON public.hush FOR SELECT TO authenticated USING (owner = auth.uid());
    GRANT SELECT ON public.hush TO authenticated, limited;
    CREATE TABLE public.closed (id int PRIMARY KEY, v text); -- no grant to authenticated
    GRANT SELECT ON public.closed TO limited;
    CREATE SCHEMA hidden_schema;
    CREATE TABLE hidden_schema.t (id int PRIMARY KEY);
    GRANT SELECT ON hidden_schema.t TO authenticated; -- but no USAGE on the schema`);
  // (The embedded default's publication supabase_realtime is FOR ALL TABLES.)
  const url = new URL(owner.dbUrl);
  url.username = 'limited';
  // Its own slot: the first server streams from the default one.
  limited = await Walcast.start({ DATABASE_URL: url.toString(), SLOT_NAME: 'walcast_limited' });
});

after(async () => {
  await Promise.all(clients.map((c) => c.disconnect()));
  await limited?.stop();
  await owner?.stop();
});

it('says at start-up which API roles its database user cannot assume, with the GRANT to run', () => {
  const line = limited.log().split('\n').find((l) => l.includes('the user is a member of the JWT roles'));
  assert.ok(line, `no start-up line about the JWT roles in:\n${limited.log()}`);
  assert.match(line, /limited is not a member of anon, authenticated, service_role/);
  assert.match(line, /Fix: as a superuser: GRANT anon, authenticated, service_role TO "limited";/);
  assert.ok(!owner.log().includes('database prerequisite not met: the user is a member'), owner.log());
});

it('refuses a join whose token role it cannot assume, naming the GRANT; after the GRANT it subscribes', async () => {
  const user = newUserId();
  const c = await makeClient(limited, { token: userToken(user) });
  clients.push(c);
  const s = new Sub(c, uniqueName('setup'), { h: { event: '*', schema: 'public', table: 'hush' } });
  const { status } = await s.subscribe();
  assert.equal(status, 'SUBSCRIBED'); // the join reply; the binding's outcome follows
  const m = await s.waitSystem(() => true, 'the subscription outcome');
  assert.equal(m.status, 'error');
  assert.match(m.message, /cannot assume role "authenticated"/);
  assert.match(m.message, /GRANT "authenticated" TO "limited";/);

  await owner.sql('GRANT authenticated TO limited');
  const ok = await subscribe(c, { h: { event: '*', schema: 'public', table: 'hush' } });
  const m2 = await ok.waitSystem(() => true, 'the subscription outcome');
  assert.deepEqual([m2.status, m2.message], ['ok', 'Subscribed to PostgreSQL']);
  await owner.sql(`INSERT INTO hush VALUES (1, '${user}', 'mine'), (2, '${newUserId()}', 'not mine')`);
  await ok.waitCount('h', 1);
  assert.deepEqual(ok.of('h').map((e) => e.payload.new.id), [1]);
});

it('tells a subscriber which tables its role may not read, with the GRANT, and logs it once', async () => {
  await owner.sql('GRANT authenticated TO limited').catch(() => {});
  const subs = [];
  for (let i = 0; i < 2; i++) {
    const c = await makeClient(limited, { token: userToken(newUserId()) });
    clients.push(c);
    subs.push(await subscribe(c, {
      closed: { event: '*', schema: 'public', table: 'closed' },
      hidden: { event: '*', schema: 'hidden_schema', table: 't' },
    }));
  }
  for (const s of subs) {
    await s.waitFor((x) => x.systems.length >= 3, 'three system messages');
    assert.deepEqual(s.systems.map((m) => m.status), ['ok', 'error', 'error']);
    assert.equal(s.systems[0].message, 'Subscribed to PostgreSQL');
    assert.equal(s.systems[1].message, 'Role "authenticated" may not read public.closed (no SELECT privilege): ' +
      'its changes are not sent to this channel. Fix: GRANT SELECT ON "public"."closed" TO "authenticated";');
    // (It has SELECT on the table already: the fix is only the USAGE.)
    assert.equal(s.systems[2].message, 'Role "authenticated" may not read hidden_schema.t (no USAGE on its schema): ' +
      'its changes are not sent to this channel. Fix: GRANT USAGE ON SCHEMA "hidden_schema" TO "authenticated";');
  }
  const logged = limited.log().split('\n').filter((l) => l.includes('which the role may not read'));
  assert.equal(logged.filter((l) => l.includes('public.closed')).length, 1, logged.join('\n'));
  assert.equal(logged.filter((l) => l.includes('hidden_schema.t')).length, 1, logged.join('\n'));
});

it('walcast db init names the GRANT when its user cannot assume the API roles', async () => {
  await owner.sql('REVOKE authenticated FROM limited').catch(() => {});
  const url = new URL(owner.dbUrl);
  url.username = 'limited';
  const r = spawnSync(walcastBin(), ['db', 'init'], {
    env: { ...process.env, DATABASE_URL: url.toString(), JWT_SECRET: TEST_SECRET },
    encoding: 'utf8',
  });
  assert.notEqual(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /GRANT anon, authenticated, service_role TO "limited";/, r.stdout + r.stderr);
});
