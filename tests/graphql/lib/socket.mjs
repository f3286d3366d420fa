// A raw GraphQL WebSocket for protocol tests: the `ws` package speaking a chosen subprotocol,
// with every message queued and waited for with a deadline (never a fixed sleep).
import WebSocket from 'ws';

import { withDeadline } from '../../compat/lib/wait.mjs';

/// The GraphQL endpoints of a running Walcast (tests/compat/lib/server.mjs).
export function graphqlUrl(walcast, path = '/graphql') {
  return walcast.httpUrl.replace(/^http:/, 'ws:') + path;
}

export class RawSocket {
  /// Opens url with subprotocols (a string or an array); resolves once open.
  static async open(url, protocols = 'graphql-transport-ws', { timeoutMs = 10_000 } = {}) {
    const s = new RawSocket(url, protocols);
    await withDeadline(s.#opened, { what: `WebSocket ${url} to open`, timeoutMs });
    return s;
  }

  #queue = [];
  #waiters = [];
  #opened;
  closed; ///< resolves with {code, reason} when the server closes

  constructor(url, protocols) {
    this.ws = new WebSocket(url, protocols);
    this.#opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    this.ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      const w = this.#waiters.shift();
      if (w) w(m);
      else this.#queue.push(m);
    });
  }

  get protocol() {
    return this.ws.protocol;
  }

  send(message) {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /// The next message from the server, within timeoutMs.
  next({ timeoutMs = 10_000, what = 'a message' } = {}) {
    if (this.#queue.length) return Promise.resolve(this.#queue.shift());
    return withDeadline(new Promise((resolve) => this.#waiters.push(resolve)), { what, timeoutMs });
  }

  /// Messages received and not yet taken.
  pending() {
    return this.#queue.length;
  }

  waitClosed({ timeoutMs = 10_000 } = {}) {
    return withDeadline(this.closed, { what: 'the server to close the socket', timeoutMs });
  }

  close() {
    this.ws.close();
  }
}

/// connection_init with a Bearer token, then the ack.
export async function initialised(url, token, protocols = 'graphql-transport-ws') {
  const s = await RawSocket.open(url, protocols);
  s.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
  const ack = await s.next({ what: 'connection_ack' });
  if (ack.type !== 'connection_ack') throw new Error(`expected connection_ack, got ${JSON.stringify(ack)}`);
  return s;
}
