// A raw Phoenix client on `ws`, for what realtime-js hides: HTTP status and body of a refused
// upgrade, exact frames and refs of both serializers, malformed input, and a reader that stops
// reading (slow client).
import WebSocket from 'ws';

import { waitUntil, show, DEFAULT_TIMEOUT_MS } from './wait.mjs';

/// Decodes a server text frame of serializer `vsn` into {join_ref, ref, topic, event,
/// payload, raw}. V1 frames have no join_ref (spec §2.1): the field is then `undefined`
/// and `keys` lists the object's keys.
export function decodeFrame(vsn, data) {
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
  const v = JSON.parse(text);
  if (vsn === '1.0.0') {
    return { join_ref: v.join_ref, ref: v.ref, topic: v.topic, event: v.event, payload: v.payload, keys: Object.keys(v), raw: text };
  }
  if (!Array.isArray(v)) throw new Error(`V2 frame is not an array: ${text}`);
  const [join_ref, ref, topic, event, payload] = v;
  return { join_ref, ref, topic, event, payload, length: v.length, raw: text };
}

/// Encodes a client message for serializer `vsn` (V1 object with join_ref, V2 array).
export function encodeFrame(vsn, { join_ref = null, ref = null, topic, event, payload = {} }) {
  if (vsn === '1.0.0') return JSON.stringify({ topic, event, payload, ref, join_ref });
  return JSON.stringify([join_ref, ref, topic, event, payload]);
}

/// Builds the WebSocket URL of `server` with query `params` (undefined values are omitted).
export function socketUrl(server, params = {}, path = '/socket/websocket') {
  const u = new URL(server.httpUrl.replace(/^http/, 'ws') + path);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
  return u.toString();
}

/// Attempts a WebSocket upgrade; resolves {status, body, headers} when refused, or
/// {status: 101, ws} when accepted (the caller closes ws).
export function tryUpgrade(url, { headers = {}, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no answer to the upgrade of ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode, body, headers: res.headers });
      });
    });
    ws.on('open', () => {
      clearTimeout(timer);
      resolve({ status: 101, ws });
    });
    ws.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/// One Phoenix socket speaking `vsn` directly. `frames` holds every decoded server text frame
/// (binary frames as {binary: Buffer}), `close` the close {code, reason} once closed.
export class RawSocket {
  static async connect(server, { vsn = '2.0.0', apikey = server.anonKey, params = {}, path } = {}) {
    const s = new RawSocket(vsn);
    const url = socketUrl(server, { apikey, vsn, ...params }, path);
    const r = await tryUpgrade(url);
    if (r.status !== 101) throw new Error(`upgrade refused: ${r.status} ${r.body}`);
    s.ws = r.ws;
    s.ws.on('message', (data, isBinary) => {
      if (isBinary) s.frames.push({ binary: Buffer.from(data) });
      else s.frames.push(decodeFrame(vsn, data.toString('utf8')));
    });
    s.ws.on('close', (code, reason) => { s.close = { code, reason: reason.toString() }; });
    s.ws.on('error', (e) => { s.error = e; });
    return s;
  }

  constructor(vsn) {
    this.vsn = vsn;
    this.frames = [];
    this.close = null;
    this.refSeq = 0;
  }

  nextRef() {
    return String(++this.refSeq);
  }

  send(msg) {
    this.ws.send(encodeFrame(this.vsn, msg));
  }

  sendRaw(text) {
    this.ws.send(text);
  }

  /// Waits for a frame matching `pred` at or after index `from`; returns it.
  async waitFrame(pred, what = 'a frame', { from = 0, timeoutMs } = {}) {
    await waitUntil(() => this.frames.slice(from).some((f) => !f.binary && pred(f)), {
      what, timeoutMs, dump: () => ({ frames: this.frames.map((f) => f.raw ?? f), close: this.close }),
    });
    return this.frames.slice(from).find((f) => !f.binary && pred(f));
  }

  /// Sends a heartbeat and waits for its reply; returns the reply frame.
  async heartbeat() {
    const ref = this.nextRef();
    this.send({ ref, topic: 'phoenix', event: 'heartbeat', payload: {} });
    return this.waitFrame((f) => f.topic === 'phoenix' && f.ref === ref, `heartbeat reply ${ref}`);
  }

  /// Sends phx_join for `topic` with `payload`; waits for the reply; returns
  /// {join_ref, reply}.
  async join(topic, payload = { config: { postgres_changes: [] } }) {
    const join_ref = this.nextRef();
    this.send({ join_ref, ref: join_ref, topic, event: 'phx_join', payload });
    const reply = await this.waitFrame((f) => f.topic === topic && f.event === 'phx_reply' && f.ref === join_ref,
      `join reply for ${topic}`);
    return { join_ref, reply };
  }

  /// Frames for `topic` with `event`.
  framesOf(topic, event) {
    return this.frames.filter((f) => !f.binary && f.topic === topic && (event === undefined || f.event === event));
  }

  async waitClosed(timeoutMs) {
    await waitUntil(() => this.close, { what: 'the socket to close', timeoutMs, dump: () => this.frames.map((f) => f.raw ?? f) });
    return this.close;
  }

  terminate() {
    this.ws?.terminate();
  }

  toString() {
    return show(this.frames);
  }
}
