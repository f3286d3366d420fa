// realtime-js clients as users create them (ws transport, both vsn), subscribed channels that
// record every callback, and waits on what they received.
import { RealtimeClient } from '@supabase/realtime-js';
import WebSocket from 'ws';

import { decodeFrame } from './raw.mjs';
import { waitUntil, show, DEFAULT_TIMEOUT_MS } from './wait.mjs';

/** The two wire formats realtime-js speaks (spec §0.1). */
export const VSNS = ['1.0.0', '2.0.0'];

/// A ws WebSocket class that records every frame into `log.in` / `log.out` (text as strings,
/// binary as Buffers), for assertions on the wire format behind realtime-js.
export function recordingTransport(log) {
  log.in ??= [];
  log.out ??= [];
  return class RecordingWebSocket extends WebSocket {
    constructor(...args) {
      super(...args);
      log.url = String(args[0]);
      this.addEventListener('message', (e) => log.in.push(e.data));
      const send = this.send.bind(this);
      this.send = (data, ...rest) => {
        log.out.push(data);
        return send(data, ...rest);
      };
    }
  };
}

/// A RealtimeClient on `server` as an app creates it: apikey = server.anonKey unless given,
/// `token` (a JWT) set with setAuth before any channel, vsn '1.0.0' or '2.0.0'.
export async function makeClient(server, { vsn = '2.0.0', token, apikey, transport, ...options } = {}) {
  const client = new RealtimeClient(server.wsUrl, {
    params: { apikey: apikey ?? server.anonKey },
    transport: transport ?? WebSocket,
    vsn,
    // realtime-js logs through console by default only with a logger; keep tests quiet.
    ...options,
  });
  if (token) await client.setAuth(token);
  return client;
}

let channelSeq = 0;
/// A channel name unique within this process (topics must not collide across tests).
export function uniqueName(prefix = 'ch') {
  return `${prefix}-${process.pid}-${++channelSeq}`;
}

/// Long event lists in failure messages: the count, the first and the last few.
function summarize(events) {
  if (events.length <= 12) return events;
  return { count: events.length, first: events.slice(0, 3), last: events.slice(-3) };
}

/// A channel with named postgres_changes bindings whose callbacks record into `events`
/// ({name, payload}, arrival order), `system` messages into `systems`, subscribe statuses into
/// `statuses`.
export class Sub {
  constructor(client, name, bindings, config = {}) {
    this.client = client;
    this.name = name;
    this.events = [];
    this.systems = [];
    this.statuses = [];
    this.bindingSpecs = bindings;
    this.channel = client.channel(name, { config });
    for (const [bname, filter] of Object.entries(bindings)) {
      this.channel.on('postgres_changes', filter, (payload) => this.events.push({ name: bname, payload }));
    }
    this.channel.on('system', {}, (payload) => this.systems.push(payload));
  }

  /// Subscribes; resolves with the first terminal status ('SUBSCRIBED', 'CHANNEL_ERROR',
  /// 'TIMED_OUT', 'CLOSED') and its error, within `timeoutMs`.
  subscribe(timeoutMs = DEFAULT_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(
        `channel ${this.name}: no subscribe status within ${timeoutMs} ms; statuses ${show(this.statuses)}`)), timeoutMs);
      let done = false;
      this.channel.subscribe((status, err) => {
        this.statuses.push({ status, err: err?.message });
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve({ status, err });
      });
    });
  }

  /// Subscribes and requires SUBSCRIBED.
  async subscribed(timeoutMs) {
    const { status, err } = await this.subscribe(timeoutMs);
    if (status !== 'SUBSCRIBED') {
      throw new Error(`channel ${this.name}: expected SUBSCRIBED, got ${status} ${err?.message ?? ''}`);
    }
    return this;
  }

  /// Events of binding `name` (all when omitted).
  of(name) {
    return name === undefined ? this.events : this.events.filter((e) => e.name === name);
  }

  /// Waits until `pred(this)` is truthy; on timeout the error shows everything received.
  async waitFor(pred, what, timeoutMs = DEFAULT_TIMEOUT_MS) {
    return waitUntil(() => pred(this), {
      what: `${what} on channel ${this.name}`,
      timeoutMs,
      dump: () => ({ events: summarize(this.events), systems: this.systems, statuses: this.statuses }),
    });
  }

  /// Waits until binding `name` has at least `n` events; returns them.
  async waitCount(name, n, timeoutMs) {
    await this.waitFor((s) => s.of(name).length >= n, `${n} event(s) of binding ${name}`, timeoutMs);
    return this.of(name);
  }

  /// Waits for a system message matching `pred`; returns it.
  async waitSystem(pred, what = 'a system message', timeoutMs) {
    await this.waitFor((s) => s.systems.some(pred), what, timeoutMs);
    return this.systems.find(pred);
  }

  async remove() {
    await this.client.removeChannel(this.channel);
  }
}

/// Creates and subscribes (requiring SUBSCRIBED) a Sub.
export async function subscribe(client, bindings, { name = uniqueName(), config = {}, timeoutMs } = {}) {
  const s = new Sub(client, name, bindings, config);
  return s.subscribed(timeoutMs);
}

/// The `new` record of each event (INSERT/UPDATE) as delivered to the callback.
export const news = (events) => events.map((e) => e.payload.new);
export const olds = (events) => events.map((e) => e.payload.old);
export const types = (events) => events.map((e) => e.payload.eventType);

/// The decoded server text frames a recordingTransport log holds (binary frames skipped).
export function wireFrames(log, vsn) {
  // ws hands text frames to 'message' listeners as strings; binary ones (kind 4) are skipped.
  return log.in.filter((d) => typeof d === 'string')
    .map((t) => decodeFrame(vsn, t));
}

/// The binding ids the join reply of `sub`'s topic assigned, by binding name (in the order
/// the bindings were registered).
export function bindingIds(log, vsn, sub) {
  const topic = `realtime:${sub.name}`;
  const frames = wireFrames(log, vsn);
  const reply = frames.find((f) => f.topic === topic && f.event === 'phx_reply' && f.payload?.response?.postgres_changes);
  if (!reply) throw new Error(`no join reply with postgres_changes for ${topic}`);
  const names = Object.keys(sub.bindingSpecs);
  return Object.fromEntries(names.map((n, i) => [n, reply.payload.response.postgres_changes[i].id]));
}
