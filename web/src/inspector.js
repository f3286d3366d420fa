// The inspector page: one RealtimeClient (the real @supabase/realtime-js, bundled by esbuild)
// connected to the walcast that serves this page, one channel with one postgres_changes
// binding built from the form, and a live newest-first table of what arrives; a second
// channel for Broadcast and Presence (send, track, the members and the messages).
import { RealtimeClient } from '@supabase/realtime-js'

const MAX_ROWS = 500 // older rows are dropped so a busy table cannot grow the page forever
const MAX_VALUE_CHARS = 160 // longer values are cut in the table; the full value is the tooltip

const $ = (id) => document.getElementById(id)
const wsEndpoint = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/socket`

let client = null
let clientToken = null
let channel = null
let channelSeq = 0
let received = 0
let lastSocketError = false

// ---- small DOM helpers (textContent only: record values are never parsed as HTML) ----------

function el(tag, className, text) {
  const e = document.createElement(tag)
  if (className) e.className = className
  if (text !== undefined) e.textContent = text
  return e
}

function isEmpty(obj) {
  return !obj || (typeof obj === 'object' && Object.keys(obj).length === 0)
}

function shortValue(v) {
  const s = JSON.stringify(v)
  if (s === undefined) return String(v)
  return s.length > MAX_VALUE_CHARS ? s.slice(0, MAX_VALUE_CHARS - 1) + '…' : s
}

// A record as "key value" pairs; keys whose value differs from `other` are marked (UPDATE).
function renderRecord(record, other) {
  const wrap = el('div', 'record')
  for (const [k, v] of Object.entries(record)) {
    const pair = el('span', 'pair')
    if (other && !isEmpty(other) && JSON.stringify(other[k]) !== JSON.stringify(v)) {
      pair.classList.add('changed')
    }
    pair.append(el('span', 'k', k), el('span', 'v', shortValue(v)))
    pair.title = `${k} = ${JSON.stringify(v)}`
    wrap.append(pair)
  }
  return wrap
}

function formatTime(iso) {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const pad = (n, w = 2) => String(n).padStart(w, '0')
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
}

// ---- connection state --------------------------------------------------------------------

function setConn(state, text) {
  const c = $('conn')
  c.dataset.state = state
  $('conn-text').textContent = text
}

function pollConnection() {
  if (!client) return setConn('closed', 'not connected')
  const s = client.connectionState()
  if (s === 'open') {
    lastSocketError = false
    setConn('open', 'connected')
  } else if (s === 'connecting') {
    setConn('connecting', lastSocketError ? 'reconnecting… (was the JWT accepted?)' : 'connecting…')
  } else {
    setConn('closed', lastSocketError ? 'connection failed — check the JWT' : s)
  }
}

function setChannelState(state, text) {
  const s = $('channel-state')
  s.dataset.state = state
  s.textContent = text || state
}

// ---- join result and system messages ----------------------------------------------------

// The server's phx_reply payload verbatim, plus a one-line summary above it.
function showJoinReply(payload) {
  const pre = $('join-reply')
  pre.classList.remove('empty')
  const status = payload && payload.status ? payload.status : '?'
  pre.dataset.status = status
  pre.textContent = JSON.stringify(payload, null, 1).replace(/\n\s*/g, ' ')
  const summary = $('join-summary')
  summary.dataset.status = status
  const bindings = payload && payload.response && payload.response.postgres_changes
  if (status === 'ok' && Array.isArray(bindings)) {
    summary.textContent = `ok · ${bindings.length} binding${bindings.length === 1 ? '' : 's'}` +
      (bindings.length ? ` · id ${bindings.map((b) => b.id).join(', ')}` : '')
  } else {
    summary.textContent = status === 'error' && payload.response && payload.response.reason
      ? `error · ${payload.response.reason}` : status
  }
}

function addSystem(payload) {
  const list = $('system')
  const empty = list.querySelector('.empty')
  if (empty) empty.remove()
  const li = el('li')
  li.dataset.status = payload.status || ''
  li.append(
    el('span', 'when', formatTime(new Date().toISOString())),
    el('span', 'badge ' + (payload.status === 'ok' ? 'ok' : 'error'), payload.status || '?'),
    el('span', 'ext', payload.extension || ''),
    el('span', 'msg', payload.message || JSON.stringify(payload)),
  )
  list.prepend(li)
  while (list.children.length > 50) list.lastChild.remove()
}

function resetJoinPanel() {
  $('join-summary').textContent = ''
  const pre = $('join-reply')
  pre.className = 'json empty'
  pre.dataset.status = ''
  pre.textContent = 'Waiting for the reply…'
  $('system').replaceChildren(el('li', 'empty', 'None yet.'))
}

// ---- changes table -----------------------------------------------------------------------

function addChange(p) {
  received += 1
  $('count').textContent = String(received)
  $('placeholder').hidden = true
  const type = p.eventType || '?'
  const tr = el('tr', 'fresh')
  tr.dataset.type = type
  const typeCell = el('td', 'c-type')
  typeCell.append(el('span', 'type type-' + type.toLowerCase(), type))
  const recordCell = el('td', 'c-record')
  if (p.errors && p.errors.length) {
    recordCell.append(el('div', 'errors', p.errors.join('; ')))
  }
  if (!isEmpty(p.new)) recordCell.append(renderRecord(p.new, type === 'UPDATE' ? p.old : null))
  else if (!recordCell.childNodes.length) recordCell.append(el('span', 'none', '—'))
  const oldCell = el('td', 'c-old')
  if (!isEmpty(p.old)) oldCell.append(renderRecord(p.old))
  else oldCell.append(el('span', 'none', '—'))
  const timeCell = el('td', 'c-time', formatTime(p.commit_timestamp))
  timeCell.title = p.commit_timestamp || 'no commit time (error row)'
  tr.append(typeCell, el('td', 'c-table', `${p.schema}.${p.table}`), timeCell, recordCell, oldCell)
  const rows = $('rows')
  rows.prepend(tr)
  while (rows.children.length > MAX_ROWS) rows.lastChild.remove()
  setTimeout(() => tr.classList.remove('fresh'), 1200)
}

// ---- client and channel ------------------------------------------------------------------

function ensureClient(token) {
  if (client && clientToken === token) return client
  if (client) client.disconnect()
  client = new RealtimeClient(wsEndpoint, { params: { apikey: token } })
  clientToken = token
  lastSocketError = false
  // The raw frames, to show the server's join reply exactly as sent (ids included).
  const adapter = client.socketAdapter
  if (adapter && typeof adapter.onMessage === 'function') {
    adapter.onMessage((msg) => {
      if (channel && msg.topic === channel.topic && msg.event === 'phx_reply' &&
          msg.ref && msg.ref === msg.join_ref) {
        showJoinReply(msg.payload)
      }
    })
    adapter.onError(() => { lastSocketError = true; pollConnection() })
    adapter.onOpen(() => pollConnection())
    adapter.onClose(() => pollConnection())
  }
  return client
}

async function unsubscribe() {
  const ch = channel
  channel = null
  $('unsubscribe').disabled = true
  setChannelState('idle', 'idle')
  if (ch && client) await client.removeChannel(ch)
}

async function subscribe(ev) {
  ev.preventDefault()
  const token = $('token').value.replace(/\s+/g, '')
  if (!token) {
    setChannelState('error', 'a JWT is needed: paste one signed with this server\'s secret')
    $('token').focus()
    return
  }
  await unsubscribe()
  const binding = { event: $('event').value, schema: $('schema').value.trim() }
  const table = $('table').value.trim()
  const filter = $('filter').value.trim()
  if (table) binding.table = table
  if (filter) binding.filter = filter

  resetJoinPanel()
  const c = ensureClient(token)
  const ch = c.channel(`inspector-${++channelSeq}`)
  channel = ch
  ch.on('postgres_changes', binding, (payload) => { if (channel === ch) addChange(payload) })
    .on('system', {}, (payload) => {
      if (channel !== ch) return
      addSystem(payload)
      // The join succeeded, but the server refused the binding: nothing will arrive (spec §3.5).
      if (payload.status === 'error') setChannelState('error', 'joined, but no changes will come: see the system message')
    })
    .subscribe((status, err) => {
      if (channel !== ch) return
      if (status === 'SUBSCRIBED') {
        if ($('channel-state').dataset.state !== 'error') setChannelState('ok', 'subscribed')
      }
      else if (status === 'CHANNEL_ERROR') setChannelState('error', `error: ${err ? err.message : 'channel error'}`)
      else if (status === 'TIMED_OUT') setChannelState('error', 'join timed out (retrying)')
      else if (status === 'CLOSED') setChannelState('idle', 'closed')
    })
  setChannelState('pending', 'joining…')
  $('unsubscribe').disabled = false
}

// ---- Broadcast & Presence room ------------------------------------------------------------

let room = null
const MAX_MESSAGES = 200

function setRoomState(state, text) {
  const s = $('room-state')
  s.dataset.state = state
  s.textContent = text || state
}

function showMembers(state) {
  const keys = Object.keys(state).sort()
  $('members-count').textContent = String(keys.length)
  const list = $('members')
  if (!keys.length) return list.replaceChildren(el('li', 'empty', 'Nobody is tracked yet.'))
  list.replaceChildren(...keys.map((k) => {
    const li = el('li')
    li.dataset.key = k
    const metas = state[k].map(({ presence_ref, ...meta }) => meta)
    li.append(el('span', 'k', k), el('span', 'v', shortValue(metas.length === 1 ? metas[0] : metas)))
    return li
  }))
}

function addMessage(m) {
  const list = $('messages')
  const empty = list.querySelector('.empty')
  if (empty) empty.remove()
  const li = el('li')
  li.dataset.event = m.event
  const payload = m.payload instanceof ArrayBuffer ? `<${m.payload.byteLength} bytes>` : shortValue(m.payload)
  li.append(el('span', 'when', formatTime(new Date().toISOString()) + ' '), el('span', 'ev', m.event),
    el('span', 'v', payload))
  if (m.meta && m.meta.id) li.title = `id ${m.meta.id}${m.meta.replayed ? ' (replayed)' : ''}`
  list.prepend(li)
  while (list.children.length > MAX_MESSAGES) list.lastChild.remove()
}

async function leaveRoom() {
  const r = room
  room = null
  for (const id of ['room-leave', 'send', 'track']) $(id).disabled = true
  setRoomState('idle', 'idle')
  if (r && client) await client.removeChannel(r)
}

async function joinRoom(ev) {
  ev.preventDefault()
  const token = $('token').value.replace(/\s+/g, '')
  if (!token) {
    setRoomState('error', 'a JWT is needed (above)')
    return
  }
  await leaveRoom()
  const topic = $('room-topic').value.trim()
  const key = $('room-key').value.trim()
  const c = ensureClient(token)
  const r = c.channel(topic, {
    config: { broadcast: { self: true, ack: true }, presence: { key, enabled: true }, private: $('room-private').checked },
  })
  room = r
  $('messages').replaceChildren(el('li', 'empty', 'No messages yet.'))
  r.on('broadcast', { event: '*' }, (m) => { if (room === r) addMessage(m) })
    .on('presence', { event: 'sync' }, () => { if (room === r) showMembers(r.presenceState()) })
    .subscribe((status, err) => {
      if (room !== r) return
      if (status === 'SUBSCRIBED') {
        setRoomState('ok', 'joined')
        for (const id of ['send', 'track']) $(id).disabled = false
      } else if (status === 'CHANNEL_ERROR') setRoomState('error', `error: ${err ? err.message : 'channel error'}`)
      else if (status === 'TIMED_OUT') setRoomState('error', 'join timed out (retrying)')
      else if (status === 'CLOSED') setRoomState('idle', 'closed')
    })
  setRoomState('pending', 'joining…')
  $('room-leave').disabled = false
  showMembers({})
}

function payloadFromForm() {
  try {
    const v = JSON.parse($('send-payload').value || '{}')
    if (v && typeof v === 'object' && !Array.isArray(v)) return v
  } catch (e) {
    // reported below
  }
  $('send-result').textContent = 'the payload must be a JSON object, e.g. {"text": "hello"}'
  return null
}

async function sendMessage(ev) {
  ev.preventDefault()
  if (!room) return
  const payload = payloadFromForm()
  if (!payload) return
  const res = await room.send({ type: 'broadcast', event: $('send-event').value.trim(), payload })
  $('send-result').textContent = `send(): ${res}`
}

async function track() {
  if (!room) return
  const payload = payloadFromForm()
  if (!payload) return
  $('send-result').textContent = `track(): ${await room.track(payload)}`
}

// ---- start-up ----------------------------------------------------------------------------

async function loadConfig() {
  try {
    const r = await fetch('inspector/config.json', { cache: 'no-store' })
    if (r.ok) return await r.json()
  } catch (e) {
    // No config (older server or a proxy in front): the user pastes a JWT.
  }
  return {}
}

async function main() {
  $('endpoint').textContent = wsEndpoint
  $('form').addEventListener('submit', subscribe)
  $('unsubscribe').addEventListener('click', unsubscribe)
  $('clear').addEventListener('click', () => {
    $('rows').replaceChildren()
    received = 0
    $('count').textContent = '0'
    $('placeholder').hidden = false
  })
  $('room-form').addEventListener('submit', joinRoom)
  $('room-leave').addEventListener('click', leaveRoom)
  $('send-form').addEventListener('submit', sendMessage)
  $('track').addEventListener('click', track)
  setInterval(pollConnection, 500)

  const config = await loadConfig()
  if (config.anon_jwt) {
    if (!$('token').value) $('token').value = config.anon_jwt
    $('token-hint').textContent = 'prefilled: the anon key of this embedded server'
  } else {
    $('token-hint').textContent = 'required: this server hands out no token'
  }
  for (const t of config.tables || []) {
    const o = document.createElement('option')
    o.value = t
    $('tables').append(o)
  }
  if (config.insert_example) {
    $('try-cmd').textContent = config.insert_example
    $('try').hidden = false
  }
}

main()
