// Starts a real `walcast serve` (embedded default: its own throwaway Postgres under /tmp) for a
// test file, exposes its URLs and a node-postgres pool on its database, and tears it down.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

import { TEST_SECRET, sign } from './tokens.mjs';
import { waitUntil, WaitAborted } from './wait.mjs';

/** Start-up (initdb + Postgres + replication stream) deadline on a slow, sanitized build. */
const START_TIMEOUT_MS = 90_000;
/** How long a SIGTERM'd server may take to exit before it is killed. */
const STOP_TIMEOUT_MS = 20_000;
/** PostgreSQL server programs (Debian postgresql-15), for cleaning up after a killed server. */
const PG_BIN = '/usr/lib/postgresql/15/bin';

// Settings that would point walcast elsewhere than its embedded default.
const SCRUBBED_ENV = [
  'DATABASE_URL', 'DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_USER', 'DB_PASSWORD', 'SLOT_NAME',
  'PUBLICATION', 'PUBLICATIONS', 'DB_SSL', 'API_JWT_SECRET', 'HOST', 'PORT', 'WALCAST_THREADS', 'MAX_RECORD_BYTES', 'CLIENT_QUEUE_SOFT_BYTES',
  'CLIENT_QUEUE_SOFT_SECONDS', 'CLIENT_QUEUE_HARD_BYTES', 'CONNECT_ERROR_BACKOFF_MS',
  'CHANNEL_ERROR_BACKOFF_MS', 'MAX_CHANNELS_PER_CLIENT', 'JWT_SECRET', 'JWT_JWKS',
  'JWT_CLAIM_VALIDATORS', 'AUTH_POOL_SIZE', 'AUTH_TIMEOUT_MS', 'WALCAST_DATA_DIR',
  'EMBEDDED_DB_PORT', 'LOG_LEVEL', 'MAX_PAYLOAD_SIZE_KB', 'TENANT_MAX_EVENTS_PER_SECOND',
  'TENANT_MAX_PRESENCE_EVENTS_PER_SECOND', 'CLIENT_PRESENCE_MAX_CALLS', 'CLIENT_PRESENCE_WINDOW_MS',
  'HTTP_REQUEST_TIMEOUT_MS', 'MAX_PENDING_CONNECTIONS', 'JWT_ALLOWED_ROLES',
  'MAX_JOINS_PER_SECOND', 'JOIN_WORKERS', 'JOIN_STATEMENT_TIMEOUT_MS',
  'STATE_DIR', 'RESUME_GRACE_MS', 'SLOT_RECREATE', 'SLOT_TEMPORARY',
  'GRAPHQL_SCHEMAS', 'GRAPHQL_SCHEMA_POLL_MS', 'TLS_CERT_FILE', 'TLS_KEY_FILE',
];

export function walcastBin() {
  const bin = process.env.WALCAST_BIN;
  if (!bin) throw new Error('WALCAST_BIN is not set: point it at the walcast binary, e.g. ' +
    'WALCAST_BIN=build/debug/walcast node --test tests/compat/');
  if (!existsSync(bin)) throw new Error(`WALCAST_BIN=${bin} does not exist: build it first (make debug)`);
  return bin;
}

/// A running walcast. Fields: wsUrl (the realtime-js endpoint, ".../socket"), httpUrl, anonKey
/// (the printed anon JWT), dbUrl (printed psql URL), secret, pool (pg.Pool), log() (stderr so
/// far), exited (null or {code, signal}).
export class Walcast {
  /// Starts a server with `env` added to the defaults (PORT=0, HOST=127.0.0.1, JWT_SECRET,
  /// CONNECT/CHANNEL_ERROR_BACKOFF_MS=0). Resolves once GET /healthz answers 200 and the
  /// publication has been recreated FOR ALL TABLES (every table a test creates is streamed).
  static async start(env = {}) {
    const w = new Walcast();
    await w.#start(env);
    return w;
  }

  #child;
  #stdout = '';
  #stderr = '';
  #tmp;
  #extraEnv = {};

  /// kill -9, as in a crash: walcast dies at once; its embedded Postgres keeps running (and
  /// this.pool with it) — the next start on the same data directory stops it first.
  async kill9() {
    this.#child.kill('SIGKILL');
    await waitUntil(() => this.exited, { what: 'walcast to exit after SIGKILL', timeoutMs: 5000 });
  }

  /// Starts walcast again on the same data directory (after kill9), with the first start's env
  /// plus `env`. waitReady false: resolve once the banner is printed, without waiting for
  /// /healthz 200 (the replication stream may be held or down). The publication is left as is.
  async restart({ env = {}, waitReady = true } = {}) {
    if (this.pool) {
      const p = this.pool;
      this.pool = null;
      await p.end().catch(() => {});
    }
    this.#stdout = '';
    this.#stderr = '';
    await this.#start({ ...this.#extraEnv, ...env }, { reuse: true, waitReady });
  }

  async #start(extraEnv, { reuse = false, waitReady = true } = {}) {
    this.#extraEnv = extraEnv;
    if (!reuse) {
      this.#tmp = mkdtempSync(join(tmpdir(), 'walcast-compat-'));
      // Postgres runs as `postgres` (we are root): it must be able to reach the data directory.
      chmodSync(this.#tmp, 0o755);
    }
    const env = { ...process.env };
    for (const k of SCRUBBED_ENV) delete env[k];
    Object.assign(env, {
      WALCAST_DATA_DIR: join(this.#tmp, 'pgdata'),
      PORT: '0',
      HOST: '127.0.0.1',
      JWT_SECRET: TEST_SECRET,
      CONNECT_ERROR_BACKOFF_MS: '0',
      CHANNEL_ERROR_BACKOFF_MS: '0',
      ...Object.fromEntries(Object.entries(extraEnv).map(([k, v]) => [k, String(v)])),
    });
    this.secret = env.JWT_SECRET;
    /// Where walcast keeps its state (STATE_DIR's default: the data directory's parent).
    this.stateDir = this.#tmp;
    this.exited = null;
    // WALCAST_WRAPPER: a command and its arguments to start walcast under (e.g. prlimit).
    const wrapper = extraEnv.WALCAST_WRAPPER ? String(extraEnv.WALCAST_WRAPPER).split(' ') : [];
    delete env.WALCAST_WRAPPER;
    this.#child = spawn(wrapper[0] ?? walcastBin(), [...wrapper.slice(1), ...(wrapper.length ? [walcastBin()] : []), 'serve'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child.stdout.setEncoding('utf8').on('data', (d) => { this.#stdout += d; });
    this.#child.stderr.setEncoding('utf8').on('data', (d) => {
      this.#stderr += d;
      if (process.env.WALCAST_COMPAT_VERBOSE) process.stderr.write(d);
    });
    this.#child.on('exit', (code, signal) => { this.exited = { code, signal }; });
    // A test process that ends without stop() (uncaught error) must not leave walcast behind.
    process.once('exit', () => { if (!this.exited) this.#child.kill('SIGTERM'); });

    try {
      await waitUntil(() => {
        if (this.exited) throw new WaitAborted(`walcast exited during start-up (${JSON.stringify(this.exited)})`);
        return this.#stdout.includes('Press Ctrl+C to stop.');
      }, { what: 'walcast to print its URLs', timeoutMs: START_TIMEOUT_MS, dump: () => this.#stdout + this.#stderr });
    } catch (e) {
      await this.stop({ check: false });
      throw e;
    }
    // The realtime-js endpoint, the demo anon JWT and the database URL, wherever the banner
    // puts them.
    const ws = /(wss?:\/\/[^\s/]+\/socket)\b/.exec(this.#stdout);
    // With DATABASE_URL (not embedded) walcast prints neither: the caller's URL, an anon token.
    const external = extraEnv.DATABASE_URL !== undefined;
    const anon = /anon JWT:\s+(\S+)/.exec(this.#stdout) ??
      (external ? [null, sign({ role: 'anon', exp: Math.floor(Date.now() / 1000) + 3600 }, { secret: env.JWT_SECRET })] : null);
    const psql = /psql "(postgresql:\/\/[^"]+)"/.exec(this.#stdout) ??
      (external ? [null, env.DATABASE_URL] : null);
    if (!ws || !anon || !psql) {
      await this.stop({ check: false });
      throw new Error(`cannot parse walcast's start-up output:\n${this.#stdout}`);
    }
    this.wsUrl = ws[1];
    this.httpUrl = this.wsUrl.replace(/^ws/, 'http').replace(/\/socket$/, '');
    // With TLS_CERT_FILE (self-signed in the tests) the certificate is its own CA.
    this.ca = env.TLS_CERT_FILE ? readFileSync(env.TLS_CERT_FILE) : null;
    this.port = Number(new URL(this.httpUrl).port);
    /// The embedded cluster's data directory (benchmarks read its processes' CPU).
    this.dataDir = env.WALCAST_DATA_DIR;
    this.anonKey = anon[1];
    this.dbUrl = psql[1];
    this.pool = new pg.Pool({ connectionString: this.dbUrl, max: 6 });
    // pg.Pool emits 'error' for idle clients whose server went away (at teardown).
    this.pool.on('error', () => {});
    if (reuse) {
      if (waitReady) {
        await waitUntil(async () => (await this.fetch('/healthz')).status === 200,
          { what: 'GET /healthz = 200', timeoutMs: START_TIMEOUT_MS, dump: () => this.#stderr.slice(-4000) });
      }
      return;
    }
    await waitUntil(async () => (await this.fetch('/healthz')).status === 200,
      { what: 'GET /healthz = 200', timeoutMs: START_TIMEOUT_MS, dump: () => this.#stderr.slice(-4000) });
    // compat_trigger.* run the suites with CAPTURE=trigger: a server that read the changes
    // some other way would pass them for the wrong reason.
    const capture = env.CAPTURE ?? 'auto';
    if (capture !== 'auto') {
      const health = await (await this.fetch('/healthz')).json();
      if (health.capture !== capture) {
        await this.stop({ check: false });
        throw new Error(`CAPTURE=${capture}, but /healthz says the server captures with ${JSON.stringify(health)}`);
      }
    }
    // The embedded default creates its publication empty, as Supabase does (only the demo
    // table is added). These tests create their tables as they go and expect every one of them
    // streamed: recreate the publication FOR ALL TABLES, in one transaction, once, here.
    // (A server on another's database, DATABASE_URL, uses the publication as it is.)
    if (external) return;
    const pub = env.PUBLICATION ?? 'supabase_realtime';
    const ident = `"${pub.replaceAll('"', '""')}"`;
    await this.pool.query(`BEGIN; DROP PUBLICATION IF EXISTS ${ident}; ` +
      `CREATE PUBLICATION ${ident} FOR ALL TABLES; COMMIT`);
  }

  /// The server process's pid (for /proc/<pid>/status, /proc/<pid>/fd).
  get pid() {
    return this.#child?.pid;
  }

  /// GET httpUrl + path: fetch(), or over https trusting this.ca when walcast speaks TLS.
  /// Resolves to {status, headers: {get(name)}, text()}.
  fetch(path) {
    if (!this.ca) return fetch(`${this.httpUrl}${path}`);
    return new Promise((resolve, reject) => {
      // agent false: one connection per request, not left pending (MAX_PENDING_CONNECTIONS).
      https.get(`${this.httpUrl}${path}`, { ca: this.ca, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => { body += d; }).on('end', () => resolve({
          status: res.statusCode, headers: { get: (n) => res.headers[n.toLowerCase()] ?? null },
          text: async () => body, json: async () => JSON.parse(body),
        }));
      }).on('error', reject);
    });
  }

  /// Stops the embedded Postgres (`pg_ctl stop -m <mode>`, waiting) while walcast runs on.
  async stopPostgres({ mode = 'fast' } = {}) {
    await this.#pgCtl(['-w', '-t', '60', '-m', mode, 'stop']);
  }

  /// Starts the embedded Postgres again with the options walcast started it with
  /// (postmaster.opts), waiting until it accepts connections.
  async startPostgres() {
    const pgdata = join(this.#tmp, 'pgdata');
    // <postgres binary> "-D" "<dir>" "-c" "x=y" …: the quoted words, less -D and its value.
    const words = [...readFileSync(join(pgdata, 'postmaster.opts'), 'utf8').matchAll(/"([^"]*)"/g)]
      .map((m) => m[1]);
    const opts = [];
    for (let i = 0; i < words.length; i++) {
      if (words[i] === '-D') { i++; continue; }
      opts.push(`'${words[i].replaceAll("'", "'\\''")}'`);
    }
    await this.#pgCtl(['-w', '-t', '60', '-l', join(this.#tmp, 'pgdata', 'walcast-test-restart.log'), '-o', opts.join(' '), 'start']);
  }

  /// `pg_ctl restart -m <mode>` of the embedded Postgres, waiting for it to be up.
  async restartPostgres({ mode = 'fast' } = {}) {
    await this.#pgCtl(['-w', '-t', '120', '-m', mode, '-l', join(this.#tmp, 'pgdata', 'walcast-test-restart.log'), 'restart']);
  }

  /// Runs pg_ctl as `postgres` without blocking the event loop (clients keep receiving).
  #pgCtl(args) {
    const pgdata = join(this.#tmp, 'pgdata');
    return new Promise((resolve, reject) => {
      const child = spawn('runuser', ['-u', 'postgres', '--', `${PG_BIN}/pg_ctl`, '-D', pgdata, ...args],
        { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
      child.stderr.setEncoding('utf8').on('data', (d) => { out += d; });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(out)
        : reject(new Error(`pg_ctl ${args.join(' ')} failed (${code}): ${out}`))));
    });
  }

  /// Server stderr so far (its log).
  log() {
    return this.#stderr;
  }

  /// Runs one statement (or a multi-statement script without params) and returns the rows.
  async sql(text, params) {
    const r = await this.pool.query(text, params);
    return Array.isArray(r) ? r.flatMap((x) => x.rows ?? []) : r.rows;
  }

  /// Runs `fn(client)` inside a transaction on one pooled connection; commits unless it throws.
  async tx(fn) {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const v = await fn(c);
      await c.query('COMMIT');
      return v;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  /// Runs `query` as `claims.role` with request.jwt.claims = claims (both transaction-local),
  /// the way walcast checks visibility (spec §6.2). Returns the rows, or throws the Postgres error.
  async selectAs(claims, query, params = []) {
    return this.tx(async (c) => {
      await c.query(`SET LOCAL ROLE ${pg.escapeIdentifier(claims.role)}`);
      await c.query("SELECT set_config('request.jwt.claims', $1, true)", [JSON.stringify(claims)]);
      return (await c.query(query, params)).rows;
    });
  }

  /// Parses GET /metrics into a Map of "name{labels}" -> number.
  async metrics() {
    const res = await this.fetch('/metrics');
    const text = await res.text();
    const m = new Map();
    for (const line of text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const i = line.lastIndexOf(' ');
      m.set(line.slice(0, i), Number(line.slice(i + 1)));
    }
    m.text = text;
    m.status = res.status;
    m.contentType = res.headers.get('content-type');
    return m;
  }

  /// SIGTERM, wait for exit (SIGKILL after STOP_TIMEOUT_MS), remove the temp dir. Returns the
  /// exit status {code, signal}; with `check`, throws unless walcast exited with code 0 by
  /// itself (a crash, a sanitizer report or a hang at shutdown fails the test file).
  async stop({ check = true } = {}) {
    if (this.pool) {
      const p = this.pool;
      this.pool = null;
      await p.end().catch(() => {});
    }
    if (this.#child && !this.exited) {
      this.#child.kill('SIGTERM');
      try {
        await waitUntil(() => this.exited, { what: 'walcast to exit after SIGTERM', timeoutMs: STOP_TIMEOUT_MS });
      } catch {
        this.#child.kill('SIGKILL');
        await waitUntil(() => this.exited, { what: 'walcast to exit after SIGKILL', timeoutMs: 5000 });
        // A killed walcast leaves its Postgres running; stop it (it runs as `postgres`).
        const pgdata = join(this.#tmp, 'pgdata');
        spawnSync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/pg_ctl`, '-D', pgdata, '-m', 'immediate', 'stop'],
          { stdio: 'ignore' });
      }
    }
    if (this.#tmp) rmSync(this.#tmp, { recursive: true, force: true });
    this.#tmp = null;
    if (check && this.exited && this.exited.code !== 0) {
      throw new Error(`walcast did not exit cleanly after SIGTERM (${JSON.stringify(this.exited)}); ` +
        `end of its log:\n${this.#stderr.slice(-6000)}`);
    }
    return this.exited;
  }
}
