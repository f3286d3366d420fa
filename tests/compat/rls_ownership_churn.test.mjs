// Concurrency (issue 10): writers move rows between owners continuously while 50 subscribers
// of 10 identities listen. Every committed version (writers log each one with RETURNING) is
// expected exactly by the subscribers whose user owned that version: 0 leaked versions (an
// event, or an old_record, showing a version owned by someone else), 0 missing events for
// versions that were visible when committed, each channel in commit order.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { VSNS } from './lib/client.mjs';
import { barrier } from './lib/barrier.mjs';
import { rlsTableSql, serverSuite } from './lib/suite.mjs';
import { userToken } from './lib/tokens.mjs';

const IDENTITIES = 10;
const SUBSCRIBERS = 50;
const WRITERS = 4;
const ROWS_PER_WRITER = 10;
const UPDATES_PER_WRITER = 400;

const suite = serverSuite({
  sql: rlsTableSql('moving', 'id int PRIMARY KEY, owner uuid NOT NULL, v int NOT NULL',
    { replicaIdentityFull: true, grantTo: 'authenticated' }),
});

it('50 subscribers of 10 identities get exactly the versions their user owned while writers move rows', async () => {
  const users = Array.from({ length: IDENTITIES }, () => randomUUID());
  const subs = await Promise.all(Array.from({ length: SUBSCRIBERS }, async (_, i) => {
    const s = await suite.subscriber({ vsn: VSNS[i % 2], token: userToken(users[i % IDENTITIES]) },
      { m: { event: '*', schema: 'public', table: 'moving' } });
    s.user = users[i % IDENTITIES];
    return s;
  }));

  // Each writer owns its rows (no lock waits between writers) and logs every version it
  // committed: [id, v, owner, previous owner].
  const committed = [];
  // mulberry32, seeded: a failure can be replayed.
  let a = 20261201;
  const rand = (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
  await Promise.all(Array.from({ length: WRITERS }, async (_, w) => {
    const conn = await suite.server.pool.connect();
    try {
      const ids = Array.from({ length: ROWS_PER_WRITER }, (_, k) => w * ROWS_PER_WRITER + k + 1);
      const owner = new Map();
      for (const id of ids) {
        const u = users[rand(IDENTITIES)];
        await conn.query('INSERT INTO moving VALUES ($1, $2, 0)', [id, u]);
        committed.push({ id, v: 0, owner: u, prev: null, kind: 'INSERT' });
        owner.set(id, u);
      }
      for (let i = 0; i < UPDATES_PER_WRITER; i++) {
        const id = ids[rand(ids.length)];
        const u = users[rand(IDENTITIES)];
        const r = await conn.query('UPDATE moving SET owner = $2, v = v + 1 WHERE id = $1 RETURNING v', [id, u]);
        committed.push({ id, v: r.rows[0].v, owner: u, prev: owner.get(id), kind: 'UPDATE' });
        owner.set(id, u);
      }
    } finally {
      conn.release();
    }
  }));
  await barrier(suite.server, subs, { timeoutMs: 120_000 });

  const key = (id, v) => `${id}@${v}`;
  const problems = [];
  let delivered = 0;
  for (const s of subs) {
    const events = s.of('m');
    delivered += events.length;
    // Leaks: a version (new or old) owned by someone else.
    const leaks = events.filter((e) => e.payload.new.owner !== s.user ||
      (Object.keys(e.payload.old).length > 0 && e.payload.old.owner !== s.user));
    // Missing: versions of this user not received; every version once.
    const got = new Map(events.map((e) => [key(e.payload.new.id, e.payload.new.v), e]));
    const mine = committed.filter((c) => c.owner === s.user);
    const missing = mine.filter((c) => !got.has(key(c.id, c.v)));
    // old_record: shown exactly when the previous version was this user's too.
    const wrongOld = mine.filter((c) => got.has(key(c.id, c.v))).filter((c) => {
      const old = got.get(key(c.id, c.v)).payload.old;
      return (c.prev === s.user) !== (Object.keys(old).length > 0);
    });
    // Per row, versions in commit order.
    const lastV = new Map();
    const disorder = events.filter((e) => {
      const before = lastV.get(e.payload.new.id) ?? -1;
      lastV.set(e.payload.new.id, e.payload.new.v);
      return e.payload.new.v <= before;
    });
    if (leaks.length || missing.length || wrongOld.length || disorder.length || events.length !== mine.length) {
      problems.push(`${s.name} (user ${s.user}): ${events.length} received, ${mine.length} expected; ` +
        `${leaks.length} leaked, ${missing.length} missing, ${wrongOld.length} wrong old_record, ` +
        `${disorder.length} out of order; first leak ${JSON.stringify(leaks[0]?.payload)}, ` +
        `first missing ${JSON.stringify(missing[0])}`);
    }
  }
  assert.deepEqual(problems, []);
  assert.equal(committed.length, WRITERS * (ROWS_PER_WRITER + UPDATES_PER_WRITER));
  // Each version belongs to one user, whose every subscriber gets it.
  assert.equal(delivered, committed.length * (SUBSCRIBERS / IDENTITIES));
});
