// A WebSocket client on a bare TCP socket (node:net), for what a hostile client does and a
// library client cannot: write frames without reading any, send malformed text, hold a request
// half-sent. Frames are built and parsed here (RFC 6455 §5).
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { waitUntil } from '../../compat/lib/wait.mjs';

/// A masked client frame (RFC 6455 §5.3): FIN set, `opcode`, `payload` (Buffer or string).
export function clientFrame(opcode, payload) {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  const key = randomBytes(4);
  let head;
  if (body.length < 126) {
    head = Buffer.from([0x80 | opcode, 0x80 | body.length]);
  } else if (body.length < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode;
    head[1] = 0x80 | 126;
    head.writeUInt16BE(body.length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(body.length), 2);
  }
  const masked = Buffer.alloc(body.length);
  for (let i = 0; i < body.length; ++i) masked[i] = body[i] ^ key[i & 3];
  return Buffer.concat([head, key, masked]);
}

/// `count` masked ping frames of 125-byte payloads `ping-<n>` (n from `first`), built fast for
/// floods: the masking key is zero, which leaves the payload as it is (RFC 6455 §5.3 lets the
/// server not care which key a client picks).
export function pingBatch(first, count) {
  const frame = 2 + 4 + 125;
  const buf = Buffer.alloc(frame * count, '.');
  for (let i = 0; i < count; ++i) {
    const off = i * frame;
    buf[off] = 0x80 | 0x9;
    buf[off + 1] = 0x80 | 125;
    buf.fill(0, off + 2, off + 6);
    buf.write(`ping-${first + i}`, off + 6, 'latin1');
  }
  return buf;
}

export const OP = { text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa };

/// A raw connection to `server` (a compat Walcast). connect() opens TCP; upgrade() sends the
/// WebSocket handshake for `path` and waits for 101. Server frames are parsed from `rx` into
/// `frames` ({opcode, payload: Buffer}) only while reading (resume()/pause()).
export class WireSocket {
  static async connect(server) {
    const s = new WireSocket();
    await new Promise((resolve, reject) => {
      s.sock = net.connect(server.port, '127.0.0.1', resolve);
      s.sock.once('error', reject);
    });
    s.sock.on('error', (e) => { s.error = e; });
    s.sock.on('close', () => { s.closed = true; });
    s.sock.on('data', (d) => s.#onData(d));
    return s;
  }

  frames = [];
  head = null; // the HTTP response head, once received
  closed = false;
  #rx = Buffer.alloc(0);

  async upgrade(path, { timeoutMs = 15_000 } = {}) {
    const key = randomBytes(16).toString('base64');
    this.sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await waitUntil(() => this.head || this.closed, { what: 'the upgrade response', timeoutMs });
    if (!this.head?.startsWith('HTTP/1.1 101')) throw new Error(`upgrade refused: ${this.head ?? 'connection closed'}`);
  }

  /// Writes raw bytes; resolves when the kernel took them (backpressure honoured), and never
  /// before the event loop has had a turn: when the peer reads as fast as it is written, Node
  /// completes the write synchronously and emits 'drain' on the next tick, so a loop awaiting
  /// write() would run on microtasks alone and starve every other socket of this process (the
  /// probe measuring the server under the flood: 5 of 300 10-ms timers fired in 3 s against a
  /// fast reader). Resolving from setImmediate lets the rest of the process run between writes.
  write(bytes) {
    return new Promise((resolve, reject) => {
      const yielded = () => setImmediate(resolve);
      if (this.sock.write(bytes)) return yielded();
      const onDrain = () => { cleanup(); yielded(); };
      const onClose = () => { cleanup(); reject(new Error('connection closed while writing')); };
      const cleanup = () => { this.sock.off('drain', onDrain); this.sock.off('close', onClose); };
      this.sock.on('drain', onDrain);
      this.sock.on('close', onClose);
    });
  }

  pause() { this.sock.pause(); }
  resume() { this.sock.resume(); }
  destroy() { this.sock.destroy(); }

  /// The first close frame received: {code, reason} or undefined.
  closeFrame() {
    const f = this.frames.find((x) => x.opcode === OP.close);
    return f && { code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005, reason: f.payload.subarray(2).toString('utf8') };
  }

  #onData(d) {
    this.#rx = this.#rx.length ? Buffer.concat([this.#rx, d]) : d;
    if (!this.head) {
      const end = this.#rx.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.head = this.#rx.subarray(0, end).toString('latin1');
      this.#rx = this.#rx.subarray(end + 4);
    }
    for (;;) {
      if (this.#rx.length < 2) return;
      let len = this.#rx[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.#rx.length < 4) return;
        len = this.#rx.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.#rx.length < 10) return;
        len = Number(this.#rx.readBigUInt64BE(2));
        off = 10;
      }
      if (this.#rx.length < off + len) return;
      this.frames.push({ opcode: this.#rx[0] & 0x0f, payload: Buffer.from(this.#rx.subarray(off, off + len)) });
      this.#rx = this.#rx.subarray(off + len);
    }
  }
}

/// Opens a TCP connection to `port` and sends the start of a request that is never finished;
/// `received` collects what the server answers, `closedByServer` is set when it closes.
export function halfSentRequest(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
      resolve(s);
    });
    s.received = '';
    s.on('data', (d) => { s.received += d.toString('latin1'); });
    s.on('close', () => { s.closedByServer = true; });
    s.on('error', (e) => (s.connecting ? reject(e) : undefined));
  });
}

/// Resident memory of process `pid` in bytes (VmRSS).
export function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

/// CPU time (user + system) of process `pid` in seconds.
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}
