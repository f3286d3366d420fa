// Helpers of the e2e suites: run `walcast serve` as a user would (fresh data directory, read
// what it prints), run the printed psql command, wait on conditions with deadlines, and check
// that no Postgres process is left on a data directory.
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, existsSync, chmodSync, rmSync } from 'node:fs'
import path from 'node:path'
import { RealtimeClient } from '@supabase/realtime-js'
import WebSocket from 'ws'
import { before, after } from 'node:test'
import { chromium } from 'playwright-core'

export const walcastBin = process.env.WALCAST_BIN
export const buildDir = process.env.WALCAST_BUILD_DIR
if (!walcastBin) {
  throw new Error('WALCAST_BIN is not set: run these through ctest, or set WALCAST_BIN=<build>/walcast')
}

/// Start-up includes initdb on a sanitizer build: generous, but bounded.
export const startDeadlineMs = 120_000
/// Deadline for one change to travel Postgres → walcast → client.
export const changeDeadlineMs = 30_000

/// Polls fn() until it returns a truthy value; throws `what` after timeoutMs.
export async function waitUntil(fn, timeoutMs, what) {
  const until = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/// A fresh directory under /tmp that the `postgres` user can enter (we run as root).
export function freshDir(prefix) {
  const dir = mkdtempSync(path.join('/tmp', prefix))
  chmodSync(dir, 0o755)
  return dir
}

/// One running `walcast serve`. Fields parsed from its banner: inspector, ws, anonJwt, psql.
export class Walcast {
  constructor(proc) {
    this.proc = proc
    this.stdout = ''
    this.stderr = ''
    this.exitCode = null
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.exitCode = code ?? signal
        resolve(this.exitCode)
      })
    })
    proc.stdout.on('data', (d) => { this.stdout += d })
    proc.stderr.on('data', (d) => { this.stderr += d })
  }

  field(label) {
    const m = this.stdout.match(new RegExp(`^\\s*${label}:\\s+(.+)$`, 'm'))
    return m ? m[1].trim() : null
  }

  get inspector() { return this.field('Inspector') }
  get ws() { const v = this.field('WebSocket'); return v && v.split(/\s+/)[0] }
  get anonJwt() { return this.field('anon JWT') }
  get psql() { return this.field('psql') }

  /// SIGTERM, then waits for exit (SIGKILL after the deadline). Returns the exit code.
  async stop(deadlineMs = 60_000) {
    if (this.exitCode !== null) return this.exitCode
    this.proc.kill('SIGTERM')
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), deadlineMs)
    const code = await this.exited
    clearTimeout(timer)
    return code
  }
}

/// Starts `walcast serve --port 0` with args; resolves once the banner is printed (or rejects
/// with its output when it exits or the deadline passes).
export async function startWalcast(args, { cwd, env } = {}) {
  const proc = spawn(walcastBin, ['serve', '--port', '0', ...args], {
    cwd,
    env: { ...process.env, ...env, DATABASE_URL: '', DB_HOST: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const w = new Walcast(proc)
  try {
    await waitUntil(() => w.exitCode !== null || w.stdout.includes('Press Ctrl+C'), startDeadlineMs,
      'walcast to print its banner')
  } catch (e) {
    await w.stop()
    throw new Error(`${e.message}\nstdout:\n${w.stdout}\nstderr:\n${w.stderr}`)
  }
  if (w.exitCode !== null) {
    throw new Error(`walcast exited with ${w.exitCode}\nstdout:\n${w.stdout}\nstderr:\n${w.stderr}`)
  }
  return w
}

/// Runs walcast's printed psql command (as printed, through sh) with one SQL statement.
/// Resolves with psql's stdout (unaligned, tuples only).
export function runPrintedPsql(psqlCommand, sqlText) {
  if (sqlText.includes('"')) throw new Error('runPrintedPsql: keep double quotes out of the SQL')
  const line = `${psqlCommand} -X -v ON_ERROR_STOP=1 -A -t -c "${sqlText}"`
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', line], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${line} failed: ${err.message}\n${stderr}`))
      else resolve(stdout.trim())
    })
  })
}

/// The pids of running processes whose command line names this data directory after -D
/// (the postmaster; its children show only their titles, and exit with it).
export function postgresPidsFor(dataDir) {
  const pids = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let cmd
    try {
      cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
    } catch {
      continue
    }
    const d = cmd.indexOf('-D')
    if (d >= 0 && cmd[d + 1] === dataDir && path.basename(cmd[0]) === 'postgres') pids.push(Number(entry))
  }
  return pids
}

/// Test clean-up: stops a walcast still running and, should it have left its Postgres behind,
/// shuts that down (SIGQUIT = immediate) so no test leaves processes; removes dir.
export async function cleanUp(walcasts, dataDir, dir) {
  for (const w of walcasts) if (w) await w.stop(10_000)
  if (dataDir) {
    for (const pid of postgresPidsFor(dataDir)) {
      try { process.kill(pid, 'SIGQUIT') } catch { /* already gone */ }
    }
    await waitUntil(() => postgresPidsFor(dataDir).length === 0, 30_000, 'postgres to exit')
  }
  if (dir && existsSync(dir)) rmSync(dir, { recursive: true, force: true })
}

/// A realtime-js client on ws with the token (Node 20 has no global WebSocket: pass `ws`).
export function realtimeClient(wsUrl, token) {
  return new RealtimeClient(wsUrl, { params: { apikey: token }, transport: WebSocket })
}

/// Subscribes a channel to postgres_changes with binding; resolves { channel, changes, system }
/// once SUBSCRIBED and the server's `Subscribed to PostgreSQL` system message arrived.
export async function subscribeChanges(client, name, binding) {
  const changes = []
  const system = []
  let status = null
  let error = null
  const channel = client
    .channel(name)
    .on('postgres_changes', binding, (p) => changes.push(p))
    .on('system', {}, (p) => system.push(p))
    .subscribe((s, err) => { status = s; error = err })
  await waitUntil(() => status === 'SUBSCRIBED' || error, changeDeadlineMs, `channel ${name} to join`)
  if (error) throw new Error(`joining ${name}: ${status} ${error.message}`)
  await waitUntil(() => system.find((m) => m.status === 'ok' && /Subscribed to PostgreSQL/.test(m.message)) ||
    system.find((m) => m.status === 'error'), changeDeadlineMs, `the system message of ${name}`)
  const bad = system.find((m) => m.status === 'error')
  if (bad) throw new Error(`subscription error: ${bad.message}`)
  return { channel, changes, system }
}

/// The set-up of the browser suites: an embedded-default walcast in a fresh directory and a
/// headless Chromium (Debian's, driven by playwright-core) recording every request URL, both
/// started before the file's tests and stopped after them (node:test hooks). Returns `skip`
/// (a reason, or false: only an explicit WALCAST_SKIP_BROWSER=1 without Chromium skips; a
/// missing browser is otherwise a failure naming the fix) and `suite` with `w` (the Walcast),
/// `browser` (the persistent context), `requests` (URLs, in request order), set by `before`, and
/// `dataDir` (the embedded cluster's, next to its jwt_secret).
export function browserSuite(prefix) {
  const chromiumPath = process.env.WALCAST_CHROMIUM || '/usr/bin/chromium'
  const skip = process.env.WALCAST_SKIP_BROWSER === '1' && !existsSync(chromiumPath)
    ? 'WALCAST_SKIP_BROWSER=1 and no Chromium installed' : false
  const dir = freshDir(prefix)
  const dataDir = path.join(dir, 'pgdata')
  const suite = { w: null, browser: null, requests: [], dataDir }
  before(async () => {
    if (skip) return
    if (!existsSync(chromiumPath)) {
      throw new Error(`${chromiumPath} not found: install Debian's chromium (./scripts/install-deps.sh) ` +
        'or point WALCAST_CHROMIUM at a Chromium binary')
    }
    suite.w = await startWalcast(['--data-dir', dataDir], { cwd: dir })
    suite.browser = await chromium.launchPersistentContext(path.join(dir, 'chromium-profile'), {
      executablePath: chromiumPath,
      headless: true,
      viewport: { width: 1360, height: 900 },
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run',
      ],
    })
    suite.browser.on('request', (r) => suite.requests.push(r.url()))
  })
  after(async () => {
    if (suite.browser) await suite.browser.close()
    await cleanUp([suite.w], dataDir, dir)
  })
  return { skip, suite }
}
