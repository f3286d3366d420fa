// Issue 11, smaller defects found on the way: a filter value with a NUL was truncated (and
// matched 'a' for `a\u0000b`); a `sub` claim that is personal data was logged with every
// row-level security failure (Postgres's error quotes the value auth.uid() failed to cast);
// the replication stream going down was logged twice (router and source).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { serverSuite } from '../compat/lib/suite.mjs';
import { Sub, uniqueName } from '../compat/lib/client.mjs';
import { barrier, barrierBinding, rows } from '../compat/lib/barrier.mjs';
import { anonToken, userToken } from '../compat/lib/tokens.mjs';
import { waitUntil } from '../compat/lib/wait.mjs';

const SQL = `
  CREATE TABLE public.tasks (id int PRIMARY KEY, title text NOT NULL);
  GRANT SELECT ON public.tasks TO anon;
  CREATE TABLE public.owned (id int PRIMARY KEY, owner uuid);
  ALTER TABLE public.owned ENABLE ROW LEVEL SECURITY;
  GRANT SELECT ON public.owned TO authenticated;
  CREATE POLICY mine ON public.owned FOR SELECT TO authenticated USING (owner = auth.uid());`;

const count = (text, re) => (text.match(re) ?? []).length;

describe('small defects of issue 11', () => {
  const suite = serverSuite({ sql: SQL });

  it('refuses a NUL in a filter value as Postgres does (22021), instead of filtering for what precedes it', async () => {
    const client = await suite.client({ token: anonToken() });
    const sub = new Sub(client, uniqueName('nul'), {
      rows: { event: 'INSERT', schema: 'public', table: 'tasks', filter: 'title=eq.a\u0000b' },
      barrier: barrierBinding(),
    });
    assert.equal((await sub.subscribe()).status, 'SUBSCRIBED');
    const error = await sub.waitSystem((s) => s.status === 'error', 'the refusal of the NUL');
    assert.match(error.message, /Exception: ERROR 22021 \(character_not_in_repertoire\) invalid byte sequence for encoding "UTF8": 0x00/);
    assert.match(error.message, /hint: a filter value cannot contain the NUL character \(\\u0000\); remove it/);
    await suite.server.sql("INSERT INTO public.tasks VALUES (1, 'a')");
    const witness = await suite.subscriber({ token: anonToken() }, { rows: { event: 'INSERT', schema: 'public', table: 'tasks' } });
    await suite.server.sql("INSERT INTO public.tasks VALUES (2, 'a')");
    await barrier(suite.server, [witness]);
    assert.deepEqual(rows(sub, 'rows'), [], 'the refused channel received rows');
  });

  it('logs row-level security failures without the token\'s sub', async () => {
    const email = `alice-${Date.now()}@example.com`; // not a uuid: auth.uid() fails on it
    const sub = await suite.subscriber({ token: userToken(email) }, { rows: { event: 'INSERT', schema: 'public', table: 'owned' } });
    const before = suite.server.log().length;
    await suite.server.sql('INSERT INTO public.owned VALUES (1, gen_random_uuid())');
    await barrier(suite.server, [sub]);
    await waitUntil(() => /row-level security check/.test(suite.server.log().slice(before)),
      { what: 'the row-level security failure to be logged', dump: () => suite.server.log().slice(before) });
    const log = suite.server.log().slice(before);
    assert.ok(!log.includes(email), `the log holds the sub: ${log}`);
    assert.match(log, /<claim #[0-9a-f]{8}>/, 'the value is named by its hash');
  });

  // Last: it breaks the replication connection.
  it('logs the replication stream going down once', async () => {
    const before = suite.server.log().length;
    const ups = () => count(suite.server.log().slice(before), /replication stream up/g);
    const [{ n }] = await suite.server.sql(
      "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE backend_type = 'walsender'");
    assert.ok(n >= 1, 'no walsender to terminate');
    await waitUntil(() => ups() >= 1, { what: 'the stream to come back', timeoutMs: 30_000, dump: () => suite.server.log().slice(before) });
    const log = suite.server.log().slice(before);
    assert.equal(count(log, /replication stream down/g), 1, log);
  });
});
