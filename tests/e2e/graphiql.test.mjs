// GraphiQL at GET /graphql in headless Chromium: the page walcast embeds (the graphiql package,
// bundled at build time) loads with no request outside walcast, fills in the embedded anon JWT
// as the Authorization header, and runs an operation over walcast's GraphQL socket (the real
// graphql-ws client in the page), showing walcast's answer.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { browserSuite, changeDeadlineMs } from './support.mjs'

const { skip, suite } = browserSuite('walcast-e2e-graphiql-')

test('GET /graphql from a browser is GraphiQL; a plain GET is not the page', { skip }, async () => {
  const origin = new URL(suite.w.inspector).origin
  const page = await fetch(`${origin}/graphql`, { headers: { accept: 'text/html,application/xhtml+xml' } })
  assert.equal(page.status, 200)
  assert.match(page.headers.get('content-type'), /^text\/html/)
  assert.match(await page.text(), /<title>walcast GraphiQL<\/title>/)
  const api = await fetch(`${origin}/graphql`, { headers: { accept: 'application/json' } })
  assert.notEqual((await api.text()).includes('<title>walcast GraphiQL'), true)
})

test('GraphiQL loads, takes the anon JWT and runs an operation over the GraphQL socket', { skip }, async () => {
  const origin = new URL(suite.w.inspector).origin
  const page = await suite.browser.newPage()
  const errors = []
  page.on('pageerror', (e) => errors.push(e.message))
  const sockets = []
  const sent = []
  page.on('websocket', (ws) => {
    sockets.push(ws.url())
    ws.on('framesent', (f) => sent.push(JSON.parse(f.payload)))
  })
  await page.goto(`${origin}/graphql`)
  await page.waitForSelector('.graphiql-container', { timeout: changeDeadlineMs })
  await page.click('.graphiql-execute-button')
  await page.waitForFunction(
    () => /The GraphQL schema is not available|"__schema"/.test(document.querySelector('.result-window')?.textContent ?? ''),
    null, { timeout: changeDeadlineMs })
  const result = await page.textContent('.result-window')
  // walcast answered over the socket (a refused token would read "socket closed 4403").
  assert.doesNotMatch(result, /socket closed/)
  assert.ok(sockets.some((u) => u === `${origin.replace(/^http/, 'ws')}/graphql`), `sockets: ${sockets}`)
  // The Headers tab's embedded anon JWT went as connectionParams.
  const init = sent.find((m) => m.type === 'connection_init')
  assert.ok(init, `frames sent: ${JSON.stringify(sent)}`)
  const token = init.payload.Authorization.replace(/^Bearer /, '')
  assert.equal(JSON.parse(Buffer.from(token.split('.')[1], 'base64url')).role, 'anon')
  assert.ok(sent.some((m) => m.type === 'subscribe' && /__schema/.test(m.payload.query)), 'the operation was sent')
  assert.deepEqual(errors, [])
  const outside = suite.requests.filter((u) => !u.startsWith(origin) && !u.startsWith(origin.replace(/^http/, 'ws')) && !u.startsWith('data:'))
  assert.deepEqual(outside, [], 'no request leaves walcast (no CDN)')
})
