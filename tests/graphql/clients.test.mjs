// The real pinned clients against `walcast serve`'s GraphQL socket: graphql-ws (npm; subprotocol
// graphql-transport-ws), @apollo/client with GraphQLWsLink, and the legacy
// subscriptions-transport-ws (subprotocol graphql-ws). Each connects with its usual
// connectionParams, runs a query, and subscribes: the current result first, then a new result
// after a committed INSERT touches it — in the client's own shape; refused tokens reach each
// client as the protocol says (close 4403 / connection_error).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { SubscriptionClient } from 'subscriptions-transport-ws';

import { Walcast } from '../compat/lib/server.mjs';
import { withDeadline } from '../compat/lib/wait.mjs';
import { Results } from './lib/results.mjs';
import { graphqlUrl } from './lib/socket.mjs';

// The schema is generated from the catalog (the embedded database's demo table todos, which
// anon may read); tests/graphql/queries.test.mjs and subscriptions.test.mjs check results in
// depth. Each test subscribes to the todos with a task of its own, so that the tests' inserts
// never touch each other's subscriptions.
const byTask = (task) => `subscription { todos(filter: { task: { eq: ${JSON.stringify(task)} } }) { id task } }`;

// Apollo's link tells close events apart by the global WebSocket, as in a browser.
globalThis.WebSocket ??= WebSocket;

let walcast;
let url;

before(async () => {
  walcast = await Walcast.start();
  url = graphqlUrl(walcast);
});
after(async () => {
  await walcast?.stop();
});

function graphqlWsClient(token, extra = {}) {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: false,
    ...extra,
  });
}

describe('graphql-ws client (graphql-transport-ws)', () => {
  test('connects with a Bearer token, queries, and subscribes: the current result, then the insert', async () => {
    const connected = [];
    const client = graphqlWsClient(walcast.anonKey, { on: { connected: (_s, payload) => connected.push(payload) } });
    try {
      const ok = client.iterate({ query: '{ __typename todos: __type(name: "Todos") { name } }' });
      assert.deepEqual((await withDeadline(ok.next(), { what: 'the result' })).value,
        { data: { __typename: 'Query', todos: { name: 'Todos' } } });
      const rows = client.iterate({ query: '{ todos { id } }' });
      const { value } = await withDeadline(rows.next(), { what: 'the query result' });
      assert.ok(Array.isArray(value.data?.todos), JSON.stringify(value));
      const results = new Results();
      const stop = client.subscribe({ query: byTask('graphql-ws') }, results.observer);
      assert.deepEqual(await results.next({ what: 'the first result' }), { data: { todos: [] } });
      const [{ id }] = await walcast.sql("INSERT INTO todos (task) VALUES ('graphql-ws') RETURNING id");
      assert.deepEqual(await results.next({ what: 'the result with the insert' }),
        { data: { todos: [{ id, task: 'graphql-ws' }] } });
      stop();
      assert.equal(connected.length, 1, 'connection_ack arrived once');
      // A mutation is refused with the reason (the schema has none).
      await assert.rejects(withDeadline(client.iterate({ query: 'mutation { x }' }).next(),
        { what: 'the mutation error' }), (errors) => {
        assert.ok(Array.isArray(errors), 'the client rejects with the error message payload');
        assert.match(errors[0].message, /mutation/i);
        return true;
      });
    } finally {
      await client.dispose();
    }
  });

  test('a refused token closes the client with 4403 and the reason', async () => {
    const client = graphqlWsClient('not-a-jwt');
    const closed = new Promise((resolve) => client.on('closed', resolve));
    try {
      const event = await withDeadline(closed, { what: 'the close' });
      assert.equal(event.code, 4403);
      assert.equal(event.reason, 'Forbidden: The token provided is not a valid JWT');
    } finally {
      await client.dispose();
    }
  });
});

describe('@apollo/client GraphQLWsLink', () => {
  test('queries over the link get their data, a subscription its results as they change', async () => {
    // anon: the demo table's policy lets anon read every todo (authenticated reads none).
    const ws = graphqlWsClient(walcast.anonKey);
    const apollo = new ApolloClient({ link: new GraphQLWsLink(ws), cache: new InMemoryCache() });
    try {
      const ok = await withDeadline(apollo.query({ query: gql`query Q { __typename }`, fetchPolicy: 'no-cache' }), { what: 'the query' });
      assert.deepEqual(ok.data, { __typename: 'Query' });
      const rows = await withDeadline(apollo.query({ query: gql`query T { todos { id } }`, fetchPolicy: 'no-cache' }), { what: 'the query' });
      assert.ok(Array.isArray(rows.data.todos), JSON.stringify(rows));
      const results = new Results();
      const sub = apollo.subscribe({ query: gql(byTask('apollo')) }).subscribe(results.observer);
      assert.deepEqual((await results.next({ what: 'the first result' })).data, { todos: [] });
      const [{ id }] = await walcast.sql("INSERT INTO todos (task) VALUES ('apollo') RETURNING id");
      assert.deepEqual((await results.next({ what: 'the result with the insert' })).data,
        { todos: [{ __typename: 'Todos', id, task: 'apollo' }] });
      sub.unsubscribe();
      // Apollo 4 reports a subscription's GraphQL errors as a result's `error`: a field that
      // does not exist is refused by validation.
      const e = await withDeadline(new Promise((resolve, reject) => {
        apollo.subscribe({ query: gql`subscription S { todos { nope } }` }).subscribe({
          next: (r) => (r.error ? resolve(r.error) : reject(new Error(`data: ${JSON.stringify(r)}`))),
          error: resolve,
        });
      }), { what: 'the subscription error' });
      assert.ok(CombinedGraphQLErrors.is(e), `a CombinedGraphQLErrors, got ${e?.stack}`);
      assert.match(e.errors[0].message, /Cannot query field "nope" on type "Todos"/);
    } finally {
      apollo.stop();
      await ws.dispose();
    }
  });
});

describe('subscriptions-transport-ws (legacy graphql-ws)', () => {
  test('connects with connectionParams, subscribes and gets the results, then an operation error', async () => {
    const client = new SubscriptionClient(url, {
      connectionParams: { authorization: `Bearer ${walcast.anonKey}` }, reconnect: false,
    }, WebSocket);
    try {
      const connected = new Promise((resolve) => client.onConnected(resolve));
      await withDeadline(connected, { what: 'connection_ack' });
      const results = new Results();
      const sub = client.request({ query: byTask('legacy') }).subscribe(results.observer);
      assert.deepEqual(await results.next({ what: 'the first result' }), { data: { todos: [] } });
      const [{ id }] = await walcast.sql("INSERT INTO todos (task) VALUES ('legacy') RETURNING id");
      assert.deepEqual(await results.next({ what: 'the result with the insert' }),
        { data: { todos: [{ id, task: 'legacy' }] } });
      sub.unsubscribe();
      // The client's observable errors with the first GraphQL error object of the `error` message.
      const error = await withDeadline(new Promise((resolve, reject) => {
        client.request({ query: 'subscription { todos { nope } }' }).subscribe({ next: reject, error: resolve, complete: () => reject(new Error('completed without error')) });
      }), { what: 'the operation error' });
      assert.match(error.message, /Cannot query field "nope" on type "Todos"/);
    } finally {
      client.close();
    }
  });

  test('a refused token reaches the client as connection_error', async () => {
    const error = await withDeadline(new Promise((resolve) => {
      const client = new SubscriptionClient(url, {
        connectionParams: { apikey: 'not-a-jwt' }, reconnect: false,
        connectionCallback: (err) => { if (err) { resolve(err); client.close(); } },
      }, WebSocket);
    }), { what: 'connectionCallback with the error' });
    assert.equal(error.message, 'Forbidden: The token provided is not a valid JWT');
  });
});
