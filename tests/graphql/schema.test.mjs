// The GraphQL schema walcast generates from the catalog (GRAPHQL_SCHEMAS), as the real clients
// see it: the full introspection query over the socket (graphql-ws) loads into graphql-js's
// buildClientSchema, the seed's three operations validate against it, the types have the
// documented names and shapes, and the schema follows DDL while walcast runs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { buildClientSchema, getIntrospectionQuery, parse, validate } from 'graphql';

import { Walcast } from '../compat/lib/server.mjs';
import { roleToken } from '../compat/lib/tokens.mjs';
import { waitUntil, withDeadline } from '../compat/lib/wait.mjs';
import { graphqlUrl } from './lib/socket.mjs';

const SEED = readFileSync(new URL('../data/graphql/seed.sql', import.meta.url), 'utf8');
const SEED_OPERATIONS = [
  'subscription { users { id name email updatedAt } }',
  'subscription { orders(filter: { status: { eq: "pending" } }) { id total status customer { name email } } }',
  'subscription { salesDashboard { totalRevenue orderCount averageOrderValue topProducts { name salesCount } } }',
];
const INTROSPECTION = getIntrospectionQuery({
  descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true,
  inputValueDeprecation: true,
});

let walcast;
let client;

/// One operation's single result over the socket ({data, errors}).
async function execute(query) {
  const it = client.iterate({ query });
  const { value } = await withDeadline(it.next(), { what: `the result of ${query.slice(0, 60)}` });
  await it.return?.();
  return value;
}

async function clientSchema() {
  const result = await execute(INTROSPECTION);
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  return buildClientSchema(result.data);
}

before(async () => {
  walcast = await Walcast.start({ GRAPHQL_SCHEMA_POLL_MS: 100 });
  await walcast.sql(SEED);
  client = createClient({
    url: graphqlUrl(walcast),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${roleToken('authenticated')}` },
    retryAttempts: 0,
  });
  // The schema follows the seed's DDL within the poll interval.
  await waitUntil(async () => (await execute('{ __type(name: "SalesDashboard") { name } }')).data?.__type,
    { what: 'the seed tables in the GraphQL schema', dump: () => walcast.log().slice(-2000) });
});
after(async () => {
  await client?.dispose();
  await walcast?.stop();
});

test('the introspection result loads into buildClientSchema and the seed operations validate', async () => {
  const schema = await clientSchema();
  for (const op of SEED_OPERATIONS) {
    assert.deepEqual(validate(schema, parse(op)).map((e) => e.message), [], op);
  }
  assert.equal(schema.getMutationType(), null, 'no mutations');
  const bad = validate(schema, parse('{ orders(filter: { status: { eq: 1 } }) { id nope } }'));
  assert.deepEqual(bad.map((e) => e.message), [
    'String cannot represent a non string value: 1',
    'Cannot query field "nope" on type "Orders".',
  ]);
});

test('tables, views and composite types have the documented names, scalars and nullability', async () => {
  const schema = await clientSchema();
  const fields = (type) => Object.fromEntries(Object.values(schema.getType(type).getFields())
    .map((f) => [f.name, String(f.type)]));
  assert.deepEqual(fields('Orders'), {
    id: 'BigInt!', customerId: 'BigInt!', status: 'String!', priority: 'OrderPriority!',
    total: 'BigFloat!', tags: '[String]', createdAt: 'DateTime!',
    customer: 'Customers', orderItems: '[OrderItems!]!',
  });
  assert.deepEqual(fields('Users'), {
    id: 'UUID!', name: 'String!', email: 'String!', updatedAt: 'DateTime!', customers: '[Customers!]!',
  });
  assert.deepEqual(fields('SalesDashboard'), {
    totalRevenue: 'BigFloat', orderCount: 'BigInt', averageOrderValue: 'BigFloat', topProducts: '[ProductSales]',
  });
  assert.deepEqual(fields('ProductSales'), { name: 'String', salesCount: 'BigInt' });
  assert.deepEqual(fields('Shipments'), {
    id: 'Int!', orderId: 'BigInt!', itemId: 'Int!', shippedOn: 'Date', orderItem: 'OrderItems',
  });
  assert.equal(String(fields('OrderItems').shipments), '[Shipments!]!', 'a two-column foreign key, both ways');
  assert.deepEqual(schema.getType('OrderPriority').getValues().map((v) => v.name), ['low', 'normal', 'high']);
  const query = schema.getQueryType().getFields();
  assert.deepEqual(query.orders.args.map((a) => `${a.name}: ${a.type}`),
    ['filter: OrdersFilter', 'orderBy: [OrdersOrderBy!]', 'limit: Int', 'offset: Int']);
  assert.deepEqual(query.orderItemByPk.args.map((a) => `${a.name}: ${a.type}`), ['orderId: BigInt!', 'itemId: Int!']);
  assert.equal(String(query.orderByPk.type), 'Orders');
  assert.equal(query.salesDashboardByPk, undefined, 'a view has no primary key');
  assert.deepEqual(Object.keys(schema.getSubscriptionType().getFields()), Object.keys(query));
  assert.deepEqual(Object.keys(schema.getType('StringFilter').getFields()),
    ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'in', 'like', 'ilike', 'isNull']);
});

test('the schema follows DDL: a new column and table appear, a dropped one disappears', async () => {
  const hasField = async (type, field) =>
    (await execute(`{ __type(name: "${type}") { fields { name } } }`)).data?.__type?.fields?.some((f) => f.name === field) ?? false;
  await walcast.sql('ALTER TABLE orders ADD COLUMN note text; CREATE TABLE audit_log (id int PRIMARY KEY); ' +
    'GRANT SELECT ON audit_log TO authenticated');
  await waitUntil(() => hasField('Orders', 'note'), { what: 'Orders.note after ADD COLUMN' });
  assert.ok((await execute('{ __type(name: "AuditLog") { name } }')).data.__type);
  await walcast.sql('ALTER TABLE orders DROP COLUMN note; REVOKE SELECT ON audit_log FROM authenticated');
  await waitUntil(async () => !(await hasField('Orders', 'note')), { what: 'Orders.note gone after DROP COLUMN' });
  assert.equal((await execute('{ __type(name: "AuditLog") { name } }')).data.__type, null,
    'a table no API role may read is not exposed');
});
