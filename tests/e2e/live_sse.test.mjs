// Live queries over Server-Sent Events as a newcomer meets them (issue 13), against the
// embedded default: a browser's native EventSource (headless Chromium, no library) on
// GET /live/v1 with the token as apikey receives the first result and then the diff of a row
// inserted with the printed psql command; `walcast watch` prints the table and prints it again
// with the new row, signing its own service_role token with the embedded secret.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { browserSuite, changeDeadlineMs, runPrintedPsql, waitUntil, walcastBin } from './support.mjs'

const { skip, suite } = browserSuite('walcast-e2e-live-sse-')

function serviceKey() {
  return execFileSync(walcastBin, ['token', '--role', 'service_role', '--data-dir', suite.dataDir],
    { encoding: 'utf8' }).trim()
}

test('a browser\'s EventSource streams a live query: the first result, then a diff', { skip }, async () => {
  await runPrintedPsql(suite.w.psql,
    'CREATE TABLE public.sse_board (id int PRIMARY KEY, title text); ' +
    'ALTER PUBLICATION supabase_realtime ADD TABLE public.sse_board; GRANT SELECT ON public.sse_board TO service_role; ' +
    "INSERT INTO public.sse_board VALUES (1, 'first')")
  const origin = new URL(suite.w.inspector).origin
  const page = await suite.browser.newPage()
  const errors = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(`${origin}/`)
  const url = `${origin}/live/v1?` + new URLSearchParams({
    sql: 'SELECT id, title FROM public.sse_board ORDER BY id', throttle_ms: '0', apikey: serviceKey(),
  })
  await page.evaluate((u) => {
    window.liveEvents = []
    const es = new EventSource(u)
    for (const type of ['result', 'diff', 'error'])
      es.addEventListener(type, (e) => window.liveEvents.push({ type, id: e.lastEventId, data: JSON.parse(e.data) }))
  }, url)
  await page.waitForFunction(() => window.liveEvents.length >= 1, null, { timeout: changeDeadlineMs })
  let events = await page.evaluate(() => window.liveEvents)
  assert.equal(events[0].type, 'result', JSON.stringify(events))
  assert.deepEqual(events[0].data.rows, [{ id: 1, title: 'first' }])
  assert.equal(events[0].id, events[0].data.position)
  await runPrintedPsql(suite.w.psql, "INSERT INTO public.sse_board VALUES (2, 'second')")
  await page.waitForFunction(() => window.liveEvents.some((e) => e.type === 'diff'), null, { timeout: changeDeadlineMs })
  events = await page.evaluate(() => window.liveEvents)
  const diff = events.find((e) => e.type === 'diff')
  assert.deepEqual(diff.data.inserted, [{ id: 2, title: 'second' }])
  assert.deepEqual(diff.data.deleted, [])
  assert.deepEqual(errors, [])
  await page.close()
})

test('walcast watch prints the table, then again when a change touches it', { skip }, async () => {
  const origin = new URL(suite.w.inspector).origin
  const child = spawn(walcastBin, ['watch', '--data-dir', suite.dataDir, '--url', origin, '--count', '2',
    '--throttle-ms', '0', 'SELECT id, title FROM public.sse_board ORDER BY id'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => { out += d })
  child.stderr.on('data', (d) => { err += d })
  let code = null
  const exited = new Promise((resolve) => child.on('exit', (c) => { code = c; resolve(c) }))
  try {
    await waitUntil(() => out.includes('(2 rows)') || code !== null, changeDeadlineMs, 'the first table').catch((e) => { throw new Error(`${e.message}; stderr: ${err}`) })
    assert.equal(code, null, `watch exited: ${err}`)
    await runPrintedPsql(suite.w.psql, "INSERT INTO public.sse_board VALUES (3, 'thïrd')")
    assert.equal(await exited, 0, err)
  } finally {
    child.kill()
  }
  const tables = out.split(/\n(?=\d{4}-\d\d-\d\d )/)
  assert.equal(tables.length, 2, out)
  for (const t of tables) assert.match(t, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC {2}\(position [0-9A-F]+\/[0-9A-F]+\)\n/)
  assert.match(tables[0], / id \| title\n----\+--------\n {2}1 \| first\n {2}2 \| second\n\(2 rows\)/)
  assert.match(tables[1], / {2}3 \| thïrd\n\(3 rows\)/)
})
