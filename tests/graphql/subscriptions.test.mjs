// GraphQL subscriptions are live queries (issue 14 "Execution"): against real Postgres with the
// seed schema (tests/data/graphql/seed.sql) and the real clients (graphql-ws, @apollo/client's
// GraphQLWsLink), a subscription's first `next` is the current result — equal to the
// hand-written SQL run as the same role and claims — and each committed change that alters the
// result brings exactly one more `next` with the new result: inserts, updates, deletes, a row
// leaving and entering the filter, a nested customer's name; nothing for a change the operation
// does not read (counted in executions), nothing across identities (RLS per token, counted in
// results). Errors: a failing statement is a field error and the subscription stays; DDL that
// invalidates the operation ends it with an `error`; refusals name the fix. The suite runs in
// both capture modes (graphql.subscriptions, graphql_trigger.subscriptions).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { ApolloClient, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';

import { Walcast } from '../compat/lib/server.mjs';
import { roleToken, serviceToken, userToken } from '../compat/lib/tokens.mjs';
import { waitUntil } from '../compat/lib/wait.mjs';
import { Results } from './lib/results.mjs';
import { graphqlUrl } from './lib/socket.mjs';

globalThis.WebSocket ??= WebSocket;

const SEED = readFileSync(new URL('../data/graphql/seed.sql', import.meta.url), 'utf8');
const RLS = readFileSync(new URL('../data/graphql/rls.sql', import.meta.url), 'utf8');
const ALICE = '00000000-0000-4000-8000-00000000000a';
const BOB = '00000000-0000-4000-8000-00000000000b';
const MAX_OPERATIONS = 5;
const MAX_SUBSCRIPTIONS = 8; // LIVE_QUERY_MAX_SUBSCRIPTIONS: no other test holds more than 7

let walcast;
const clients = []; // disposed after each test, so that no subscription outlives its test

const claimsOf = (sub) => ({ role: 'authenticated', sub });

/// A graphql-ws client with the token in connectionParams.authorization, as the seed writes it.
function client(token) {
  const c = createClient({
    url: graphqlUrl(walcast), webSocketImpl: WebSocket, retryAttempts: 0, lazy: false,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  clients.push(c);
  return c;
}

/// Subscribes and returns the Results queue of the operation.
function subscribe(c, query, variables) {
  const results = new Results();
  results.stop = c.subscribe({ query, variables }, results.observer);
  return results;
}

async function executions() {
  return (await walcast.metrics()).get('walcast_live_query_executions_total') ?? 0;
}

before(async () => {
  walcast = await Walcast.start({
    GRAPHQL_SCHEMA_POLL_MS: 100, GRAPHQL_WS_MAX_OPERATIONS: MAX_OPERATIONS, LIVE_QUERY_MAX_SUBSCRIPTIONS: MAX_SUBSCRIPTIONS,
  });
  await walcast.sql(SEED);
  await walcast.sql(`
    INSERT INTO users (id, name, email, updated_at) VALUES
      ('${ALICE}', 'Alice', 'alice@example.com', '2026-01-01T00:00:00Z'),
      ('${BOB}', 'Bob', 'bob@example.com', '2026-01-01T00:00:00Z');
    INSERT INTO customers (id, name, email, owner_id) VALUES
      (1, 'Acme', 'acme@example.com', '${ALICE}'), (2, 'Bobco', NULL, '${BOB}'),
      (3, 'Nobody', 'no@example.com', NULL);
    INSERT INTO items (id, name, price) VALUES (1, 'Widget', 2.50), (2, 'Gadget', 10.00);
    INSERT INTO orders (id, customer_id, status, total) VALUES
      (1, 1, 'pending', 12.50), (2, 1, 'shipped', 99.99), (3, 1, 'pending', 5.00),
      (4, 2, 'pending', 7.25), (5, 3, 'pending', 1.00);
    INSERT INTO order_items VALUES (1, 1, 3), (1, 2, 1), (4, 2, 7);
    -- The old row whole, so that an UPDATE of a column no subscription reads runs nothing.
    ALTER TABLE orders REPLICA IDENTITY FULL;
    ALTER TABLE customers REPLICA IDENTITY FULL;
    CREATE POLICY everything ON customers FOR SELECT TO service_role USING (true);
    CREATE POLICY everything ON orders FOR SELECT TO service_role USING (true);
    -- A view whose statement fails for some rows (division by zero), and one reading no table.
    CREATE TABLE gauges (id int PRIMARY KEY, n int NOT NULL);
    INSERT INTO gauges VALUES (1, 4);
    CREATE VIEW inverse AS SELECT id, 100 / n AS inv FROM gauges;
    CREATE VIEW clock AS SELECT 1 AS id, 'tick'::text AS v;
    GRANT SELECT ON gauges, inverse, clock TO authenticated, service_role;
  `);
  await walcast.sql(RLS);
  // Wait for the schema (polled every 100 ms) to show the last of the seed.
  const probe = client(serviceToken());
  await waitUntil(async () => {
    const r = await subscribeOnce(probe, '{ __type(name: "Clock") { name } }');
    return r.data?.__type;
  }, { what: 'the seed in the GraphQL schema', dump: () => walcast.log().slice(-2000) });
});
after(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
  await walcast?.stop();
});

/// One query over the socket: its single result.
async function subscribeOnce(c, query, variables) {
  const r = subscribe(c, query, variables);
  try {
    return await r.next({ what: `the result of ${query}` });
  } finally {
    r.stop();
  }
}

async function disposeClients() {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
  // The engine drops a live result when its last subscription goes: wait for that, so that
  // the next test's execution counts are its own.
  await waitUntil(async () => (await walcast.metrics()).get('walcast_live_query_subscriptions') === 0,
    { what: 'the subscriptions of the test to end' });
}

const ORDERS = `subscription Pending($status: String!) {
  orders(filter: { status: { eq: $status } }, orderBy: { id: ASC }) { id total status customer { name email } }
}`;

/// What ORDERS returns for `claims`, by hand-written SQL as the same role and claims.
async function pendingOrders(claims) {
  const rows = await walcast.selectAs(claims, `
    SELECT o.id::text AS id, o.total::text AS total, o.status, c.name, c.email
      FROM orders o JOIN customers c ON c.id = o.customer_id
     WHERE o.status = 'pending' ORDER BY o.id`);
  return { data: { orders: rows.map((r) => ({ id: r.id, total: r.total, status: r.status, customer: { name: r.name, email: r.email } })) } };
}

describe('the seed\'s orders subscription (graphql-ws)', () => {
  after(disposeClients);

  test('the first result, then one result per change: insert, leave, enter, nested, delete', async () => {
    const alice = subscribe(client(userToken(ALICE)), ORDERS, { status: 'pending' });
    let expected = await pendingOrders(claimsOf(ALICE));
    assert.deepEqual(expected.data.orders.map((o) => o.id), ['1', '3'], 'the seed as alice sees it');
    assert.deepEqual(await alice.next({ what: 'the first result' }), expected);

    const steps = [
      ['insert', "INSERT INTO orders (id, customer_id, status, total) VALUES (10, 1, 'pending', 3.00)", ['1', '3', '10']],
      ['a row leaving the filter', "UPDATE orders SET status = 'shipped' WHERE id = 1", ['3', '10']],
      ['a row entering the filter', "UPDATE orders SET status = 'pending' WHERE id = 2", ['2', '3', '10']],
      ['a column update', 'UPDATE orders SET total = 4.50 WHERE id = 10', ['2', '3', '10']],
      ['the nested customer renamed', "UPDATE customers SET name = 'Acme Inc' WHERE id = 1", ['2', '3', '10']],
      ['delete', 'DELETE FROM orders WHERE id = 10', ['2', '3']],
    ];
    for (const [what, sql, ids] of steps) {
      await walcast.sql(sql);
      expected = await pendingOrders(claimsOf(ALICE));
      assert.deepEqual(expected.data.orders.map((o) => o.id), ids, `${what}: the hand-written SQL`);
      assert.deepEqual(await alice.next({ what: `the result after the ${what}` }), expected, what);
    }
    assert.ok(expected.data.orders.every((o) => o.customer.name === 'Acme Inc'));
    assert.equal(alice.received.length, 1 + steps.length, 'one result per change');
    assert.equal(alice.ended, undefined, 'the subscription is still running');
  });

  test('RLS per token: two users, one query, each sees their own rows and only their changes', async () => {
    const alice = subscribe(client(userToken(ALICE)), ORDERS, { status: 'pending' });
    const bob = subscribe(client(userToken(BOB)), ORDERS, { status: 'pending' });
    assert.deepEqual(await alice.next(), await pendingOrders(claimsOf(ALICE)));
    const bobFirst = await bob.next();
    assert.deepEqual(bobFirst, await pendingOrders(claimsOf(BOB)));
    assert.deepEqual(bobFirst.data.orders.map((o) => o.id), ['4']);
    // Alice's and nobody's orders change: alice's result changes, bob's does not.
    await walcast.sql("INSERT INTO orders (id, customer_id, status, total) VALUES (11, 1, 'pending', 1.00)");
    await walcast.sql("UPDATE orders SET total = 2.00 WHERE id = 5");
    const a = await alice.next();
    assert.ok(a.data.orders.some((o) => o.id === '11'));
    // Then bob's: his next result is the first he gets after his first.
    await walcast.sql("INSERT INTO orders (id, customer_id, status, total) VALUES (12, 2, 'pending', 8.00)");
    assert.deepEqual(await bob.next({ what: "bob's result after his insert" }), await pendingOrders(claimsOf(BOB)));
    assert.equal(bob.received.length, 2, 'bob got nothing for the changes he cannot see');
    assert.ok(bob.received.flatMap((r) => r.data.orders).every((o) => o.customer.name === 'Bobco'));
  });
});

describe('column-precise re-runs', () => {
  after(disposeClients);

  test('an UPDATE of a column the operation does not read runs nothing and pushes nothing', async () => {
    const s = subscribe(client(serviceToken()), 'subscription { orders(filter: { customerId: { eq: 3 } }) { id status } }');
    assert.deepEqual(await s.next(), { data: { orders: [{ id: '5', status: 'pending' }] } });
    const before = await executions();
    await walcast.sql('UPDATE orders SET total = total + 1 WHERE id = 5'); // total is not read
    await walcast.sql("UPDATE orders SET status = 'paid' WHERE id = 5");    // status is
    assert.deepEqual(await s.next(), { data: { orders: [{ id: '5', status: 'paid' }] } });
    assert.equal(await executions() - before, 1, 'one run: the status change, not the total change');
    assert.equal(s.received.length, 2);
  });
});

describe('refresh conditions from the root filter', () => {
  after(disposeClients);
  const ONE_CUSTOMER = 'subscription($c: BigInt!) { orders(filter: { customerId: { eq: $c } }, orderBy: { id: ASC }) { id status } }';

  test('a change to rows the root equality excludes runs nothing; a row moving in or out runs', async () => {
    await walcast.sql(`INSERT INTO customers (id, name) VALUES (40, 'Forty');
      INSERT INTO orders (id, customer_id, status, total) VALUES (400, 40, 'pending', 1.00)`);
    const s = subscribe(client(serviceToken()), ONE_CUSTOMER, { c: '40' });
    assert.deepEqual(await s.next(), { data: { orders: [{ id: '400', status: 'pending' }] } });
    const before = await executions();
    // Other customers' rows: an UPDATE of a column the operation reads, an INSERT, a DELETE.
    await walcast.sql(`UPDATE orders SET status = 'held' WHERE id = 5;
      INSERT INTO orders (id, customer_id, status, total) VALUES (401, 1, 'pending', 1.00);
      DELETE FROM orders WHERE id = 401`);
    await walcast.sql("UPDATE orders SET status = 'paid' WHERE id = 400");
    assert.deepEqual(await s.next(), { data: { orders: [{ id: '400', status: 'paid' }] } });
    assert.equal(await executions() - before, 1, 'one run: the change to customer 40\'s order only');
    // A row entering (its new row matches) and leaving (its old row matches).
    await walcast.sql('UPDATE orders SET customer_id = 40 WHERE id = 5');
    assert.deepEqual(await s.next(), { data: { orders: [{ id: '5', status: 'held' }, { id: '400', status: 'paid' }] } });
    await walcast.sql('UPDATE orders SET customer_id = 3 WHERE id = 5');
    assert.deepEqual(await s.next(), { data: { orders: [{ id: '400', status: 'paid' }] } });
    assert.equal(s.received.length, 4);
    await disposeClients();
  });

  test('past the engine\'s 16 refresh conditions the derived ones are dropped: it subscribes and runs on every change', async () => {
    const and = Array.from({ length: 17 }, () => '{ customerId: { eq: $c } }').join(', ');
    const s = subscribe(client(serviceToken()),
      `subscription($c: BigInt!) { orders(filter: { and: [${and}] }, orderBy: { id: ASC }) { id status } }`, { c: '40' });
    assert.deepEqual(await s.next(), { data: { orders: [{ id: '400', status: 'paid' }] } });
    const before = await executions();
    await walcast.sql("UPDATE orders SET status = 'held2' WHERE id = 5"); // another customer's row
    await waitUntil(async () => await executions() > before, { what: 'the run the dropped condition no longer prevents' });
    await walcast.sql("UPDATE orders SET status = 'done' WHERE id = 400");
    assert.deepEqual(await s.next(), { data: { orders: [{ id: '400', status: 'done' }] } });
    assert.equal(s.received.length, 2, 'the run for the other row pushed nothing: the result had not changed');
    await disposeClients();
  });
});

describe('variables, fragments, by primary key', () => {
  after(disposeClients);

  test('orderByPk with a variable and a fragment follows the row, then null after DELETE', async () => {
    await walcast.sql("INSERT INTO orders (id, customer_id, status, total) VALUES (20, 3, 'new', 1.00)");
    const s = subscribe(client(serviceToken()),
      'subscription One($id: BigInt!) { order: orderByPk(id: $id) { ...O } } fragment O on Orders { id status customer { n: name } }',
      { id: '20' });
    assert.deepEqual(await s.next(), { data: { order: { id: '20', status: 'new', customer: { n: 'Nobody' } } } });
    await walcast.sql("UPDATE orders SET status = 'paid' WHERE id = 20");
    assert.deepEqual(await s.next(), { data: { order: { id: '20', status: 'paid', customer: { n: 'Nobody' } } } });
    await walcast.sql('DELETE FROM orders WHERE id = 20');
    assert.deepEqual(await s.next(), { data: { order: null } });
  });
});

describe('views and the seed\'s other operations', () => {
  after(disposeClients);

  test('salesDashboard (a view with a composite-array column) follows order_items', async () => {
    const q = 'subscription { salesDashboard { totalRevenue orderCount topProducts { name salesCount } } }';
    const s = subscribe(client(serviceToken()), q);
    const expected = async () => {
      const [r] = await walcast.selectAs({ role: 'service_role' }, `
        SELECT total_revenue::text AS t, order_count::text AS c,
               (SELECT json_agg(json_build_object('name', p.name, 'salesCount', p.sales_count::text)) FROM unnest(top_products) p) AS p
          FROM sales_dashboard`);
      return { data: { salesDashboard: [{ totalRevenue: r.t, orderCount: r.c, topProducts: r.p ?? [] }] } };
    };
    assert.deepEqual(await s.next(), await expected());
    await walcast.sql('INSERT INTO order_items VALUES (3, 1, 100)'); // Widget now sells most
    const next = await s.next();
    assert.deepEqual(next, await expected());
    assert.equal(next.data.salesDashboard[0].topProducts[0].name, 'Widget');
  });

  test('users over @apollo/client GraphQLWsLink: the first result, then an update', async () => {
    const ws = client(serviceToken());
    const apollo = new ApolloClient({ link: new GraphQLWsLink(ws), cache: new InMemoryCache() });
    const s = new Results();
    const sub = apollo.subscribe({ query: gql`subscription Users { users(orderBy: { name: ASC }) { id name email updatedAt } }` }).subscribe(s.observer);
    try {
      const user = (id, name, email) => ({ __typename: 'Users', id, name, email, updatedAt: '2026-01-01T00:00:00+00:00' });
      assert.deepEqual((await s.next()).data, { users: [user(ALICE, 'Alice', 'alice@example.com'), user(BOB, 'Bob', 'bob@example.com')] });
      await walcast.sql(`UPDATE users SET name = 'Zed' WHERE id = '${ALICE}'`);
      assert.deepEqual((await s.next()).data, { users: [user(BOB, 'Bob', 'bob@example.com'), user(ALICE, 'Zed', 'alice@example.com')] });
      await walcast.sql(`UPDATE users SET name = 'Alice' WHERE id = '${ALICE}'`);
      assert.equal((await s.next()).data.users[0].name, 'Alice');
    } finally {
      sub.unsubscribe();
      apollo.stop();
    }
  });
});

describe('errors', () => {
  after(disposeClients);

  test('a statement that fails is a field error; the subscription stays and recovers', async () => {
    const s = subscribe(client(serviceToken()), 'subscription { inverse(orderBy: { id: ASC }) { id inv } }');
    assert.deepEqual(await s.next(), { data: { inverse: [{ id: 1, inv: 25 }] } });
    await walcast.sql('UPDATE gauges SET n = 0 WHERE id = 1');
    const failed = await s.next({ what: 'the field error' });
    assert.equal(failed.data, null, 'inverse is a non-null list: data is null');
    assert.match(failed.errors[0].message, /division by zero/);
    assert.deepEqual(failed.errors[0].path, ['inverse']);
    assert.deepEqual(failed.errors[0].locations, [{ line: 1, column: 16 }]);
    // A change that runs it again and fails the same way sends nothing new.
    const ran = await executions();
    await walcast.sql('INSERT INTO gauges VALUES (2, 0)');
    await waitUntil(async () => await executions() > ran, { what: 'the run after the insert' });
    await walcast.sql('UPDATE gauges SET n = 5');
    assert.deepEqual(await s.next({ what: 'the recovered result' }), { data: { inverse: [{ id: 1, inv: 20 }, { id: 2, inv: 20 }] } });
    assert.equal(s.received.length, 3, 'the first result, one error, the recovered result');
    await walcast.sql('DELETE FROM gauges WHERE id = 2');
    assert.deepEqual(await s.next(), { data: { inverse: [{ id: 1, inv: 20 }] } });
    assert.equal(s.ended, undefined);
  });

  test('a view that reads no captured table is refused, naming why', async () => {
    const s = subscribe(client(serviceToken()), 'subscription { clock { id v } }');
    const end = await s.ending();
    assert.ok(Array.isArray(end.error), JSON.stringify(end));
    assert.match(end.error[0].message, /cannot run as a live query: the live query reads nothing walcast captures/);
  });

  test('a role walcast cannot use is refused; the connection stays usable', async () => {
    const c = client(roleToken('no_such_role'));
    const end = await subscribe(c, 'subscription { gauges { id } }').ending();
    assert.match(end.error?.[0]?.message ?? '', /^Refused: /);
  });

  test(`the operation after GRAPHQL_WS_MAX_OPERATIONS=${MAX_OPERATIONS} is refused, naming the setting`, async () => {
    const c = client(serviceToken());
    const running = [];
    for (let i = 0; i < MAX_OPERATIONS; i++) {
      running.push(subscribe(c, `subscription { gauges(filter: { id: { eq: ${i} } }) { id } }`));
      await running.at(-1).next({ what: `subscription ${i}'s first result` });
    }
    const end = await subscribe(c, 'subscription { gauges { id } }').ending();
    assert.match(end.error?.[0]?.message ?? '', /Too many operations on this connection \(limit 5, GRAPHQL_WS_MAX_OPERATIONS\)/);
    // Completing one frees a place.
    running[0].stop();
    const again = subscribe(c, 'subscription { gauges(filter: { id: { eq: 1 } }) { id } }');
    await waitUntil(async () => again.received.length > 0 || again.ended, { what: 'a subscription after one completed' });
    assert.deepEqual(again.received[0], { data: { gauges: [{ id: 1 }] } }, JSON.stringify(again.ended));
  });
});

describe('bounds across connections', () => {
  after(disposeClients);

  test(`the subscription after LIVE_QUERY_MAX_SUBSCRIPTIONS=${MAX_SUBSCRIPTIONS} is refused, naming the setting`, async () => {
    const held = [];
    for (let i = 0; i < MAX_SUBSCRIPTIONS; i++) {
      const c = i % 2 ? client(userToken(ALICE)) : client(serviceToken()); // several connections and identities
      held.push(subscribe(c, `subscription { gauges(filter: { id: { eq: ${i} } }) { id } }`));
      await held.at(-1).next({ what: `subscription ${i}'s first result` });
    }
    const end = await subscribe(client(serviceToken()), 'subscription { gauges { id } }').ending();
    assert.match(end.error?.[0]?.message ?? '', /LIVE_QUERY_MAX_SUBSCRIPTIONS\); try again after others end, or raise LIVE_QUERY_MAX_SUBSCRIPTIONS/);
    assert.ok(held.every((h) => h.ended === undefined), 'the held subscriptions keep running');
    // One ends: a new one is served.
    held[0].stop();
    await waitUntil(async () => (await walcast.metrics()).get('walcast_live_query_subscriptions') < MAX_SUBSCRIPTIONS,
      { what: 'the ended subscription to be dropped' });
    const again = subscribe(client(serviceToken()), 'subscription { gauges(filter: { id: { eq: 1 } }) { id } }');
    assert.deepEqual(await again.next(), { data: { gauges: [{ id: 1 }] } });
  });
});

describe('DDL while subscribed', () => {
  after(disposeClients);

  test('an added column keeps the subscription; a dropped selected column ends it with an error', async () => {
    const c = client(serviceToken());
    const users = subscribe(c, 'subscription { users(orderBy: { name: ASC }) { name } }');
    const gauges = subscribe(c, 'subscription { gauges { id n } }');
    assert.equal((await users.next()).data.users.length, 2);
    assert.deepEqual(await gauges.next(), { data: { gauges: [{ id: 1, n: 5 }] } });

    await walcast.sql('ALTER TABLE users ADD COLUMN nickname text');
    await waitUntil(async () => {
      const r = await subscribeOnce(c, '{ __type(name: "Users") { fields { name } } }');
      return r.data?.__type?.fields?.some((f) => f.name === 'nickname');
    }, { what: 'the rebuilt schema with users.nickname' });
    await walcast.sql(`UPDATE users SET name = 'Alicia' WHERE id = '${ALICE}'`);
    assert.deepEqual((await users.next({ what: 'a result after the added column' })).data.users.map((u) => u.name), ['Alicia', 'Bob']);

    await walcast.sql('ALTER TABLE gauges DROP COLUMN n CASCADE'); // the view inverse goes too
    const end = await gauges.ending({ what: 'the subscription to end after DROP COLUMN' });
    assert.ok(Array.isArray(end.error), JSON.stringify(end));
    assert.match(end.error[0].message, /no longer validates against the GraphQL schema/);
    assert.ok(end.error.slice(1).some((e) => /Cannot query field "n" on type "Gauges"/.test(e.message)), JSON.stringify(end.error));
    assert.equal(users.ended, undefined, 'the other subscription keeps running');
  });
});
