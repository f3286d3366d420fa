// Every filter operator of spec §5.2 through realtime-js, both vsn: matching and non-matching
// rows, NULLs, `not.`, comma AND, quoted values, typed comparison (§5.3). Each expectation is
// written by hand and cross-checked against the same condition evaluated by Postgres.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { postgresChangesFilter } from '@supabase/realtime-js';

import { Walcast } from './lib/server.mjs';
import { makeClient, subscribe, VSNS, types } from './lib/client.mjs';
import { BARRIER_SQL, barrier, barrierBinding } from './lib/barrier.mjs';
import { show } from './lib/wait.mjs';

const ROWS = `
  (1, 'apple',      1,    1.50,  '2024-01-01 00:00:00+00', true,  'x'),
  (2, 'Banana',     5,    10.00, '2024-06-01 12:00:00+00', false, NULL),
  (3, 'cherry pie', 10,   99.99, '2025-01-01 00:00:00+00', NULL,  'y'),
  (4, 'a,b',        0,    0,     NULL,                     true,  'has "quote"'),
  (5, 'x(y)',       -3,   -1.5,  '2023-12-31 23:59:59+00', false, 'back\\slash'),
  (6, NULL,         NULL, NULL,  NULL,                     NULL,  NULL),
  (7, 'APPLE',      7,    7,     '2024-03-01 00:00:00+00', true,  'z'),
  (8, ' padded ',   2,    2,     '2024-02-01 00:00:00+00', false, 'p'),
  (9, '"quoted"',   3,    3,     '2024-04-01 00:00:00+00', true,  'q')`;

// name: [filter, expected ids (null = only what Postgres says), the same condition in SQL].
const CASES = {
  eq_int: ['qty=eq.5', [2], 'qty = 5'],
  eq_int_leading_zero: ['qty=eq.05', [2], "qty = '05'::int"],
  eq_text: ['name=eq.apple', [1], "name = 'apple'"],
  eq_numeric_dotted_value: ['price=eq.1.5', [1], 'price = 1.5'],
  neq_skips_null: ['qty=neq.5', [1, 3, 4, 5, 7, 8, 9], 'qty <> 5'],
  lt: ['qty=lt.2', [1, 4, 5], 'qty < 2'],
  lte: ['qty=lte.2', [1, 4, 5, 8], 'qty <= 2'],
  gt_numeric: ['price=gt.9.99', [2, 3], 'price > 9.99'],
  gte_timestamptz: ['at=gte.2024-06-01T12:00:00Z', [2, 3], "at >= '2024-06-01T12:00:00Z'"],
  lt_timestamptz_offset: ['at=lt.2024-01-01T01:00:00+01:00', [5], "at < '2024-01-01T01:00:00+01:00'"],
  eq_timestamptz_offset: ['at=eq.2024-01-01T01:00:00+01:00', [1], "at = '2024-01-01T01:00:00+01:00'"],
  text_lt_collation: ['name=lt.b', null, "name < 'b'"],
  in_int: ['qty=in.(1,5,10)', [1, 2, 3], 'qty IN (1, 5, 10)'],
  in_quoted_element: ['name=in.("a,b",apple)', [1, 4], "name IN ('a,b', 'apple')"],
  in_spaces_trimmed: ['name=in.(apple, Banana)', [1, 2], "name IN ('apple', 'Banana')"],
  like: ['name=like.%pp%', [1], "name LIKE '%pp%'"],
  ilike: ['name=ilike.%PP%', [1, 7], "name ILIKE '%PP%'"],
  is_null: ['note=is.null', [2, 6], 'note IS NULL'],
  is_true: ['flag=is.true', [1, 4, 7, 9], 'flag IS TRUE'],
  is_false: ['flag=is.false', [2, 5, 8], 'flag IS FALSE'],
  is_unknown: ['flag=is.unknown', [3, 6], 'flag IS UNKNOWN'],
  match: ['name=match.^[a-c]', [1, 3, 4], "name ~ '^[a-c]'"],
  imatch: ['name=imatch.^b', [2], "name ~* '^b'"],
  isdistinct_matches_null: ['qty=isdistinct.5', [1, 3, 4, 5, 6, 7, 8, 9], 'qty IS DISTINCT FROM 5'],
  not_isdistinct: ['qty=not.isdistinct.5', [2], 'qty IS NOT DISTINCT FROM 5'],
  not_is_null: ['note=not.is.null', [1, 3, 4, 5, 7, 8, 9], 'note IS NOT NULL'],
  not_eq_skips_null: ['qty=not.eq.5', [1, 3, 4, 5, 7, 8, 9], 'NOT (qty = 5)'],
  not_lt: ['qty=not.lt.3', [2, 3, 7, 9], 'NOT (qty < 3)'],
  not_in: ['qty=not.in.(1,5)', [3, 4, 5, 7, 8, 9], 'NOT (qty IN (1, 5))'],
  not_like: ['name=not.like.a%', [2, 3, 5, 7, 8, 9], "NOT (name LIKE 'a%')"],
  and_range: ['qty=gte.1,qty=lte.5', [1, 2, 8, 9], 'qty >= 1 AND qty <= 5'],
  and_mixed: ['name=neq.apple,flag=is.true', [4, 7, 9], "name <> 'apple' AND flag IS TRUE"],
  and_null_check: ['qty=not.is.null, qty=lt.1', [4, 5], 'qty IS NOT NULL AND qty < 1'],
  quoted_comma: ['name=eq."a,b"', [4], "name = 'a,b'"],
  quoted_parens: ['name=eq."x(y)"', [5], "name = 'x(y)'"],
  quoted_escaped_quote: ['note=eq."has \\"quote\\""', [4], `note = 'has "quote"'`],
  quoted_backslash: ['note=eq."back\\\\slash"', [5], "note = 'back\\slash'"],
  quoted_spaces: ['name=eq." padded "', [8], "name = ' padded '"],
  quoted_only_quotes: ['name=eq."\\"quoted\\""', [9], `name = '"quoted"'`],
  quoted_in_and: ['name=eq."a,b",qty=eq.0', [4], "name = 'a,b' AND qty = 0"],
  builder_quoting: [postgresChangesFilter().eq('name', 'a,b').eq('flag', true), [4], "name = 'a,b' AND flag"],
  builder_in: [postgresChangesFilter().in('name', ['x(y)', 'a,b', 'nope']), [4, 5], "name IN ('x(y)', 'a,b', 'nope')"],
  builder_not_is: [postgresChangesFilter().not('note', 'is', null).ilike('name', '%E%'), [1, 3, 7, 8, 9], "note IS NOT NULL AND name ILIKE '%E%'"],
};

let server;
const subs = {}; // vsn -> case -> Sub
const clients = [];
const sqlExpected = {};

before(async () => {
  server = await Walcast.start();
  await server.sql(`
    ${BARRIER_SQL}
    CREATE TABLE public.f (id int PRIMARY KEY, name text, qty int, price numeric, at timestamptz, flag bool, note text);
    CREATE TABLE public.f2 (id int PRIMARY KEY, qty int);
    ALTER TABLE public.f2 REPLICA IDENTITY FULL;
    GRANT SELECT ON public.f, public.f2 TO anon;`);
  for (const vsn of VSNS) {
    const client = await makeClient(server, { vsn });
    clients.push(client);
    subs[vsn] = {};
    await Promise.all(Object.entries(CASES).map(async ([name, [filter]]) => {
      subs[vsn][name] = await subscribe(client, {
        f: { event: 'INSERT', schema: 'public', table: 'f', filter },
        barrier: barrierBinding(),
      }, { name: `${name}-${vsn}` });
    }));
  }
  // The same rows, evaluated by Postgres (after the inserts below) for each condition.
  await server.sql(`INSERT INTO f VALUES ${ROWS}`);
  for (const [name, [, , where]] of Object.entries(CASES)) {
    sqlExpected[name] = (await server.sql(`SELECT id FROM f WHERE ${where} ORDER BY id`)).map((r) => r.id);
  }
  await barrier(server, VSNS.flatMap((v) => Object.values(subs[v])));
});

after(async () => {
  await Promise.all(clients.map((c) => c.disconnect()));
  await server?.stop();
});

for (const vsn of VSNS) {
  describe(`vsn ${vsn}`, () => {
    for (const [name, [filter, expected]] of Object.entries(CASES)) {
      it(`${name}: ${filter}`, () => {
        const s = subs[vsn][name];
        assert.deepEqual(s.systems.map((m) => m.message), ['Subscribed to PostgreSQL'], show(s.systems));
        if (expected) assert.deepEqual(sqlExpected[name], expected, 'the hand-written expectation disagrees with Postgres');
        const got = s.of('f').map((e) => e.payload.new.id);
        assert.deepEqual(got, sqlExpected[name], `delivered ${show(got)}; events ${show(s.of('f'))}`);
      });
    }
  });
}

describe('UPDATE and DELETE under a filter', () => {
  for (const vsn of VSNS) {
    it(`tests UPDATE on the new row and DELETE on the old row (vsn ${vsn})`, async () => {
      const client = clients[VSNS.indexOf(vsn)];
      const s = await subscribe(client, {
        q: { event: '*', schema: 'public', table: 'f2', filter: 'qty=eq.5' },
        barrier: barrierBinding(),
      });
      await server.sql('INSERT INTO f2 VALUES (1, 5), (2, 6)');
      await server.sql('UPDATE f2 SET qty = 6 WHERE id = 1'); // leaves the filter: not sent
      await server.sql('UPDATE f2 SET qty = 5 WHERE id = 1'); // enters it: sent
      await server.sql('UPDATE f2 SET qty = 7 WHERE id = 2'); // never in it
      await server.sql('DELETE FROM f2'); // old row 1 has qty 5: sent; row 2 not
      await barrier(server, [s]);
      assert.deepEqual(s.of('q').map((e) => [e.payload.eventType, e.payload.new.id ?? e.payload.old.id]),
        [['INSERT', 1], ['UPDATE', 1], ['DELETE', 1]]);
      assert.deepEqual(types(s.of('q')), ['INSERT', 'UPDATE', 'DELETE']);
      await s.remove();
      await server.sql('DELETE FROM f2');
    });
  }
});
