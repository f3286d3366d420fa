// 2,000 changes in a burst — half in one transaction, half as back-to-back single-row
// transactions — arrive complete and in commit order at realtime-js clients of both vsn, on a
// table binding, a schema-wide binding and a filtered binding of the same channel.
import { it } from 'node:test';
import assert from 'node:assert/strict';

import { VSNS } from './lib/client.mjs';
import { barrier, rows } from './lib/barrier.mjs';
import { serverSuite } from './lib/suite.mjs';
import { show } from './lib/wait.mjs';

const IN_ONE_TRANSACTION = 1000;
const SINGLE_ROW_TRANSACTIONS = 1000;
const TOTAL = IN_ONE_TRANSACTION + SINGLE_ROW_TRANSACTIONS;

const suite = serverSuite({ sql: `
    CREATE TABLE public.burst (seq int PRIMARY KEY, odd bool NOT NULL, body text NOT NULL);
    GRANT SELECT ON public.burst TO anon;` });

// The first position where `seqs` differs from 1..n (or -1), for a readable failure.
function firstGap(seqs, expected) {
  const i = expected.findIndex((v, k) => seqs[k] !== v);
  return i < 0 && seqs.length !== expected.length ? expected.length : i;
}

it(`delivers ${TOTAL} changes in a burst, complete and in commit order, to every client`, async () => {
  const subs = await Promise.all([...VSNS, ...VSNS].map((vsn) => suite.subscriber({ vsn }, {
    table: { event: 'INSERT', schema: 'public', table: 'burst' },
    schema: { event: '*', schema: 'public' },
    odd: { event: 'INSERT', schema: 'public', table: 'burst', filter: 'odd=eq.true' },
  })));

  await suite.server.sql(`INSERT INTO burst SELECT i, i % 2 = 1, 'row ' || i FROM generate_series(1, ${IN_ONE_TRANSACTION}) i`);
  // Back-to-back autocommit inserts on one connection: their commit order is the issue order.
  const conn = await suite.server.pool.connect();
  try {
    const pending = [];
    for (let i = IN_ONE_TRANSACTION + 1; i <= TOTAL; i++) {
      pending.push(conn.query('INSERT INTO burst VALUES ($1, $2, $3)', [i, i % 2 === 1, `row ${i}`]));
    }
    await Promise.all(pending);
  } finally {
    conn.release();
  }
  await barrier(suite.server, subs, { timeoutMs: 120_000 });

  const all = Array.from({ length: TOTAL }, (_, i) => i + 1);
  const odd = all.filter((i) => i % 2 === 1);
  for (const s of subs) {
    for (const [name, want] of [['table', all], ['schema', all], ['odd', odd]]) {
      const seqs = rows(s, name).map((e) => e.payload.new.seq);
      const gap = firstGap(seqs, want);
      assert.equal(gap, -1, `${s.name}/${name}: ${seqs.length} of ${want.length} received; first difference at index ${gap}: ` +
        `got ${show(seqs.slice(Math.max(0, gap - 2), gap + 3))}`);
    }
    const sample = rows(s, 'table')[TOTAL - 1].payload;
    assert.deepEqual(sample.new, { seq: TOTAL, odd: TOTAL % 2 === 1, body: `row ${TOTAL}` });
    assert.equal(sample.errors, null);
  }
});
