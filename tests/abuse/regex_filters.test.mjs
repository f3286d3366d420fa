// Issue 11, defect 2: `match`/`imatch` filters ran on the routing thread with a backtracking
// engine, so 500 bindings of a pattern like `(\w+\s?)*#` from 5 anonymous sockets delayed every
// client's changes by over a second each. Now regular expressions run on RE2 (linear time),
// what RE2 cannot express is refused at join with the rewrite named, bindings are limited per
// channel and per socket, and the column text one socket's pattern filters scan per change is
// bounded (MATCH_BUDGET_BYTES_PER_CHANGE: the crossing channel ends, nothing else does).
// Absence is proven with the barrier row (a channel gets changes in commit order).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { serverSuite } from '../compat/lib/suite.mjs';
import { Sub, uniqueName } from '../compat/lib/client.mjs';
import { barrier, barrierBinding, rows } from '../compat/lib/barrier.mjs';
import { anonToken } from '../compat/lib/tokens.mjs';
import { Probe } from './lib/probe.mjs';

// The probe's rows carry 4,000 a's: the text every hostile pattern below backtracks on.
const SQL = `
  CREATE TABLE public.regex_probe (seq int PRIMARY KEY, note text NOT NULL DEFAULT repeat('a', 4000));
  GRANT SELECT ON public.regex_probe TO anon;
  CREATE TABLE public.texts (id int PRIMARY KEY, t text COLLATE "C", u text);
  GRANT SELECT ON public.texts TO anon;`;

// Catastrophic for a backtracking engine on a run of a's that does not end as they want.
const HOSTILE = ['^(a+)+b$', '(a|aa)+c', '(a*)*b', '^(a|a?)+b$', '(.*a){20}b', '(\\w+\\s?)*#'];
const onProbe = (filter) => ({ event: 'INSERT', schema: 'public', table: 'regex_probe', filter });
const errorOf = (sub) => sub.systems.find((s) => s.status === 'error' && s.extension === 'postgres_changes');

/// `count` bindings on regex_probe, one channel of them per socket, all with distinct patterns.
async function hostileSockets(suite, sockets, perSocket) {
  const subs = [];
  for (let s = 0; s < sockets; ++s) {
    const client = await suite.client({ token: anonToken() });
    const bindings = {};
    for (let k = 0; k < perSocket; ++k) {
      const n = s * perSocket + k;
      bindings[`h${k}`] = onProbe(`note=match.${HOSTILE[n % HOSTILE.length]}|x{${n % 200 + 1}}y`);
    }
    const sub = new Sub(client, uniqueName('hostile'), bindings);
    assert.equal((await sub.subscribe()).status, 'SUBSCRIBED');
    await sub.waitSystem((x) => x.status === 'ok', 'Subscribed to PostgreSQL');
    assert.equal(errorOf(sub), undefined, JSON.stringify(sub.systems));
    subs.push(sub);
  }
  return subs;
}

describe('regular-expression filters', () => {
  const suite = serverSuite({ sql: SQL });

  it('500 hostile bindings from 5 anonymous sockets keep a normal client within the bound', async () => {
    const probe = await Probe.start(suite.server, 'regex_probe');
    try {
      await probe.measure(3); // warm-up: catalog caches, the socket
      const baseline = await probe.measure(30);
      const hostile = await hostileSockets(suite, 5, 100);
      const during = await probe.measure(30);
      probe.assertInOrder(assert);
      console.log(`normal client commit→delivery: p50 ${baseline.p50.toFixed(1)} / p99 ${baseline.p99.toFixed(1)} ms alone, ` +
        `p50 ${during.p50.toFixed(1)} / p99 ${during.p99.toFixed(1)} ms with 500 hostile match bindings`);
      // A backtracking engine needs seconds per change here; RE2 scans 500 × 4,000 characters.
      assert.ok(during.p99 <= 4 * baseline.p99 + 100,
        `the normal client's p99 went from ${baseline.p99} to ${during.p99} ms`);
      // The hostile bindings were evaluated (none matches the a's) and their channels live on.
      for (const h of hostile) {
        assert.equal(h.events.length, 0);
        assert.equal(errorOf(h), undefined);
      }
    } finally {
      await probe.stop();
    }
  });

  it('refuses what RE2 cannot match, naming the rewrite', async () => {
    const cases = [
      ['(a)\\1', /back-references \(\\1\) cannot be matched in linear time.*write the repeated text out/],
      ['a(?=b)', /lookahead \(\?=…\) cannot be matched in linear time.*a\[\^b\] for a\(\?!b\)/],
      ['(?<!a)b', /lookbehind .*\[\^a\]b for \(\?<!a\)b/],
      ['x\\yab', /only evaluated next to a literal word character.*\(\^\|\[\^\[:alnum:\]_\]\)word for \\mword/],
    ];
    const client = await suite.client({ token: anonToken() });
    for (const [pattern, message] of cases) {
      const sub = new Sub(client, uniqueName('refused'),
        { rows: { event: 'INSERT', schema: 'public', table: 'texts', filter: `u=match.${pattern}` } });
      await sub.subscribe();
      const error = await sub.waitSystem((s) => s.status === 'error', `the refusal of ${pattern}`);
      assert.match(error.message, /Exception: ERROR 0A000 \(feature_not_supported\) invalid regular expression for match filter: /);
      assert.match(error.message, message, pattern);
      await sub.remove();
    }
  });

  it('limits bindings per channel and per socket, naming the setting, and gives them back on leave', async () => {
    const client = await suite.client({ token: anonToken() });
    const many = (n, prefix) => Object.fromEntries(Array.from({ length: n },
      (_, k) => [`${prefix}${k}`, onProbe(`note=like.%${prefix}${k}%`)]));

    const tooMany = new Sub(client, uniqueName('wide'), many(101, 'w'));
    await tooMany.subscribe();
    const e1 = await tooMany.waitSystem((s) => s.status === 'error', 'the per-channel refusal');
    assert.match(e1.message, /this channel has 101, the most one channel may have is 100 \(MAX_BINDINGS_PER_CHANNEL\)/);
    await tooMany.remove();

    const first = new Sub(client, uniqueName('first'), many(60, 'a'));
    assert.equal((await first.subscribe()).status, 'SUBSCRIBED');
    await first.waitSystem((s) => s.status === 'ok', 'Subscribed to PostgreSQL');
    const second = new Sub(client, uniqueName('second'), many(41, 'b'));
    await second.subscribe();
    const e2 = await second.waitSystem((s) => s.status === 'error', 'the per-socket refusal');
    assert.match(e2.message, /its other channels have 60 and this join adds 41, the most one socket may have is 100 \(MAX_BINDINGS_PER_CLIENT\)/);
    await second.remove();

    // Another socket is not affected; this one may join again once it left a channel.
    const other = await suite.client({ token: anonToken() });
    const elsewhere = new Sub(other, uniqueName('elsewhere'), many(41, 'c'));
    assert.equal((await elsewhere.subscribe()).status, 'SUBSCRIBED');
    await elsewhere.waitSystem((s) => s.status === 'ok', 'Subscribed to PostgreSQL on another socket');
    await first.remove();
    const again = new Sub(client, uniqueName('again'), many(41, 'd'));
    await again.subscribe();
    await again.waitSystem((s) => s.status === 'ok', 'Subscribed to PostgreSQL after the leave');
    assert.equal(errorOf(again), undefined);
    await again.remove();
    await elsewhere.remove();
  });

  it('matches the rows Postgres\'s own ~ and ~* match', async () => {
    // C collation (t) and the database default, C.UTF-8 (u): Unicode classes and folding.
    const texts = ['abc', 'ABC', 'x abc y', 'abcd', 'a\nb', 'line one\nline two', '50%', 'a.b',
      'back\\slash', 'été', 'ÉTÉ', 'écat', 'cat', 'a cat.', 'tab\there', 'aaaa', 'ab ab', '', 'Z9_',
      'x{2}', 'K', 'k', '\u212a'];
    const patterns = [
      ['match', '^abc$'], ['match', 'abc'], ['imatch', '^abc'], ['match', '(?i)b'], ['match', 'a.b'],
      ['match', '^line'], ['match', 'one$'], ['match', '(?n)^line two$'], ['match', '(?n)one.line'],
      ['match', '\\d+%'], ['match', '[[:alpha:]]+'], ['match', '^[[:upper:]]+$'], ['imatch', '^[[:lower:]]+$'],
      ['match', '\\w\\s\\w'], ['match', '\\S+'], ['match', '[^a-z]'], ['match', '\\mcat\\M'], ['match', '\\ycat'],
      ['match', 'cat\\y'], ['match', '***=a.b'], ['match', '(?x) a  b  # comment'], ['match', 'a{2}'], ['match', 'a{3}b?$'],
      ['match', '(ab) ab'], ['imatch', 'k'], ['imatch', '[j-l]'], ['imatch', '***=A.B'], ['match', '\\\\'], ['match', '\\x41'], ['imatch', 'été'],
      ['match', 'x{2}'], ['match', 'x\\{2\\}'], ['match', '[[.-.]]|[[=e=]]'], ['match', '(a|aa)+$'],
      ['match', '^(a+)+b$'], ['match', '\\t'], ['match', '^$'], ['match', '[]a]'],
    ];
    const columns = ['t', 'u'];
    const client = await suite.client({ token: anonToken() });
    const subs = [];
    for (const column of columns) {
      for (const [op, pattern] of patterns) {
        const sub = new Sub(client, uniqueName('diff'), {
          rows: { event: 'INSERT', schema: 'public', table: 'texts', filter: `${column}=${op}.${pattern}` },
          barrier: barrierBinding(),
        });
        assert.equal((await sub.subscribe()).status, 'SUBSCRIBED');
        await sub.waitFor((s) => s.systems.length > 0, 'the join outcome');
        assert.equal(errorOf(sub), undefined, `${column}=${op}.${pattern}: ${JSON.stringify(sub.systems)}`);
        subs.push({ sub, column, op, pattern });
        // 2 bindings each: at most 50 channels per socket (MAX_BINDINGS_PER_CLIENT).
        if (subs.length >= 40) await checkAgainstPostgres(subs.splice(0));
      }
    }
    await checkAgainstPostgres(subs.splice(0));

    async function checkAgainstPostgres(batch) {
      const base = (await suite.server.sql('SELECT coalesce(max(id), 0) AS m FROM public.texts'))[0].m;
      for (let i = 0; i < texts.length; ++i) {
        await suite.server.sql('INSERT INTO public.texts VALUES ($1, $2, $2)', [base + i + 1, texts[i]]);
      }
      await barrier(suite.server, batch.map((b) => b.sub));
      for (const { sub, column, op, pattern } of batch) {
        const sqlOp = op === 'imatch' ? '~*' : '~';
        const expected = (await suite.server.sql(
          `SELECT id FROM public.texts WHERE id > $1 AND ${column} ${sqlOp} $2 ORDER BY id`, [base, pattern]))
          .map((r) => r.id);
        const got = rows(sub, 'rows').map((e) => e.payload.new.id).sort((a, b) => a - b);
        assert.deepEqual(got, expected, `${column}=${op}.${pattern}`);
        await sub.remove();
      }
    }
  });
});

describe('MATCH_BUDGET_BYTES_PER_CHANGE', () => {
  const suite = serverSuite({ sql: SQL, env: { MATCH_BUDGET_BYTES_PER_CHANGE: '10000' } });

  it('ends only the channel whose filters cross the budget; its socket\'s other channels and other clients go on', async () => {
    const client = await suite.client({ token: anonToken() });
    // 3 × 4,000 characters scanned for each probe row: over 10,000.
    const greedy = new Sub(client, uniqueName('greedy'), {
      a: onProbe('note=match.^a'), b: onProbe('note=imatch.a$'), c: onProbe('note=like.a%'),
    });
    assert.equal((await greedy.subscribe()).status, 'SUBSCRIBED');
    const modest = new Sub(client, uniqueName('modest'), { rows: onProbe('note=match.a'), barrier: barrierBinding() });
    assert.equal((await modest.subscribe()).status, 'SUBSCRIBED');
    const other = await suite.subscriber({ token: anonToken() }, { rows: onProbe('note=like.%a') });
    for (const s of [greedy, modest]) await s.waitSystem((x) => x.status === 'ok', 'Subscribed to PostgreSQL');

    await suite.server.sql('INSERT INTO public.regex_probe (seq) VALUES (1)');
    const ended = await greedy.waitSystem((s) => s.status === 'error', 'the budget message');
    assert.match(ended.message, /scanned more than 10000 bytes of column text for one change.*MATCH_BUDGET_BYTES_PER_CHANGE/);
    await greedy.waitFor((s) => s.statuses.some((x) => x.status === 'CLOSED' || x.status === 'CHANNEL_ERROR'), 'the channel to close');
    await suite.server.sql('INSERT INTO public.regex_probe (seq) VALUES (2)');
    await barrier(suite.server, [modest, other]);
    assert.deepEqual(rows(modest, 'rows').map((e) => e.payload.new.seq), [1, 2]);
    assert.deepEqual(rows(other, 'rows').map((e) => e.payload.new.seq), [1, 2]);
    assert.equal(greedy.events.length, 0, 'the ended channel got nothing of the change that crossed the budget');
    assert.equal((await suite.server.metrics()).get('walcast_match_budget_exceeded_total'), 1);
  });
});
