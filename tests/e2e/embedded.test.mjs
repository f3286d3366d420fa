// The embedded default as a newcomer meets it: `walcast serve` in a clean directory creates
// and prepares its own Postgres, prints a token and a psql command that work with the real
// @supabase/realtime-js client, stops its cluster on SIGTERM, and a second start on the same
// data keeps the rows, the secret (the first token still works) and the psql command.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import path from 'node:path'
import {
  changeDeadlineMs, cleanUp, freshDir, postgresPidsFor, realtimeClient, runPrintedPsql,
  startWalcast, subscribeChanges, waitUntil,
} from './support.mjs'

const dir = freshDir('walcast-e2e-embedded-')
const dataDir = path.join(dir, 'pgdata')
const started = []
let firstRun = null // what the second start checks against
after(() => cleanUp(started, dataDir, dir))

async function receiveInsert(w, token, task) {
  const client = realtimeClient(w.ws, token)
  try {
    const { changes } = await subscribeChanges(client, `e2e-${task.replace(/\W/g, '-')}`,
      { event: '*', schema: 'public', table: 'todos' })
    await runPrintedPsql(w.psql, `insert into todos (task) values ('${task}')`)
    const change = await waitUntil(() => changes.find((c) => c.new && c.new.task === task),
      changeDeadlineMs, `the INSERT of '${task}' to arrive`)
    assert.equal(change.eventType, 'INSERT')
    assert.equal(change.schema, 'public')
    assert.equal(change.table, 'todos')
    assert.match(change.commit_timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    assert.equal(typeof change.new.id, 'number')
    assert.deepEqual(change.errors, null)
    return change
  } finally {
    await client.removeAllChannels()
    await client.disconnect()
  }
}

async function stopCleanly(w) {
  const code = await w.stop()
  assert.equal(code, 0, `walcast exit code\nstderr:\n${w.stderr}`)
  assert.match(w.stderr, /Postgres stopped/)
  assert.deepEqual(postgresPidsFor(dataDir), [], 'no postgres process is left on the data dir')
  assert.equal(existsSync(path.join(dataDir, 'postmaster.pid')), false, 'postmaster.pid removed')
}

test('first start in a clean directory: initdb, prepared database, a change streams to realtime-js', async () => {
  const w = await startWalcast(['--data-dir', dataDir], { cwd: dir })
  started.push(w)
  assert.match(w.stderr, /initdb/, 'the progress shows initdb')
  // The embedded default listens on 127.0.0.1 only (a development setup).
  assert.match(w.inspector, /^http:\/\/127\.0\.0\.1:\d+\/$/)
  assert.match(w.ws, /^ws:\/\/127\.0\.0\.1:\d+\/socket$/)
  assert.match(w.anonJwt, /^[\w-]+\.[\w-]+\.[\w-]+$/)
  assert.match(w.psql, /^psql "postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres"$/)

  // The demo table is as the Quick start of seed 000 builds it.
  assert.equal(await runPrintedPsql(w.psql,
    "select relrowsecurity::text || ',' || relreplident::text from pg_class where oid = 'public.todos'::regclass"), 'true,f')
  // Its publication is created empty, as Supabase does, and the demo table added to it.
  assert.equal(await runPrintedPsql(w.psql,
    "select puballtables::text from pg_publication where pubname = 'supabase_realtime'"), 'false')
  assert.equal(await runPrintedPsql(w.psql,
    "select string_agg(schemaname || '.' || tablename, ',') from pg_publication_tables where pubname = 'supabase_realtime'"),
    'public.todos')

  await receiveInsert(w, w.anonJwt, 'first run')
  await stopCleanly(w)
  firstRun = { anonJwt: w.anonJwt, psql: w.psql }
})


test('second start on the same data: rows kept, first token still valid, streaming again', async () => {
  assert.ok(firstRun, 'needs the first test')
  const w = await startWalcast(['--data-dir', dataDir], { cwd: dir })
  started.push(w)
  assert.doesNotMatch(w.stderr, /initdb/, 'the existing cluster is reused')
  assert.equal(w.psql, firstRun.psql, 'the same port again: the printed psql command stays valid')
  assert.equal(w.anonJwt, firstRun.anonJwt, 'the printed anon key is the same across restarts')
  assert.equal(await runPrintedPsql(w.psql, 'select string_agg(task, \',\' order by id) from todos'),
    'first run')

  // A second walcast on the same data directory is refused while this one runs.
  const second = await startWalcast(['--data-dir', dataDir], { cwd: dir }).then(
    (w2) => { started.push(w2); return w2 },
    (e) => e)
  assert.ok(second instanceof Error, 'a second walcast on the same data must not start')
  assert.match(second.message, /in use by another walcast/)

  // The secret was kept: the token printed by the first run is still accepted.
  const change = await receiveInsert(w, firstRun.anonJwt, 'second run')
  assert.equal(change.new.id, 2)
  assert.equal(await runPrintedPsql(w.psql, 'select string_agg(task, \',\' order by id) from todos'),
    'first run,second run')
  await stopCleanly(w)
})
