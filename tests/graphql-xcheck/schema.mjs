// The test schema of the cross-check (a shop: customers, orders, items, products), written
// for walcast; it exercises every kind of type, interfaces implementing interfaces, unions,
// enums with deprecation, input objects with required fields and defaults, custom scalars
// with specifiedBy, repeatable and argument-taking directives, and all three root types.
export const shopSchema = `
"A small shop, for cross-checking walcast's GraphQL layer against graphql-js."
schema {
  query: Query
  mutation: Mutation
  subscription: Subscription
}

"A date and time in RFC 3339 form."
scalar DateTime @specifiedBy(url: "https://www.rfc-editor.org/rfc/rfc3339")

scalar JSON

"Cache the field's result."
directive @cached(ttl: Int!, scope: CacheScope = PUBLIC) on FIELD | QUERY

directive @tag(name: String!) repeatable on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT | FRAGMENT_DEFINITION

directive @onVariable(note: String) on VARIABLE_DEFINITION

directive @onSubscription on SUBSCRIPTION | MUTATION

enum CacheScope {
  PUBLIC
  PRIVATE
}

"Anything with an id."
interface Node {
  id: ID!
}

interface Named implements Node {
  id: ID!
  """
  The display name.
  May be absent.
  """
  name: String
}

interface Priced {
  price(currency: Currency = EUR): Float!
}

enum Currency {
  EUR
  USD
  "Pounds."
  GBP @deprecated(reason: "Use EUR.")
}

enum Status {
  PENDING
  PAID
  SHIPPED
  CANCELLED @deprecated
}

type Customer implements Node & Named {
  id: ID!
  name: String
  email: String!
  orders(filter: OrderFilter, limit: Int = 10, offset: Int): [Order!]!
  vip: Boolean
  tags: [String!]
  friends: [Customer]
}

type Order implements Node {
  id: ID!
  total: Float!
  status: Status!
  customer: Customer
  items: [Item!]!
  createdAt: DateTime
  note(maxLength: Int!): String
  meta: JSON
  count: Int
}

type Item implements Node & Priced {
  id: ID!
  product: Product!
  quantity: Int!
  price(currency: Currency = EUR): Float!
  count: String
}

type Product implements Node & Named & Priced {
  id: ID!
  name: String
  salesCount: Int
  price(currency: Currency = EUR): Float!
  oldName: String @deprecated
  legacyId: Int @deprecated(reason: "Use id.")
}

type Coupon implements Node {
  id: ID!
  code: String!
  percent: Int
}

union SearchResult = Customer | Order | Product

union Purchasable = Item | Product

"Filter on orders."
input OrderFilter {
  status: StatusFilter
  total: FloatFilter
  and: [OrderFilter!]
  or: [OrderFilter!]
  not: OrderFilter
  customerId: ID
}

input StatusFilter {
  eq: Status
  neq: Status
  in: [Status!]
}

input FloatFilter {
  eq: Float
  gt: Float
  lt: Float = 1000000
}

input Range {
  from: Int!
  to: Int! = 100
  step: Int @deprecated(reason: "Always 1.")
}

input ComplexInput {
  requiredField: Boolean!
  nonNullWithDefault: Int! = 0
  intField: Int
  stringField: String
  stringList: [String]
  nested: ComplexInput
  when: DateTime
  scope: CacheScope = PRIVATE
}

input OrderOrder {
  total: Direction
  createdAt: Direction
}

enum Direction {
  ASC
  DESC
}

type SalesDashboard {
  totalRevenue: Float
  orderCount: Int
  averageOrderValue: Float
  topProducts: [Product!]
}

type Query {
  node(id: ID!): Node
  customer(id: ID!): Customer
  customers(filter: JSON, limit: Int): [Customer!]!
  orders(filter: OrderFilter, orderBy: [OrderOrder!], limit: Int, offset: Int): [Order!]!
  search(text: String!, first: Int = 20): [SearchResult!]!
  purchasable: [Purchasable]
  salesDashboard: SalesDashboard
  range(r: Range): [Int!]
  complex(input: ComplexInput, flag: Boolean = false, n: Int, f: Float, s: String, id: ID, status: Status, list: [Int], nonNullList: [Int!], listOfLists: [[String]], when: DateTime): String
  strict(n: Int!, l: [Int!]!): Int
  requiredArgs(a: Int!, b: String!, c: Boolean! = true): Boolean
  named: Named
  priced: [Priced]
  coupon(code: String!): Coupon
}

type Mutation {
  placeOrder(customerId: ID!, items: [ID!]!): Order
  cancel(id: ID!): Boolean
}

type Subscription {
  orders(filter: OrderFilter): [Order!]!
  users: [Customer!]
  salesDashboard: SalesDashboard
  orderPlaced: Order
}
`;

// A schema shaped like the one walcast will generate for the seed's tables (issue 14), to
// validate the seed's example operations.
export const seedSchema = `
scalar DateTime
scalar BigFloat

type Users {
  id: ID!
  name: String
  email: String
  updatedAt: DateTime
}

type Customers {
  id: ID!
  name: String
  email: String
}

type Orders {
  id: ID!
  total: BigFloat
  status: String
  customer: Customers
}

type TopProduct {
  name: String
  salesCount: Int
}

type SalesDashboard {
  totalRevenue: BigFloat
  orderCount: Int
  averageOrderValue: BigFloat
  topProducts: [TopProduct!]
}

input StringFilter {
  eq: String
  neq: String
  in: [String!]
  like: String
  isNull: Boolean
}

input OrdersFilter {
  status: StringFilter
  and: [OrdersFilter!]
  or: [OrdersFilter!]
  not: OrdersFilter
}

enum OrderDirection {
  ASC
  DESC
}

input OrdersOrderBy {
  createdAt: OrderDirection
  total: OrderDirection
}

type Query {
  users(limit: Int, offset: Int): [Users!]!
  orders(filter: OrdersFilter, orderBy: [OrdersOrderBy!], limit: Int, offset: Int): [Orders!]!
  salesDashboard: [SalesDashboard!]!
}

type Subscription {
  users(limit: Int, offset: Int): [Users!]!
  orders(filter: OrdersFilter, orderBy: [OrdersOrderBy!], limit: Int, offset: Int): [Orders!]!
  salesDashboard: [SalesDashboard!]!
}
`;

export const seedOperations = [
  'subscription { users { id name email updatedAt } }',
  'subscription { orders(filter: { status: { eq: "pending" } }) { id total status customer { name email } } }',
  'subscription { salesDashboard { totalRevenue orderCount averageOrderValue topProducts { name salesCount } } }',
];
