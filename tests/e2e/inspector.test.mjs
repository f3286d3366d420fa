// The inspector page in a real browser (Debian's Chromium, headless, driven by playwright-core):
// it loads from walcast alone (no other origin), subscribes to public.todos with the anon JWT
// the embedded server hands it, and shows inserted, updated and deleted rows newest first.
// A bad token gets no further than any other client's: the WebSocket refuses it. The Broadcast
// & Presence card joins a room with a Node realtime-js client in it: members, messages both ways.
// Leaves a screenshot at $WALCAST_BUILD_DIR/inspector.png.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import {
  browserSuite, buildDir, changeDeadlineMs, realtimeClient, runPrintedPsql,
  waitUntil,
} from './support.mjs'

const { skip, suite } = browserSuite('walcast-e2e-inspector-')

async function openInspector() {
  const page = await suite.browser.newPage()
  const errors = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(suite.w.inspector)
  // The config fetch fills in the anon JWT the embedded server hands the page.
  await page.waitForFunction(() => document.getElementById('token').value.length > 0,
    null, { timeout: changeDeadlineMs })
  return { page, errors }
}

test('subscribes to todos and shows changes newest first', { skip }, async () => {
  const { page, errors } = await openInspector()
  // A token the server signed for role anon (not necessarily the printed one: iat differs).
  const claims = JSON.parse(Buffer.from((await page.inputValue('#token')).split('.')[1], 'base64url'))
  assert.equal(claims.role, 'anon')
  assert.equal(await page.inputValue('#schema'), 'public')
  await page.fill('#table', 'todos')
  await page.selectOption('#event', '*')
  await page.click('#subscribe')

  await page.waitForSelector('#channel-state[data-state="ok"]', { timeout: changeDeadlineMs })
  await page.waitForSelector('#conn[data-state="open"]', { timeout: changeDeadlineMs })
  await page.waitForFunction(() => /Subscribed to PostgreSQL/.test(document.getElementById('system').textContent),
    null, { timeout: changeDeadlineMs })
  const reply = JSON.parse(await page.textContent('#join-reply'))
  assert.equal(reply.status, 'ok')
  assert.equal(reply.response.postgres_changes.length, 1)
  assert.equal(reply.response.postgres_changes[0].table, 'todos')
  assert.equal(typeof reply.response.postgres_changes[0].id, 'number')

  await runPrintedPsql(suite.w.psql, "insert into todos (task) values ('buy milk')")
  await page.locator('#rows tr', { hasText: 'buy milk' }).waitFor({ timeout: changeDeadlineMs })
  const first = page.locator('#rows tr').first()
  assert.match(await first.locator('.c-record').textContent(), /task"buy milk"/)
  assert.equal(await first.getAttribute('data-type'), 'INSERT')
  assert.equal(await first.locator('.c-table').textContent(), 'public.todos')
  assert.match(await first.locator('.c-time').textContent(), /^\d\d:\d\d:\d\d\.\d{3}$/)

  await runPrintedPsql(suite.w.psql, "insert into todos (task) values ('walk the dog')")
  await runPrintedPsql(suite.w.psql, "update todos set task = 'buy oat milk' where task = 'buy milk'")
  await runPrintedPsql(suite.w.psql, "delete from todos where task = 'walk the dog'")
  await page.waitForFunction(() => document.querySelectorAll('#rows tr').length === 4,
    null, { timeout: changeDeadlineMs })
  const types = await page.locator('#rows tr').evaluateAll((rows) => rows.map((r) => r.dataset.type))
  assert.deepEqual(types, ['DELETE', 'UPDATE', 'INSERT', 'INSERT'], 'newest first')
  const update = page.locator('#rows tr').nth(1)
  assert.match(await update.locator('.c-record').textContent(), /buy oat milk/)
  assert.match(await update.locator('.c-old').textContent(), /buy milk/)
  // todos has REPLICA IDENTITY FULL: the DELETE is decided on the deleted row, which anon may
  // read, and carries its columns.
  assert.equal(await page.locator('#rows tr').first().locator('.c-old').textContent(), 'id2task"walk the dog"')
  assert.equal(await page.textContent('#count'), '4')

  await page.waitForFunction(() => !document.querySelector('#rows tr.fresh'), null,
    { timeout: changeDeadlineMs }) // the arrival highlight has faded
  if (buildDir) await page.screenshot({ path: path.join(buildDir, 'inspector.png'), fullPage: true })
  assert.deepEqual(errors, [], 'no script errors on the page')
  const origin = new URL(suite.w.inspector).origin
  const foreign = suite.requests.filter((u) => !u.startsWith(origin) && !u.startsWith(origin.replace('http', 'ws')) &&
    !u.startsWith('data:'))
  assert.deepEqual(foreign, [], 'the page makes no request to another origin')
  await page.close()
})

test('a token the server does not accept gets no subscription', { skip }, async () => {
  const { page } = await openInspector()
  await page.fill('#token', 'not-a-jwt')
  await page.click('#subscribe')
  // The upgrade is refused (401 after CONNECT_ERROR_BACKOFF_MS) and realtime-js keeps retrying;
  // the page says so and never reports a subscription.
  await page.waitForFunction(() => /check the JWT|was the JWT accepted/.test(document.getElementById('conn-text').textContent),
    null, { timeout: changeDeadlineMs })
  assert.notEqual(await page.getAttribute('#channel-state', 'data-state'), 'ok')
  await runPrintedPsql(suite.w.psql, "insert into todos (task) values ('not for strangers')")
  assert.equal(await page.locator('#rows tr').count(), 0)
  await page.close()
})

test('a subscription the server rejects shows its system error', { skip }, async () => {
  const { page } = await openInspector()
  await page.fill('#table', 'todos')
  await page.fill('#filter', 'id=foo.1') // not an operator of the filter grammar (spec §5.2, §5.4)
  await page.click('#subscribe')
  const error = page.locator('#system li[data-status="error"]')
  await error.waitFor({ timeout: changeDeadlineMs })
  assert.match(await error.locator('.msg').textContent(), /Error parsing `filter` params/)
  assert.equal(await error.locator('.ext').textContent(), 'postgres_changes')
  // The join itself succeeded (spec §3.2: bad parameters do not fail the join).
  assert.equal(JSON.parse(await page.textContent('#join-reply')).status, 'ok')
  assert.equal(await page.getAttribute('#channel-state', 'data-state'), 'error')
  await page.close()
})

test('the Broadcast & Presence card sends, receives and shows the members of a room', { skip }, async () => {
  const { page, errors } = await openInspector()
  const node = realtimeClient(suite.w.ws, await page.inputValue('#token'))
  const got = []
  const other = node.channel('e2e-room', { config: { presence: { key: 'node' } } })
  other.on('broadcast', { event: '*' }, (m) => got.push(m))
    .on('presence', { event: 'sync' }, () => {})
  let status = null
  other.subscribe((s) => { status = s })
  await waitUntil(() => status === 'SUBSCRIBED', changeDeadlineMs, 'the node client to join')
  assert.equal(await other.track({ who: 'node' }), 'ok')

  await page.fill('#room-topic', 'e2e-room')
  await page.fill('#room-key', 'page')
  await page.click('#room-join')
  await page.waitForSelector('#room-state[data-state="ok"]', { timeout: changeDeadlineMs })
  await page.locator('#members li[data-key="node"]').waitFor({ timeout: changeDeadlineMs })
  await page.fill('#send-payload', '{"who": "page"}')
  await page.click('#track')
  await page.locator('#members li[data-key="page"]').waitFor({ timeout: changeDeadlineMs })
  assert.equal(await page.textContent('#members-count'), '2')
  await waitUntil(() => Object.keys(other.presenceState()).length === 2, changeDeadlineMs, 'node sees the page')

  // The page sends (ack: send() says ok; self: it sees its own message); node receives it.
  await page.fill('#send-event', 'greeting')
  await page.fill('#send-payload', '{"text": "hello from the page"}')
  await page.click('#send')
  await page.waitForFunction(() => document.getElementById('send-result').textContent === 'send(): ok',
    null, { timeout: changeDeadlineMs })
  await waitUntil(() => got.length === 1, changeDeadlineMs, 'node to receive the page\'s broadcast')
  assert.deepEqual([got[0].event, got[0].payload], ['greeting', { text: 'hello from the page' }])
  // node sends; the page lists both messages, newest first.
  assert.equal(await other.send({ type: 'broadcast', event: 'reply', payload: { text: 'hi page' } }), 'ok')
  await page.locator('#messages li[data-event="reply"]').waitFor({ timeout: changeDeadlineMs })
  const events = await page.locator('#messages li').evaluateAll((lis) => lis.map((li) => li.dataset.event))
  assert.deepEqual(events, ['reply', 'greeting'])
  node.disconnect()
  await page.locator('#members li[data-key="node"]').waitFor({ state: 'detached', timeout: changeDeadlineMs })
  assert.deepEqual(errors, [], 'no script errors on the page')
  await page.close()
})
