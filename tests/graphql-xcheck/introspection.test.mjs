// Cross-check of walcast's introspection executor against graphql-js 16: the full
// introspection query (descriptions, specifiedByURL, repeatable directives, deprecated input
// values, schema description) executed by walcast must load into buildClientSchema and print
// the same SDL as graphql-js's own schema; each user-defined type and directive must be
// introspected identically; the seed's operations must validate against the client schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  buildClientSchema, buildSchema, getIntrospectionQuery, graphqlSync, parse, printSchema,
  specifiedScalarTypes, validate,
} from 'graphql';
import { shopSchema, seedSchema, seedOperations } from './schema.mjs';

const tool = process.env.WALCAST_GRAPHQL_TOOL;
if (!tool) throw new Error('WALCAST_GRAPHQL_TOOL must point at graphql_xcheck_tool (ctest sets it)');

const query = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
});

function walcastExecute(schema, q, variables = {}) {
  const out = execFileSync(tool, ['execute'], { input: JSON.stringify({ schema, query: q, variables }) });
  return JSON.parse(out.toString());
}

const builtin = new Set(specifiedScalarTypes.map((t) => t.name));
const userTypes = (result) =>
  Object.fromEntries(result.__schema.types.filter((t) => !t.name.startsWith('__') && !builtin.has(t.name)).map((t) => [t.name, t]));

for (const [name, sdl] of [['shop', shopSchema], ['seed', seedSchema]]) {
  test(`${name} schema: walcast's introspection loads into buildClientSchema and prints the same SDL`, () => {
    const result = walcastExecute(sdl, query);
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    const client = buildClientSchema(result.data);
    assert.equal(printSchema(client), printSchema(buildSchema(sdl)));
  });

  test(`${name} schema: every user type and directive introspects as in graphql-js`, () => {
    const ours = walcastExecute(sdl, query).data;
    const ref = JSON.parse(JSON.stringify(graphqlSync({ schema: buildSchema(sdl), source: query }).data));
    assert.deepEqual(Object.keys(userTypes(ours)), Object.keys(userTypes(ref)));
    assert.deepEqual(userTypes(ours), userTypes(ref));
    const directives = (r) => r.__schema.directives.filter((d) => !['include', 'skip', 'deprecated', 'specifiedBy', 'oneOf'].includes(d.name));
    assert.deepEqual(directives(ours), directives(ref));
    assert.deepEqual(ours.__schema.directives.map((d) => d.name).sort(), ref.__schema.directives.map((d) => d.name).sort());
    assert.deepEqual(
      ours.__schema.types.map((t) => t.name).sort(),
      ref.__schema.types.map((t) => t.name).sort(),
      'the same types, built-in scalars that are used and introspection types included');
    for (const root of ['queryType', 'mutationType', 'subscriptionType']) {
      assert.deepEqual(ours.__schema[root], ref.__schema[root]);
    }
    assert.equal(ours.__schema.description, ref.__schema.description);
  });
}

test("the seed's operations validate against the client schema built from walcast's introspection", () => {
  const client = buildClientSchema(walcastExecute(seedSchema, query).data);
  for (const op of seedOperations) assert.deepEqual(validate(client, parse(op)), [], op);
});

test('__type, __typename, aliases, fragments, variables and @skip/@include execute as in graphql-js', () => {
  const q = `query Q($name: String!, $withFields: Boolean!, $dep: Boolean = true) {
    __typename
    t: __type(name: $name) { ...T fields(includeDeprecated: $dep) @include(if: $withFields) { name isDeprecated deprecationReason args { name defaultValue type { ...Ref } } } }
    missing: __type(name: "Nope") { name }
    currency: __type(name: "Currency") { enumValues(includeDeprecated: true) { name isDeprecated deprecationReason description } plain: enumValues { name } }
    range: __type(name: "Range") { inputFields(includeDeprecated: true) { name defaultValue isDeprecated deprecationReason } inputFields { name } }
    search: __type(name: "SearchResult") { possibleTypes { name } interfaces { name } }
    node: __type(name: "Named") { possibleTypes { name } interfaces { name } }
    dt: __type(name: "DateTime") { specifiedByURL description fields { name } }
  }
  fragment T on __Type { __typename kind name description interfaces { name } ... on __Type { skipped: name @skip(if: true) } }
  fragment Ref on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }`;
  for (const variables of [{ name: 'Product', withFields: true }, { name: 'Customer', withFields: false, dep: false }]) {
    const ours = walcastExecute(shopSchema, q, variables);
    const ref = graphqlSync({ schema: buildSchema(shopSchema), source: q, variableValues: variables });
    assert.deepEqual(ours, JSON.parse(JSON.stringify(ref)));
  }
});
