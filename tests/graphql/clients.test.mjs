// The real pinned clients against `walcast serve`'s GraphQL socket: graphql-ws (npm; subprotocol
// graphql-transport-ws), @apollo/client with GraphQLWsLink, and the legacy
// subscriptions-transport-ws (subprotocol graphql-ws). Each connects with its usual
// connectionParams, runs an operation and receives walcast's answer in the client's own shape;
// refused tokens reach each client as the protocol says (close 4403 / connection_error).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { SubscriptionClient } from 'subscriptions-transport-ws';

import { Walcast } from '../compat/lib/server.mjs';
import { roleToken } from '../compat/lib/tokens.mjs';
import { withDeadline } from '../compat/lib/wait.mjs';
import { graphqlUrl } from './lib/socket.mjs';

// The schema is generated from the catalog (the embedded database's demo table todos);
// queries read it (tests/graphql/queries.test.mjs checks the results). Subscriptions are not
// executed yet: they get this error (README "Not yet supported"), which the transports deliver
// as each protocol defines.
const NO_EXECUTION = /^GraphQL subscriptions are not executed by this walcast yet/;

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
  test('connects with a Bearer token, gets a result and the error message of an operation', async () => {
    const connected = [];
    const client = graphqlWsClient(walcast.anonKey, { on: { connected: (_s, payload) => connected.push(payload) } });
    try {
      const ok = client.iterate({ query: '{ __typename todos: __type(name: "Todos") { name } }' });
      assert.deepEqual((await withDeadline(ok.next(), { what: 'the result' })).value,
        { data: { __typename: 'Query', todos: { name: 'Todos' } } });
      const rows = client.iterate({ query: '{ todos { id } }' });
      const { value } = await withDeadline(rows.next(), { what: 'the query result' });
      assert.ok(Array.isArray(value.data?.todos), JSON.stringify(value));
      const it = client.iterate({ query: 'subscription { todos { id } }' });
      await assert.rejects(withDeadline(it.next(), { what: 'the operation to end' }), (errors) => {
        assert.ok(Array.isArray(errors), 'the client rejects with the error message payload');
        assert.match(errors[0].message, NO_EXECUTION);
        return true;
      });
      assert.equal(connected.length, 1, 'connection_ack arrived once');
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
  test('queries over the link get their data, a subscription reports the GraphQL error', async () => {
    const ws = graphqlWsClient(roleToken('authenticated'));
    const apollo = new ApolloClient({ link: new GraphQLWsLink(ws), cache: new InMemoryCache() });
    try {
      const ok = await withDeadline(apollo.query({ query: gql`query Q { __typename }`, fetchPolicy: 'no-cache' }), { what: 'the query' });
      assert.deepEqual(ok.data, { __typename: 'Query' });
      const rows = await withDeadline(apollo.query({ query: gql`query T { todos { id } }`, fetchPolicy: 'no-cache' }), { what: 'the query' });
      assert.ok(Array.isArray(rows.data.todos), JSON.stringify(rows));
      // Apollo 4 reports a subscription's GraphQL errors as a result's `error`.
      const e = await withDeadline(new Promise((resolve, reject) => {
        apollo.subscribe({ query: gql`subscription S { todos { id } }` }).subscribe({
          next: (r) => (r.error ? resolve(r.error) : reject(new Error(`data: ${JSON.stringify(r)}`))),
          error: resolve,
        });
      }), { what: 'the subscription error' });
      assert.ok(CombinedGraphQLErrors.is(e), `a CombinedGraphQLErrors, got ${e?.stack}`);
      assert.match(e.errors[0].message, NO_EXECUTION);
    } finally {
      apollo.stop();
      await ws.dispose();
    }
  });
});

describe('subscriptions-transport-ws (legacy graphql-ws)', () => {
  test('connects with connectionParams and gets the operation error', async () => {
    const client = new SubscriptionClient(url, {
      connectionParams: { authorization: `Bearer ${walcast.anonKey}` }, reconnect: false,
    }, WebSocket);
    try {
      const connected = new Promise((resolve) => client.onConnected(resolve));
      await withDeadline(connected, { what: 'connection_ack' });
      // The client's observable errors with the first GraphQL error object of the `error` message.
      const error = await withDeadline(new Promise((resolve, reject) => {
        client.request({ query: 'subscription { todos { id } }' }).subscribe({ next: reject, error: resolve, complete: () => reject(new Error('completed without error')) });
      }), { what: 'the operation error' });
      assert.match(error.message, NO_EXECUTION);
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
