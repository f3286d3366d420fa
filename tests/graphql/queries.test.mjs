// GraphQL queries against real Postgres with the seed schema (tests/data/graphql/seed.sql),
// through the real clients: fetch (POST and GET /graphql), graphql-ws and @apollo/client's
// GraphQLWsLink over the socket. Results equal what a hand-written SQL query returns as the
// same role and claims; RLS decides per token (two users see their own rows); variables are
// values, never SQL; errors name the fix; hostile inputs are refused without harm.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';

import { Walcast } from '../compat/lib/server.mjs';
import { roleToken, serviceToken, userToken } from '../compat/lib/tokens.mjs';
import { waitUntil, withDeadline } from '../compat/lib/wait.mjs';
import { graphqlUrl } from './lib/socket.mjs';

const SEED = readFileSync(new URL('../data/graphql/seed.sql', import.meta.url), 'utf8');
const RLS = readFileSync(new URL('../data/graphql/rls.sql', import.meta.url), 'utf8');
const ALICE = '00000000-0000-4000-8000-00000000000a';
const BOB = '00000000-0000-4000-8000-00000000000b';
const MAX_RESULT_BYTES = 50_000;
const TIMEOUT_MS = 1500;

let walcast;

/// POST /graphql; resolves {status, body}.
async function post(query, { variables, token = userToken(ALICE), operationName, raw } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${walcast.httpUrl}/graphql`, {
    method: 'POST', headers, body: raw ?? JSON.stringify({ query, variables, operationName }),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

/// GET /graphql?query=…&variables=… with the apikey header.
async function get(query, { variables, token = userToken(ALICE) } = {}) {
  const u = new URL(`${walcast.httpUrl}/graphql`);
  u.searchParams.set('query', query);
  if (variables) u.searchParams.set('variables', JSON.stringify(variables));
  const res = await fetch(u, { headers: { apikey: token, accept: 'application/json' } });
  return { status: res.status, body: await res.json() };
}

const claimsOf = (sub) => ({ role: 'authenticated', sub });

before(async () => {
  walcast = await Walcast.start({
    GRAPHQL_SCHEMA_POLL_MS: 100,
    GRAPHQL_MAX_RESULT_BYTES: MAX_RESULT_BYTES,
    GRAPHQL_TIMEOUT_MS: TIMEOUT_MS,
  });
  await walcast.sql(SEED);
  await walcast.sql(`
    INSERT INTO users (id, name, email) VALUES
      ('${ALICE}', 'Alice', 'alice@example.com'), ('${BOB}', 'Bob', 'bob@example.com');
    INSERT INTO customers (id, name, email, owner_id) VALUES
      (1, 'Acme', 'acme@example.com', '${ALICE}'), (2, 'Bobco', NULL, '${BOB}'),
      (3, 'Nobody', 'no@example.com', NULL);
    INSERT INTO items (id, name, price) VALUES (1, 'Widget', 2.50), (2, 'Gadget', 10.00);
    INSERT INTO orders (id, customer_id, status, priority, total, tags, created_at) VALUES
      (1, 1, 'pending', 'high', 12.50, '{a,b}', '2026-01-01T10:00:00Z'),
      (2, 1, 'shipped', 'low', 99.99, NULL, '2026-01-02T10:00:00Z'),
      (3, 1, 'pending', 'normal', 5.00, '{}', '2026-01-03T10:00:00Z'),
      (4, 2, 'pending', 'normal', 7.25, '{x}', '2026-01-04T10:00:00Z');
    INSERT INTO orders (id, customer_id, total) SELECT n, 3, n FROM generate_series(1000, 3000) n;
    INSERT INTO order_items VALUES (1, 1, 3), (1, 2, 1), (4, 2, 7);
    -- A table anon may read and authenticated may not; a view that is slow to read.
    CREATE TABLE secrets (id int PRIMARY KEY, v text);
    GRANT SELECT ON secrets TO anon;
    CREATE VIEW slow AS SELECT 1 AS id, pg_sleep(10)::text AS z;
    GRANT SELECT ON slow TO authenticated;
  `);
  await walcast.sql(RLS);
  await waitUntil(async () => (await post('{ __type(name: "Slow") { name } }')).body?.data?.__type,
    { what: 'the seed in the GraphQL schema', dump: () => walcast.log().slice(-2000) });
});
after(async () => {
  await walcast?.stop();
});

describe('results', () => {
  test('a nested query equals the hand-written SQL run as the same role and claims', async () => {
    const { status, body } = await post(`{
      orders(orderBy: [{ status: ASC }, { createdAt: DESC }], limit: 3, offset: 0) {
        id total status priority tags createdAt
        customer { name email }
        orderItems(orderBy: { quantity: DESC }) { quantity item { name price } }
      } }`);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.errors, undefined);
    const rows = await walcast.selectAs(claimsOf(ALICE), `
      SELECT o.id::text AS id, o.total::text AS total, o.status, o.priority::text AS priority,
             o.tags,
             to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS+00:00') AS created_at, c.name, c.email,
             (SELECT coalesce(json_agg(json_build_object('quantity', oi.quantity, 'item',
                       json_build_object('name', i.name, 'price', i.price::text))
                       ORDER BY oi.quantity DESC, oi.order_id, oi.item_id), '[]')
                FROM order_items oi JOIN items i ON i.id = oi.item_id
               WHERE oi.order_id = o.id) AS order_items
        FROM orders o JOIN customers c ON c.id = o.customer_id
       ORDER BY o.status, o.created_at DESC, o.id LIMIT 3`);
    assert.equal(rows.length, 3);
    assert.deepEqual(body.data.orders, rows.map((r) => ({
      id: r.id, total: r.total, status: r.status, priority: r.priority, tags: r.tags,
      createdAt: r.created_at, customer: { name: r.name, email: r.email },
      orderItems: r.order_items,
    })));
    assert.deepEqual(body.data.orders.map((o) => o.id), ['3', '1', '2'], 'pending newest first, then shipped');
  });

  test('the seed view with its composite array, and the empty cases', async () => {
    const { body } = await post(`{ salesDashboard { totalRevenue orderCount topProducts { name salesCount } }
      orderByPk(id: 999999) { id } none: orders(filter: { id: { lt: 0 } }) { id } }`, { token: serviceToken() });
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    const [d] = await walcast.sql(`SELECT total_revenue::text AS r, order_count::text AS c,
      (SELECT json_agg(json_build_object('name', p.name, 'salesCount', p.sales_count::text))
         FROM unnest(top_products) p) AS top FROM sales_dashboard`);
    assert.deepEqual(body.data, {
      salesDashboard: [{ totalRevenue: d.r, orderCount: d.c, topProducts: d.top }],
      orderByPk: null, none: [],
    });
    assert.deepEqual(d.top, [{ name: 'Gadget', salesCount: '8' }, { name: 'Widget', salesCount: '3' }]);
  });

  test('RLS per token: two users see their own rows, anon none, service_role every row', async () => {
    const q = '{ customers(orderBy: { id: ASC }) { name orders { id } } }';
    const alice = await post(q, { token: userToken(ALICE) });
    const bob = await post(q, { token: userToken(BOB) });
    const anon = await post(q, { token: roleToken('anon') });
    assert.deepEqual(alice.body.data.customers, [{ name: 'Acme', orders: [{ id: '1' }, { id: '2' }, { id: '3' }] }]);
    assert.deepEqual(bob.body.data.customers, [{ name: 'Bobco', orders: [{ id: '4' }] }]);
    assert.deepEqual(anon.body.data.customers, []);
    const service = await post('{ customers(orderBy: { id: ASC }) { name } }', { token: serviceToken() });
    assert.deepEqual(service.body.data.customers.map((c) => c.name), ['Acme', 'Bobco', 'Nobody']);
  });
});

describe('variables, fragments, aliases', () => {
  const Q = `query Q($id: BigInt!, $st: [String!], $n: Int = 1) {
    one: orderByPk(id: $id) { ...F }
    list: orders(filter: { or: [{ status: { in: $st } }, { priority: { eq: high } }] }, orderBy: { id: ASC }, limit: $n) { __typename id }
    __typename
  }
  fragment F on Orders { __typename total customer { __typename n: name } }`;
  const expected = {
    one: { __typename: 'Orders', total: '99.99', customer: { __typename: 'Customers', n: 'Acme' } },
    list: [{ __typename: 'Orders', id: '1' }, { __typename: 'Orders', id: '2' }],
    __typename: 'Query',
  };
  const variables = { id: '2', st: ['shipped'], n: 5 };

  test('over POST and GET, with fetch and with Apollo HttpLink', async () => {
    assert.deepEqual((await post(Q, { variables })).body, { data: expected });
    assert.deepEqual((await get(Q, { variables })).body, { data: expected });
    const apollo = new ApolloClient({
      link: new HttpLink({ uri: `${walcast.httpUrl}/graphql`, headers: { authorization: `Bearer ${userToken(ALICE)}` } }),
      cache: new InMemoryCache(),
    });
    const r = await withDeadline(apollo.query({ query: gql(Q), variables, fetchPolicy: 'no-cache' }), { what: 'the Apollo HttpLink query' });
    assert.deepEqual(r.data, expected);
    apollo.stop();
  });

  test('over the socket with graphql-ws and with Apollo GraphQLWsLink', async () => {
    const client = createClient({
      url: graphqlUrl(walcast), webSocketImpl: WebSocket, retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${userToken(ALICE)}` },
    });
    const apollo = new ApolloClient({ link: new GraphQLWsLink(client), cache: new InMemoryCache() });
    try {
      const results = [];
      await withDeadline(new Promise((resolve, reject) => {
        client.subscribe({ query: Q, variables }, { next: (r) => results.push(r), error: reject, complete: resolve });
      }), { what: 'the query to complete over graphql-ws' });
      assert.deepEqual(results, [{ data: expected }], 'one next, then complete');
      const r = await withDeadline(apollo.query({ query: gql(Q), variables, fetchPolicy: 'no-cache' }), { what: 'the Apollo query' });
      assert.deepEqual(r.data, expected);
    } finally {
      apollo.stop();
      await client.dispose();
    }
  });

  test('a variable is a value, never SQL', async () => {
    const evil = "x' OR 1=1; DROP TABLE orders; --";
    const { body } = await post('query($s: String!) { orders(filter: { status: { eq: $s } }) { id } }', { variables: { s: evil } });
    assert.deepEqual(body, { data: { orders: [] } });
    const like = await post('query($p: String!) { orders(filter: { status: { like: $p } }) { id } }', { variables: { p: "%' OR '1'='1" } });
    assert.deepEqual(like.body, { data: { orders: [] } });
    assert.equal((await walcast.sql('SELECT count(*)::int AS n FROM orders'))[0].n, 2005);
  });
});

describe('errors name the fix', () => {
  test('no token, a bad token, a superuser token', async () => {
    const none = await post('{ orders { id } }', { token: null });
    assert.equal(none.status, 401);
    assert.match(none.body.errors[0].message, /Authorization: Bearer <jwt> or in the apikey header/);
    const bad = await post('{ orders { id } }', { token: 'not-a-jwt' });
    assert.equal(bad.status, 401);
    assert.match(bad.body.errors[0].message, /^Unauthorized: /);
    const su = await post('{ orders { id } }', { token: roleToken('postgres') });
    assert.equal(su.status, 403);
    assert.match(su.body.errors[0].message, /role "postgres" has SUPERUSER, which bypasses row-level security.*JWT_ALLOWED_ROLES/);
  });

  test('parse and validation errors are 400 with graphql-js texts and locations', async () => {
    const syntax = await post('{ orders { id }');
    assert.equal(syntax.status, 400);
    assert.deepEqual(syntax.body.errors, [{ message: 'Syntax Error: Expected Name, found <EOF>.', locations: [{ line: 1, column: 16 }] }]);
    const invalid = await post('{ orders { nope } }');
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.errors[0].message, 'Cannot query field "nope" on type "Orders".');
    const coercion = await post('query($n: Int) { orders(limit: $n) { id } }', { variables: { n: 'x' } });
    assert.equal(coercion.status, 400);
    assert.match(coercion.body.errors[0].message, /^Variable "\$n" got invalid value "x"/);
    const sub = await post('subscription { orders { id } }');
    assert.equal(sub.status, 405);
    assert.match(sub.body.errors[0].message, /subscribe over the WebSocket on \/graphql/);
    const body = await post(null, { raw: 'not json' });
    assert.equal(body.status, 400);
    assert.match(body.body.errors[0].message, /must be a JSON object/);
  });

  test('Postgres refuses a table the role may not read; a slow query hits GRAPHQL_TIMEOUT_MS', async () => {
    const denied = await post('{ secrets { id } }');
    assert.equal(denied.status, 200);
    assert.deepEqual(denied.body.data, null);
    assert.deepEqual(denied.body.errors[0].path, ['secrets']);
    assert.match(denied.body.errors[0].message, /permission denied for table secrets \(SQLSTATE 42501\)/);
    const slow = await post('{ slow { id z } }');
    assert.equal(slow.body.data, null);
    assert.match(slow.body.errors[0].message, new RegExp(`longer than GRAPHQL_TIMEOUT_MS \\(${TIMEOUT_MS} ms\\)`));
    // A by-primary-key field is nullable: its error leaves the other fields' data.
    const mixed = await post('{ secretByPk(id: 1) { v } customers { name } }');
    assert.deepEqual(mixed.body.data, { secretByPk: null, customers: [{ name: 'Acme' }] });
    assert.deepEqual(mixed.body.errors.map((e) => e.path), [['secretByPk']]);
  });
});

describe('hostile input is refused, nothing else breaks', () => {
  test('nesting 1,000 levels deep, 10,000 aliases, a 2 MB body', async () => {
    const deep = `{ ${'customers { orders { customer '.repeat(333)}name${' } }'.repeat(333)} }`;
    const nested = await post(deep);
    assert.equal(nested.status, 400);
    assert.match(nested.body.errors[0].message, /^Document is nested more than 64 levels/);
    const aliases = await post(`{ ${Array.from({ length: 10_000 }, (_, i) => `a${i}: users { id }`).join(' ')} }`);
    assert.equal(aliases.status, 400);
    assert.match(aliases.body.errors[0].message, /walcast's limit/);
    const huge = await post('query($ids: [BigInt!]) { orders(filter: { id: { in: $ids } }) { id } }',
      { variables: { ids: Array.from({ length: 300_000 }, (_, i) => String(i)) } });
    assert.equal(huge.status, 413);
    // A large but allowed list is one parameter.
    const big = await post('query($ids: [BigInt!]) { orders(filter: { id: { in: $ids } }, orderBy: { id: ASC }) { id } }',
      { variables: { ids: Array.from({ length: 50_000 }, (_, i) => String(i + 1)) } });
    assert.deepEqual(big.body, { data: { orders: [{ id: '1' }, { id: '2' }, { id: '3' }] } });
  });

  test('a result over GRAPHQL_MAX_RESULT_BYTES is refused, not cut; a limit gets it', async () => {
    const all = await post('{ orders { id total status createdAt } }', { token: serviceToken() });
    assert.equal(all.body.data, null);
    assert.match(all.body.errors[0].message,
      new RegExp(`more than GRAPHQL_MAX_RESULT_BYTES \\(${MAX_RESULT_BYTES}\\); ask for fewer rows \\(limit\\)`));
    const some = await post('{ orders(limit: 10) { id } }', { token: serviceToken() });
    assert.equal(some.body.data.orders.length, 10);
  });
});
