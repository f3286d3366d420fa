// graphql-transport-ws and legacy graphql-ws on the real `walcast serve`, message by message
// over a raw socket: subprotocol choice, connection_init auth, the close codes (4400, 4401,
// 4403, 4408, 4429), ping/pong, errors as GraphQL error objects, the document limits (a 1 MB
// query, 1,000 levels, 10,000 aliases) answered without stalling another client, and token
// expiry. Needs no schema: everything here happens before or at parsing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { Walcast } from '../compat/lib/server.mjs';
import { roleToken, sign, nowS } from '../compat/lib/tokens.mjs';
import { RawSocket, graphqlUrl, initialised } from './lib/socket.mjs';

let walcast;
let url;

before(async () => {
  walcast = await Walcast.start({ GRAPHQL_WS_INIT_TIMEOUT_MS: '500' });
  url = graphqlUrl(walcast);
});
after(async () => {
  await walcast?.stop();
});

describe('subprotocol', () => {
  test('graphql-transport-ws is chosen when offered, on /graphql and /api/graphql/ws', async () => {
    for (const path of ['/graphql', '/api/graphql/ws']) {
      const s = await RawSocket.open(graphqlUrl(walcast, path), ['graphql-ws', 'graphql-transport-ws']);
      assert.equal(s.protocol, 'graphql-transport-ws', path);
      s.close();
    }
  });

  test('the legacy graphql-ws subprotocol alone gets graphql-ws', async () => {
    const s = await RawSocket.open(url, 'graphql-ws');
    assert.equal(s.protocol, 'graphql-ws');
    s.close();
  });

  test('an upgrade offering neither is refused with 400', async () => {
    await assert.rejects(RawSocket.open(url, 'mqtt'), /upgrade refused: 400/);
    await assert.rejects(RawSocket.open(url, []), /upgrade refused: 400/);
  });
});

describe('connection_init', () => {
  test('a Bearer token in connectionParams.authorization is acknowledged', async () => {
    const s = await initialised(url, walcast.anonKey);
    s.close();
  });

  test('apikey in the payload, or the upgrade apikey parameter, is acknowledged', async () => {
    const a = await RawSocket.open(url);
    a.send({ type: 'connection_init', payload: { apikey: walcast.anonKey } });
    assert.deepEqual(await a.next(), { type: 'connection_ack' });
    a.close();
    const b = await RawSocket.open(`${url}?apikey=${walcast.anonKey}`);
    b.send({ type: 'connection_init' });
    assert.deepEqual(await b.next(), { type: 'connection_ack' });
    b.close();
  });

  test('no token, a forged token and an expired token close with 4403', async () => {
    const cases = [
      [{}, 'Forbidden: no token; pass connectionParams'],
      [{ authorization: `Bearer ${sign({ role: 'service_role', exp: nowS() + 60 }, { secret: 'x'.repeat(40) })}` },
        'Forbidden: Failed to validate JWT signature'],
      [{ authorization: `Bearer ${roleToken('anon', { ttlS: -10 })}` }, 'Forbidden: Token has expired'],
    ];
    for (const [payload, reason] of cases) {
      const s = await RawSocket.open(url);
      s.send({ type: 'connection_init', payload });
      const closed = await s.waitClosed();
      assert.equal(closed.code, 4403, JSON.stringify(payload));
      assert.ok(closed.reason.startsWith(reason), closed.reason);
      assert.equal(s.pending(), 0, 'no connection_ack before the close');
    }
  });

  test('a second connection_init closes with 4429', async () => {
    const s = await initialised(url, walcast.anonKey);
    s.send({ type: 'connection_init', payload: { authorization: `Bearer ${walcast.anonKey}` } });
    assert.deepEqual(await s.waitClosed(), { code: 4429, reason: 'Too many initialisation requests' });
  });

  test('no connection_init within GRAPHQL_WS_INIT_TIMEOUT_MS closes with 4408', async () => {
    const s = await RawSocket.open(url);
    const started = Date.now();
    assert.deepEqual(await s.waitClosed(), { code: 4408, reason: 'Connection initialisation timeout' });
    assert.ok(Date.now() - started >= 400, 'not before the timeout');
  });

  test('subscribe before connection_ack closes with 4401', async () => {
    const s = await RawSocket.open(url);
    s.send({ type: 'subscribe', id: '1', payload: { query: '{ __typename }' } });
    assert.deepEqual(await s.waitClosed(), { code: 4401, reason: 'Unauthorized' });
  });
});

describe('messages', () => {
  test('ping is answered with pong carrying the same payload', async () => {
    const s = await RawSocket.open(url);
    s.send({ type: 'ping', payload: { seq: 1 } });
    s.send({ type: 'ping' });
    assert.deepEqual(await s.next(), { type: 'pong', payload: { seq: 1 } });
    assert.deepEqual(await s.next(), { type: 'pong' });
    s.close();
  });

  test('not JSON, an unknown type and a subscribe without id close with 4400', async () => {
    for (const bad of ['{not json', JSON.stringify({ type: 'start', id: '1' }),
      JSON.stringify({ type: 'subscribe', payload: { query: '{ a }' } })]) {
      const s = await initialised(url, walcast.anonKey);
      s.send(bad);
      const closed = await s.waitClosed();
      assert.equal(closed.code, 4400, bad);
      assert.match(closed.reason, /^Invalid message received/);
    }
  });

  test('a syntax error is an error message with the GraphQL error object, and the socket stays', async () => {
    const s = await initialised(url, walcast.anonKey);
    s.send({ type: 'subscribe', id: 'a', payload: { query: '{\n  users {' } });
    assert.deepEqual(await s.next(), {
      type: 'error', id: 'a',
      payload: [{ message: 'Syntax Error: Expected Name, found <EOF>.', locations: [{ line: 2, column: 10 }] }],
    });
    // The id is free again: the same id may be reused.
    s.send({ type: 'subscribe', id: 'a', payload: { query: '{' } });
    assert.equal((await s.next()).type, 'error');
    s.send({ type: 'ping' });
    assert.deepEqual(await s.next(), { type: 'pong' });
    s.close();
  });

  test('complete for an unknown id is ignored', async () => {
    const s = await initialised(url, walcast.anonKey);
    s.send({ type: 'complete', id: 'never-started' });
    s.send({ type: 'ping' });
    assert.deepEqual(await s.next(), { type: 'pong' });
    s.close();
  });
});

describe('limits', () => {
  test('a 1 MB query, 1,000 levels and 10,000 aliases get the limit error; another client is not stalled', async () => {
    const hostile = await initialised(url, walcast.anonKey);
    const probe = await RawSocket.open(url);
    // The probe pings throughout; every pong must come back, in order, promptly.
    let seq = 0;
    const rtts = [];
    let stop = false;
    const probing = (async () => {
      while (!stop) {
        const sent = Date.now();
        probe.send({ type: 'ping', payload: { seq } });
        const pong = await probe.next({ what: `pong ${seq}`, timeoutMs: 5000 });
        assert.deepEqual(pong, { type: 'pong', payload: { seq } });
        rtts.push(Date.now() - sent);
        seq += 1;
      }
    })();
    const big = `{ __typename ${' '.repeat(1 << 20)}}`;
    const deep = '{ a '.repeat(1000) + '}'.repeat(1000);
    const aliases = `{ ${Array.from({ length: 10_000 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    const expected = [
      [big, /^Document is 1048590 bytes, more than walcast's limit of 262144 bytes/],
      [deep, /^Document is nested more than 64 levels deep/],
      [aliases, /^Document selects more than 2000 fields \(aliases included\)/],
    ];
    for (let round = 0; round < 3; ++round) {
      for (const [i, [query, message]] of expected.entries()) {
        const id = `h${round}-${i}`;
        hostile.send({ type: 'subscribe', id, payload: { query } });
        const m = await hostile.next({ what: `the error for ${id}` });
        assert.equal(m.type, 'error');
        assert.equal(m.id, id);
        assert.match(m.payload[0].message, message);
      }
    }
    stop = true;
    await probing;
    assert.ok(seq >= 1, 'the probe got pongs while the hostile documents were handled');
    assert.ok(Math.max(...rtts) < 2000, `probe round trips stayed short: ${rtts.join(',')}`);
    hostile.close();
    probe.close();
  });
});

describe('token expiry', () => {
  test('the connection is closed with 4403 when the token expires', async () => {
    const token = roleToken('anon', { ttlS: 2 });
    const s = await initialised(url, token);
    const closed = await s.waitClosed({ timeoutMs: 8000 });
    assert.equal(closed.code, 4403);
    assert.match(closed.reason, /^Forbidden: Token has expired \d+ seconds ago; reconnect with a fresh token$/);
  });

  test('legacy: connection_error then 4403', async () => {
    const token = roleToken('anon', { ttlS: 2 });
    const s = await initialised(url, token, 'graphql-ws');
    assert.deepEqual(await s.next(), { type: 'ka' });
    const m = await s.next({ timeoutMs: 8000, what: 'connection_error' });
    assert.equal(m.type, 'connection_error');
    assert.match(m.payload.message, /^Forbidden: Token has expired/);
    assert.equal((await s.waitClosed()).code, 4403);
  });
});

describe('legacy graphql-ws', () => {
  test('ack then ka; a bad message is answered and the socket stays; stop of unknown id is ignored', async () => {
    const s = await initialised(url, walcast.anonKey, 'graphql-ws');
    assert.deepEqual(await s.next(), { type: 'ka' });
    s.send('{not json');
    assert.deepEqual(await s.next(), { type: 'connection_error', payload: { message: 'Message must be JSON-parseable' } });
    s.send({ type: 'start', id: '1', payload: { query: '{' } });
    const err = await s.next();
    assert.equal(err.type, 'error');
    assert.equal(err.id, '1');
    assert.equal(err.payload[0].message, 'Syntax Error: Expected Name, found <EOF>.');
    s.send({ type: 'connection_terminate' });
    assert.equal((await s.waitClosed()).code, 1000);
  });
});
