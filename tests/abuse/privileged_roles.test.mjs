// Issue 11, defect 5: a token naming a superuser role ({"role": "postgres"}) or a BYPASSRLS role
// signed with the project secret read a schema no role was granted, past every policy. Such
// roles are refused at join — and when a joined channel's token is refreshed to one — unless
// listed in JWT_ALLOWED_ROLES (default anon, authenticated, service_role), with the shape of the
// reference's subscription errors (ERROR 42501 insufficient_privilege) and the setting named.
// Absence is proven with the barrier row (a channel gets changes in commit order).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { serverSuite } from '../compat/lib/suite.mjs';
import { Walcast } from '../compat/lib/server.mjs';
import { Sub, makeClient, uniqueName } from '../compat/lib/client.mjs';
import { BARRIER_SQL, barrier, barrierBinding, rows } from '../compat/lib/barrier.mjs';
import { roleToken } from '../compat/lib/tokens.mjs';
import { waitUntil } from '../compat/lib/wait.mjs';

// A schema no role of the app is granted, and an app role that bypasses row-level security.
const SQL = `
  CREATE SCHEMA payroll;
  CREATE TABLE payroll.salaries (id int PRIMARY KEY, amount int NOT NULL);
  ALTER TABLE payroll.salaries ENABLE ROW LEVEL SECURITY;
  CREATE TABLE public.notes (id int PRIMARY KEY, body text NOT NULL);
  GRANT SELECT ON public.notes TO anon, authenticated, service_role;
  CREATE ROLE app_admin NOLOGIN BYPASSRLS;
  GRANT USAGE ON SCHEMA payroll TO app_admin;
  GRANT SELECT ON payroll.salaries TO app_admin;
  GRANT SELECT ON public.barrier TO app_admin;
  CREATE ROLE app_reader NOLOGIN;
  GRANT SELECT ON public.notes, public.barrier TO app_reader;`;

const salaries = { event: 'INSERT', schema: 'payroll', table: 'salaries' };
const notes = { event: 'INSERT', schema: 'public', table: 'notes' };

/// A channel of a client whose token names `role`, with a `rows` binding and the barrier.
async function channelAs(suite, role, binding) {
  const client = await suite.client({ token: roleToken(role) });
  const sub = new Sub(client, uniqueName(role), { rows: binding, barrier: barrierBinding() });
  return { client, sub, status: await sub.subscribe() };
}

const errorOf = (sub) => sub.systems.find((s) => s.status === 'error' && s.extension === 'postgres_changes');

describe('default JWT_ALLOWED_ROLES', () => {
  let nextId = 1;
  const suite = serverSuite({ sql: SQL });

  it('refuses a token naming the superuser postgres at join, and delivers none of its rows', async () => {
    const { sub } = await channelAs(suite, 'postgres', salaries);
    const error = await sub.waitSystem((s) => s.status === 'error', 'the postgres_changes error');
    assert.equal(error.extension, 'postgres_changes');
    assert.match(error.message, /^Unable to subscribe to changes with given parameters\. An exception happened so please check your connect parameters: \[event: INSERT, schema: payroll, table: salaries, filters: \[\], select: nil\]\. Exception: ERROR 42501 \(insufficient_privilege\) role "postgres" has SUPERUSER, which bypasses row-level security: tokens naming it are refused/);
    assert.match(error.message, /JWT_ALLOWED_ROLES/, 'the error names the setting that allows the role');
    assert.ok(!sub.systems.some((s) => s.status === 'ok'), 'no "Subscribed to PostgreSQL" for the refused role');

    // A service_role channel proves the row was streamed; the refused one has nothing.
    const service = await channelAs(suite, 'service_role', notes);
    assert.equal(service.status.status, 'SUBSCRIBED');
    await suite.server.sql('INSERT INTO payroll.salaries VALUES ($1, 100000)', [nextId++]);
    await suite.server.sql('INSERT INTO public.notes VALUES ($1, $2)', [nextId++, 'after the salary']);
    await service.sub.waitCount('rows', 1);
    assert.equal(sub.events.length, 0, `the refused channel received ${JSON.stringify(sub.events)}`);
  });

  it('refuses an app role with BYPASSRLS that is not listed', async () => {
    const { sub } = await channelAs(suite, 'app_admin', salaries);
    const error = await sub.waitSystem((s) => s.status === 'error', 'the postgres_changes error');
    assert.match(error.message, /ERROR 42501 \(insufficient_privilege\) role "app_admin" has BYPASSRLS, which bypasses row-level security/);
    assert.match(error.message, /hint: .*JWT_ALLOWED_ROLES/);
  });

  it('allows service_role (BYPASSRLS, listed by default) and app roles row-level security applies to', async () => {
    for (const role of ['service_role', 'app_reader', 'anon', 'authenticated']) {
      const { sub, status } = await channelAs(suite, role, notes);
      assert.equal(status.status, 'SUBSCRIBED', role);
      await sub.waitSystem((s) => s.status === 'ok', `${role}: Subscribed to PostgreSQL`);
      const id = nextId++;
      await suite.server.sql('INSERT INTO public.notes VALUES ($1, $2)', [id, role]);
      await barrier(suite.server, [sub]);
      assert.deepEqual(rows(sub, 'rows').map((e) => e.payload.new.id), [id], role);
      assert.equal(errorOf(sub), undefined, role);
    }
  });

  it('ends a joined channel whose token is refreshed to a refused role, before any row reaches it as that role', async () => {
    const { client, sub, status } = await channelAs(suite, 'anon', notes);
    assert.equal(status.status, 'SUBSCRIBED');
    await sub.waitSystem((s) => s.status === 'ok', 'Subscribed to PostgreSQL');
    const first = nextId++;
    await suite.server.sql('INSERT INTO public.notes VALUES ($1, $2)', [first, 'as anon']);
    await barrier(suite.server, [sub]);

    await client.setAuth(roleToken('postgres'));
    const error = await sub.waitSystem((s) => s.status === 'error', 'the refusal of the refreshed role');
    assert.match(error.message, /ERROR 42501 \(insufficient_privilege\) role "postgres" has SUPERUSER/);
    await sub.waitFor((s) => s.statuses.some((x) => x.status === 'CLOSED' || x.status === 'CHANNEL_ERROR'), 'the channel to close');
    await suite.server.sql('INSERT INTO public.notes VALUES ($1, $2)', [nextId++, 'after the refresh']);
    // A fresh anon channel proves the row was streamed; the ended one did not get it.
    const witness = await channelAs(suite, 'anon', notes);
    await suite.server.sql('INSERT INTO public.notes VALUES ($1, $2)', [nextId++, 'witness']);
    await witness.sub.waitCount('rows', 1);
    assert.deepEqual(rows(sub, 'rows').map((e) => e.payload.new.id), [first]);
  });
});

describe('private Broadcast and Presence channels', () => {
  const suite = serverSuite({ sql: SQL, env: { CHANNEL_ERROR_BACKOFF_MS: '0' } });

  /// A private channel (broadcast, and presence when asked) of a client whose token names role.
  async function privateChannel(role, { presence = false } = {}) {
    const client = await suite.client({ token: roleToken(role) });
    const config = { private: true, broadcast: { self: true }, ...(presence ? { presence: { key: role } } : {}) };
    const channel = client.channel(uniqueName(`private-${role}`), { config });
    const rec = { client, channel, got: [], systems: [], statuses: [] };
    channel.on('broadcast', { event: '*' }, (m) => rec.got.push(m.payload));
    channel.on('system', {}, (m) => rec.systems.push(m));
    rec.status = await new Promise((resolve) => channel.subscribe((status, err) => {
      rec.statuses.push(status);
      if (status === 'SUBSCRIBED' || status === 'CHANNEL_ERROR' || status === 'TIMED_OUT') resolve({ status, err: err?.message });
    }));
    rec.summary = () => ({ status: rec.status, systems: rec.systems, statuses: rec.statuses, got: rec.got });
    return rec;
  }

  it('refuses a superuser or unlisted BYPASSRLS token at join, for broadcast and presence alike, naming the setting', async () => {
    for (const [role, attribute, presence] of [['postgres', 'SUPERUSER', false], ['postgres', 'SUPERUSER', true],
      ['app_admin', 'BYPASSRLS', true]]) {
      const rec = await privateChannel(role, { presence });
      assert.equal(rec.status.status, 'CHANNEL_ERROR', `${role} (presence ${presence}): ${JSON.stringify(rec.summary())}`);
      assert.match(rec.status.err, new RegExp(`^Unauthorized: role "${role}" has ${attribute}, which bypasses row-level security: tokens naming it are refused\\. Fix: .*JWT_ALLOWED_ROLES`));
    }
  });

  it('lets service_role (listed) join a private channel, and ends it when its token is refreshed to postgres', async () => {
    const rec = await privateChannel('service_role', { presence: true });
    assert.equal(rec.status.status, 'SUBSCRIBED', JSON.stringify(rec.summary()));
    await rec.channel.send({ type: 'broadcast', event: 'hello', payload: { n: 1 } });
    await waitUntil(() => rec.got.length === 1, { what: 'the service_role member to get its own broadcast', dump: () => rec.summary() });

    await rec.client.setAuth(roleToken('postgres'));
    await waitUntil(() => rec.systems.some((m) => /role "postgres" has SUPERUSER/.test(m.message ?? '')),
      { what: 'the refusal of the refreshed role', dump: () => rec.summary() });
    await waitUntil(() => rec.statuses.includes('CLOSED') || rec.statuses.includes('CHANNEL_ERROR'),
      { what: 'the channel to end', dump: () => rec.summary() });
  });
});

describe('JWT_ALLOWED_ROLES=postgres', () => {
  let server;
  const clients = [];
  before(async () => {
    server = await Walcast.start({ JWT_ALLOWED_ROLES: 'anon, authenticated,service_role , postgres' });
    await server.sql(`${BARRIER_SQL}\n${SQL}`);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.disconnect()));
    await server?.stop();
  });

  it('lets a listed superuser read as itself, and still refuses unlisted BYPASSRLS roles', async () => {
    const client = await makeClient(server, { token: roleToken('postgres') });
    clients.push(client);
    const sub = new Sub(client, uniqueName('listed'), { rows: salaries, barrier: barrierBinding() });
    assert.equal((await sub.subscribe()).status, 'SUBSCRIBED');
    await sub.waitSystem((s) => s.status === 'ok', 'Subscribed to PostgreSQL');
    await server.sql('INSERT INTO payroll.salaries VALUES (1, 5)');
    await barrier(server, [sub]);
    assert.deepEqual(rows(sub, 'rows').map((e) => e.payload.new), [{ id: 1, amount: 5 }]);

    const other = await makeClient(server, { token: roleToken('app_admin') });
    clients.push(other);
    const refused = new Sub(other, uniqueName('unlisted'), { rows: salaries });
    await refused.subscribe();
    const error = await refused.waitSystem((s) => s.status === 'error', 'the refusal of app_admin');
    assert.match(error.message, /role "app_admin" has BYPASSRLS/);
  });
});
