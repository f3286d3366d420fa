// A normal client next to the hostile ones: a realtime-js client subscribed to a probe table,
// and the commit → delivery latency of rows inserted one at a time, each numbered, so that a
// bound on the normal client's latency under a hostile load is asserted with sequence numbers
// (every row delivered, in order, none twice).
import { makeClient, uniqueName } from '../../compat/lib/client.mjs';

/// Creates public.<table> (seq int primary key) readable by anon.
export async function createProbeTable(server, table) {
  await server.sql(`CREATE TABLE public.${table} (seq int PRIMARY KEY, note text NOT NULL DEFAULT '');
    GRANT SELECT ON public.${table} TO anon;`);
}

/// A subscribed realtime-js client on `table` (INSERTs).
export class Probe {
  static async start(server, table, { vsn = '2.0.0' } = {}) {
    const p = new Probe(server, table);
    p.client = await makeClient(server, { vsn });
    p.channel = p.client.channel(uniqueName('probe'));
    p.channel.on('postgres_changes', { event: 'INSERT', schema: 'public', table }, (payload) => {
      const seq = payload.new.seq;
      p.received.push(seq);
      const w = p.#waiters.get(seq);
      if (w) {
        p.#waiters.delete(seq);
        w();
      }
    });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`probe on ${table}: not subscribed within 20 s`)), 20_000);
      p.channel.subscribe((status, err) => {
        if (status === 'SUBSCRIBED') { clearTimeout(timer); resolve(); }
        else if (status !== 'CLOSED') { clearTimeout(timer); reject(new Error(`probe on ${table}: ${status} ${err?.message ?? ''}`)); }
      });
    });
    return p;
  }

  received = [];
  #waiters = new Map();
  #next = 1;

  constructor(server, table) {
    this.server = server;
    this.table = table;
  }

  /// Inserts `n` rows one at a time, each after the previous one arrived (deadline
  /// `timeoutMs` each), and returns {p50, p99, max, n, samples} of commit → delivery in ms (the
  /// time from sending the INSERT, which commits on its own, to the callback; samples sorted).
  async measure(n, { timeoutMs = 30_000 } = {}) {
    const lat = [];
    for (let i = 0; i < n; ++i) {
      const seq = this.#next++;
      const arrived = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(
          `probe row ${seq} on ${this.table} not delivered within ${timeoutMs} ms; received ${this.received.slice(-5)}`)), timeoutMs);
        this.#waiters.set(seq, () => { clearTimeout(timer); resolve(); });
      });
      const t0 = performance.now();
      await this.server.sql(`INSERT INTO public.${this.table} (seq) VALUES ($1)`, [seq]);
      await arrived;
      lat.push(performance.now() - t0);
    }
    lat.sort((a, b) => a - b);
    const q = (f) => lat[Math.min(lat.length - 1, Math.floor(f * lat.length))];
    return { p50: q(0.5), p99: q(0.99), max: lat[lat.length - 1], n, samples: lat };
  }

  /// Every row inserted so far arrived exactly once, in order.
  assertInOrder(assert) {
    assert.deepEqual(this.received, Array.from({ length: this.#next - 1 }, (_, i) => i + 1),
      `the probe on ${this.table} missed, repeated or reordered rows`);
  }

  async stop() {
    await this.client.removeAllChannels();
    this.client.disconnect();
  }
}
