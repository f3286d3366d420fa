// Authorization through realtime-js (issue 4, spec §6): owner policies via auth.uid(), column
// grants hiding columns, DELETEs decided on the deleted row (issue 10), Error 400/401/413 rows, a policy
// that raises for one user while the others keep receiving, token refresh switching identity,
// rejected refreshes, and a token expiring while joined (§9).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { Walcast } from './lib/server.mjs';
import { makeClient, subscribe, uniqueName, VSNS } from './lib/client.mjs';
import { BARRIER_SQL, barrier, barrierBinding } from './lib/barrier.mjs';
import { sign, userToken, nowS } from './lib/tokens.mjs';
import { waitUntil, show } from './lib/wait.mjs';

/** Rows larger than this get Error 413 (MAX_RECORD_BYTES). */
const MAX_RECORD_BYTES = 2048;
const CHECK_FAILED = 'Error 500: row-level security check failed; the server log has the details';

const A = randomUUID();
const B = randomUUID();
const BAD = randomUUID(); // the user for whom the fragile table's policy raises

let server;
const clients = [];

async function userClient(user, vsn, opts = {}) {
  const c = await makeClient(server, { vsn, token: userToken(user, opts) });
  clients.push(c);
  return c;
}

before(async () => {
  server = await Walcast.start({ MAX_RECORD_BYTES });
  await server.sql(`
    ${BARRIER_SQL}
    CREATE TABLE public.notes (id int PRIMARY KEY, owner uuid NOT NULL, body text, secret text);
    ALTER TABLE public.notes REPLICA IDENTITY FULL;
    ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
    CREATE POLICY own_notes ON public.notes FOR SELECT TO authenticated USING (owner = auth.uid());
    GRANT SELECT (id, owner, body) ON public.notes TO authenticated;

    CREATE TABLE public.open_posts (id int PRIMARY KEY, owner uuid, body text);
    ALTER TABLE public.open_posts REPLICA IDENTITY FULL;
    GRANT SELECT ON public.open_posts TO authenticated;

    CREATE TABLE public.pk_hidden (id int PRIMARY KEY, body text);
    GRANT SELECT (body) ON public.pk_hidden TO authenticated;

    CREATE TABLE public.no_pk (body text);
    GRANT SELECT ON public.no_pk TO authenticated;

    CREATE TABLE public.big (id int PRIMARY KEY, small text, c62 text, c63 text, n int, nul text, huge text);
    GRANT SELECT ON public.big TO authenticated;

    CREATE TABLE public.fragile (id int PRIMARY KEY, owner uuid NOT NULL, body text);
    ALTER TABLE public.fragile ENABLE ROW LEVEL SECURITY;
    CREATE FUNCTION public.fragile_visible(o uuid) RETURNS bool LANGUAGE plpgsql STABLE AS $f$
    BEGIN
      IF auth.uid() = '${BAD}' THEN RAISE EXCEPTION 'policy exploded for %', auth.uid(); END IF;
      RETURN o = auth.uid();
    END $f$;
    CREATE POLICY fragile_own ON public.fragile FOR SELECT TO authenticated USING (public.fragile_visible(owner));
    GRANT SELECT ON public.fragile TO authenticated;`);
});

after(async () => {
  await Promise.all(clients.map((c) => c.disconnect()));
  await server?.stop();
});

// Waits until the server has handled everything this client sent so far (frames are handled
// in order on a socket, and the heartbeat reply comes after).
async function roundTrip(client) {
  let ok = false;
  client.onHeartbeat((status) => { if (status === 'ok') ok = true; });
  await client.sendHeartbeat();
  await waitUntil(() => ok, { what: 'a heartbeat round trip' });
}

describe('row-level security', () => {
  let subsA;
  let subsB;
  before(async () => {
    // A on both wire formats (two sockets, one identity), B on V2.
    subsA = await Promise.all(VSNS.map(async (vsn) => subscribe(await userClient(A, vsn), {
      notes: { event: '*', schema: 'public', table: 'notes' },
      open: { event: '*', schema: 'public', table: 'open_posts' },
      barrier: barrierBinding(),
    }, { name: uniqueName(`rls-a-${vsn}`) })));
    subsB = [await subscribe(await userClient(B, '2.0.0'), {
      notes: { event: '*', schema: 'public', table: 'notes' },
      open: { event: '*', schema: 'public', table: 'open_posts' },
      barrier: barrierBinding(),
    })];
  });

  it('delivers each user exactly the rows its owner policy allows, without columns it cannot read', async () => {
    await server.sql(`INSERT INTO notes VALUES (1, '${A}', 'a1', 's'), (2, '${B}', 'b1', 's')`);
    await server.sql(`INSERT INTO notes VALUES (3, '${A}', 'a2', 's')`);
    await server.sql(`INSERT INTO notes VALUES (4, '${randomUUID()}', 'nobody', 's')`);
    await server.sql("UPDATE notes SET body = 'a1b', secret = 't' WHERE id = 1");
    await server.sql("UPDATE notes SET body = 'b1b' WHERE id = 2");
    await barrier(server, [...subsA, ...subsB]);

    for (const s of subsA) {
      assert.deepEqual(s.of('notes').map((e) => [e.payload.eventType, e.payload.new, e.payload.old]), [
        ['INSERT', { id: 1, owner: A, body: 'a1' }, {}],
        ['INSERT', { id: 3, owner: A, body: 'a2' }, {}],
        ['UPDATE', { id: 1, owner: A, body: 'a1b' }, { id: 1, owner: A, body: 'a1' }],
      ], s.name);
      assert.ok(s.of('notes').every((e) => e.payload.errors === null));
    }
    assert.deepEqual(subsB[0].of('notes').map((e) => [e.payload.eventType, e.payload.new.body]),
      [['INSERT', 'b1'], ['UPDATE', 'b1b']]);
  });

  it('sends a DELETE under REPLICA IDENTITY FULL only to who could see the row, with the columns it may read', async () => {
    const before = subsA.map((s) => s.of('notes').length).concat(subsB.map((s) => s.of('notes').length));
    await server.sql('DELETE FROM notes WHERE id IN (1, 2)');
    await barrier(server, [...subsA, ...subsB]);
    [...subsA, ...subsB].forEach((s, i) => {
      assert.deepEqual(s.of('notes').slice(before[i]).map((e) => [e.payload.eventType, e.payload.old, e.payload.new]),
        i < subsA.length ? [['DELETE', { id: 1, owner: A, body: 'a1b' }, {}]] : [['DELETE', { id: 2, owner: B, body: 'b1b' }, {}]],
        s.name);
    });
  });

  it('delivers every row of a table without RLS to every user, with its full old record', async () => {
    await server.sql(`INSERT INTO open_posts VALUES (1, '${A}', 'pa'), (2, '${B}', 'pb')`);
    await server.sql('DELETE FROM open_posts WHERE id = 1');
    await barrier(server, [...subsA, ...subsB]);
    for (const s of [...subsA, ...subsB]) {
      assert.deepEqual(s.of('open').map((e) => [e.payload.eventType, e.payload.new, e.payload.old]), [
        ['INSERT', { id: 1, owner: A, body: 'pa' }, {}],
        ['INSERT', { id: 2, owner: B, body: 'pb' }, {}],
        ['DELETE', {}, { id: 1, owner: A, body: 'pa' }],
      ], s.name);
    }
  });
});

it('decides on the row version, not the live row: inserted and deleted in one transaction, both arrive', async () => {
  const [sa, sopen] = await Promise.all([
    { n: { event: '*', schema: 'public', table: 'notes' } },
    { o: { event: '*', schema: 'public', table: 'open_posts' } },
  ].map(async (b) => subscribe(await userClient(A, '2.0.0'), { ...b, barrier: barrierBinding() })));
  await server.tx(async (c) => {
    await c.query(`INSERT INTO notes VALUES (50, '${A}', 'gone', 's')`);
    await c.query('DELETE FROM notes WHERE id = 50');
    await c.query(`INSERT INTO open_posts VALUES (50, '${A}', 'gone')`);
    await c.query('DELETE FROM open_posts WHERE id = 50');
  });
  await barrier(server, [sa, sopen]);
  assert.deepEqual(sa.of('n').map((e) => [e.payload.eventType, e.payload.new, e.payload.old]), [
    ['INSERT', { id: 50, owner: A, body: 'gone' }, {}],
    ['DELETE', {}, { id: 50, owner: A, body: 'gone' }],
  ]);
  assert.deepEqual(sopen.of('o').map((e) => e.payload.eventType), ['INSERT', 'DELETE']);
  await Promise.all([sa.remove(), sopen.remove()]);
});

describe('error rows', () => {
  for (const vsn of VSNS) {
    it(`sends Error 401 when the primary key is not readable, Error 400 without a primary key (vsn ${vsn})`, async () => {
      const s = await subscribe(await userClient(A, vsn), {
        hidden: { event: 'INSERT', schema: 'public', table: 'pk_hidden' },
        nopk: { event: 'INSERT', schema: 'public', table: 'no_pk' },
        barrier: barrierBinding(),
      });
      const id = vsn === '1.0.0' ? 1 : 2;
      await server.sql("INSERT INTO pk_hidden VALUES ($1, 'x')", [id]);
      await server.sql("INSERT INTO no_pk VALUES ('y')");
      await barrier(server, [s]);
      const shape = (e) => ({ ...e.payload });
      assert.deepEqual(s.of('hidden').map(shape), [{ schema: 'public', table: 'pk_hidden', commit_timestamp: null,
        eventType: 'INSERT', new: {}, old: {}, errors: ['Error 401: Unauthorized'] }]);
      assert.deepEqual(s.of('nopk').map(shape), [{ schema: 'public', table: 'no_pk', commit_timestamp: null,
        eventType: 'INSERT', new: {}, old: {}, errors: ['Error 400: Bad Request, no primary key'] }]);
      await s.remove();
    });
  }

  it(`sends Error 413 above MAX_RECORD_BYTES, keeping only values of at most 64 encoded bytes (§6.5)`, async () => {
    const s = await subscribe(await userClient(A, '2.0.0'), { big: { event: '*', schema: 'public', table: 'big' }, barrier: barrierBinding() });
    const c62 = 'x'.repeat(62); // 64 bytes as JSON: kept
    const c63 = 'y'.repeat(63); // 65 bytes: dropped
    await server.sql("INSERT INTO big VALUES (1, 'short', $1, $2, 5, NULL, 'small enough')", [c62, c63]);
    await server.sql("INSERT INTO big VALUES (2, 'short', $1, $2, 5, NULL, $3)", [c62, c63, 'z'.repeat(MAX_RECORD_BYTES + 100)]);
    await barrier(server, [s]);
    const [ok, big] = s.of('big');
    assert.deepEqual([ok.payload.errors, ok.payload.new], [null, { id: 1, small: 'short', c62, c63, n: 5, nul: null, huge: 'small enough' }]);
    assert.deepEqual(big.payload.errors, ['Error 413: Payload Too Large']);
    assert.deepEqual(big.payload.new, { id: 2, small: 'short', c62, n: 5 });
    assert.match(big.payload.commit_timestamp, /Z$/);
    assert.equal(s.of('big').length, 2);
    await s.remove();
  });
});

it('keeps delivering to other users while a policy raises for one user; that user gets error rows', async () => {
  const other = randomUUID();
  const [sa, sb, sbad] = await Promise.all([[A, '1.0.0'], [B, '2.0.0'], [BAD, '2.0.0']].map(async ([u, vsn]) =>
    subscribe(await userClient(u, vsn), { f: { event: '*', schema: 'public', table: 'fragile' }, barrier: barrierBinding() })));
  let id = 0;
  for (let round = 0; round < 5; round++) {
    await server.sql(`INSERT INTO fragile VALUES ($1, '${A}', 'a'), ($2, '${BAD}', 'bad'), ($3, '${B}', 'b'), ($4, '${other}', 'o')`,
      [++id, ++id, ++id, ++id]);
  }
  await barrier(server, [sa, sb, sbad]);
  assert.deepEqual(sa.of('f').map((e) => e.payload.new.id), [1, 5, 9, 13, 17]);
  assert.deepEqual(sb.of('f').map((e) => e.payload.new.id), [3, 7, 11, 15, 19]);
  assert.ok([...sa.of('f'), ...sb.of('f')].every((e) => e.payload.errors === null));
  // The failing identity: one error row per change it would have been checked for, no data.
  assert.equal(sbad.of('f').length, 20, show(sbad.of('f')));
  for (const e of sbad.of('f')) {
    assert.deepEqual({ ...e.payload }, { schema: 'public', table: 'fragile', commit_timestamp: null, eventType: 'INSERT',
      new: {}, old: {}, errors: [CHECK_FAILED] });
  }
  assert.match(server.log(), /policy exploded/);
});

describe('tokens on a joined channel (§9)', () => {
  for (const vsn of VSNS) {
    it(`setAuth(newToken) switches the channel's identity for the changes after it (vsn ${vsn})`, async () => {
      const base = vsn === '1.0.0' ? 1000 : 2000;
      const client = await userClient(A, vsn);
      const s = await subscribe(client, { notes: { event: 'INSERT', schema: 'public', table: 'notes' }, barrier: barrierBinding() });
      await server.sql(`INSERT INTO notes VALUES ($1, '${A}', 'for a', 's'), ($2, '${B}', 'for b', 's')`, [base + 1, base + 2]);
      await barrier(server, [s]);
      assert.deepEqual(s.of('notes').map((e) => e.payload.new.id), [base + 1]);

      await client.setAuth(userToken(B));
      await roundTrip(client);
      await server.sql(`INSERT INTO notes VALUES ($1, '${A}', 'for a', 's'), ($2, '${B}', 'for b', 's')`, [base + 3, base + 4]);
      await barrier(server, [s]);
      assert.deepEqual(s.of('notes').map((e) => e.payload.new.id), [base + 1, base + 4]);
      assert.ok(s.systems.every((m) => m.status === 'ok'), show(s.systems));
      assert.equal(s.channel.state, 'joined');
      await s.remove();
    });
  }

  // Tokens are minted when the test runs (the expired one's age is in the message).
  const rejected = {
    expired: [() => sign({ role: 'authenticated', sub: A, exp: nowS() - 10 }), /^Token has expired (10|11|12) seconds ago$/],
    not_a_jwt: [() => 'garbage', /^The token provided is not a valid JWT$/],
    missing_role: [() => sign({ sub: A, exp: nowS() + 600 }), /^Fields `role` and `exp` are required in JWT$/],
  };
  for (const [name, [mint, message]] of Object.entries(rejected)) {
    it(`a rejected refresh (${name}) sends the system error, then closes the channel`, async () => {
      const client = await userClient(A, '2.0.0');
      const s = await subscribe(client, { notes: { event: '*', schema: 'public', table: 'notes' } });
      await client.setAuth(mint());
      const m = await s.waitSystem((x) => x.extension === 'system');
      assert.deepEqual({ ...m, message: 'x' }, { channel: s.name, extension: 'system', message: 'x', status: 'error' });
      assert.match(m.message, message);
      await s.waitFor((x) => x.statuses.some((st) => st.status === 'CLOSED'), 'CLOSED after the system error');
      assert.equal(s.channel.state, 'closed');
    });
  }

  it('ignores a refresh with an sb_ key (§9): no message, the channel keeps its identity', async () => {
    const client = await userClient(A, '1.0.0');
    const s = await subscribe(client, { notes: { event: 'INSERT', schema: 'public', table: 'notes' }, barrier: barrierBinding() });
    await client.setAuth('sb_publishable_abc123');
    await server.sql(`INSERT INTO notes VALUES (60, '${A}', 'still a', 's'), (61, '${B}', 'b', 's')`);
    await barrier(server, [s]);
    assert.deepEqual(s.of('notes').map((e) => e.payload.new.id), [60]);
    assert.deepEqual(s.systems.map((m) => m.message), ['Subscribed to PostgreSQL']);
    assert.equal(s.channel.state, 'joined');
    await s.remove();
  });

  it('a token expiring while joined gets "Token has expired 0 seconds ago" at its exp, then phx_close', async () => {
    const exp = nowS() + 3;
    const subs = await Promise.all(VSNS.map(async (vsn) => {
      const client = await makeClient(server, { vsn, token: sign({ role: 'authenticated', sub: A, exp }) });
      clients.push(client);
      const s = await subscribe(client, { notes: { event: '*', schema: 'public', table: 'notes' } });
      s.channel.on('system', {}, () => { s.systemAt ??= Date.now(); });
      return s;
    }));
    for (const s of subs) {
      const m = await s.waitSystem((x) => x.extension === 'system', 'the expiry message', 10_000);
      assert.deepEqual(m, { channel: s.name, extension: 'system', message: 'Token has expired 0 seconds ago', status: 'error' });
      const lateMs = s.systemAt - exp * 1000;
      assert.ok(lateMs >= -50 && lateMs <= 2000, `expiry message ${lateMs} ms after exp (want within 2 s)`);
      await s.waitFor((x) => x.statuses.some((st) => st.status === 'CLOSED'), 'CLOSED after expiry');
    }
  });
});
