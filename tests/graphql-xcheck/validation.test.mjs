// Cross-check: every document of corpus.mjs goes through graphql-js 16 (the reference
// implementation: parse + validate with its specified rules) and through walcast's parser and
// validator (graphql_xcheck_tool); both must agree on parse success, and on the validation
// errors' messages and locations (compared as sets: the two traverse in different orders).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { buildSchema, parse, validate, GraphQLError } from 'graphql';
import { corpus } from './corpus.mjs';
import { shopSchema, seedSchema, seedOperations } from './schema.mjs';

const tool = process.env.WALCAST_GRAPHQL_TOOL;
if (!tool) throw new Error('WALCAST_GRAPHQL_TOOL must point at graphql_xcheck_tool (ctest sets it)');

function walcast(schema, documents) {
  const out = execFileSync(tool, ['validate'], {
    input: JSON.stringify({ schema, documents }),
    maxBuffer: 64 << 20,
  });
  return JSON.parse(out.toString());
}

function reference(schema, doc) {
  let ast;
  try {
    ast = parse(doc);
  } catch (e) {
    if (!(e instanceof GraphQLError)) throw e;
    return { syntax: { message: e.message, locations: e.locations }, errors: [] };
  }
  return { syntax: null, errors: validate(schema, ast).map((e) => ({ message: e.message, locations: e.locations ?? [] })) };
}

const canonical = (errors) =>
  errors.map((e) => JSON.stringify({ message: e.message, locations: e.locations ?? [] })).sort();

test('the corpus covers every validation rule of graphql-js with valid and invalid documents', () => {
  const groups = new Set(corpus.filter((x) => x.expect === 'invalid').map((x) => x.group));
  for (const rule of [
    'ExecutableDefinitions', 'UniqueOperationNames', 'LoneAnonymousOperation', 'SingleFieldSubscriptions',
    'KnownTypeNames', 'FragmentsOnCompositeTypes', 'VariablesAreInputTypes', 'ScalarLeafs',
    'FieldsOnCorrectType', 'UniqueFragmentNames', 'KnownFragmentNames', 'NoUnusedFragments',
    'PossibleFragmentSpreads', 'NoFragmentCycles', 'UniqueVariableNames', 'NoUndefinedVariables',
    'NoUnusedVariables', 'KnownDirectives', 'UniqueDirectivesPerLocation', 'KnownArgumentNames',
    'UniqueArgumentNames', 'ValuesOfCorrectType', 'ProvidedRequiredArguments',
    'VariablesInAllowedPosition', 'OverlappingFieldsCanBeMerged', 'UniqueInputFieldNames',
    'MaxIntrospectionDepth',
  ]) {
    assert.ok(groups.has(rule), `no invalid document for ${rule}`);
  }
});

test('walcast parses and validates the corpus exactly as graphql-js does', () => {
  const schema = buildSchema(shopSchema);
  const ours = walcast(shopSchema, corpus.map((x) => x.doc));
  assert.equal(ours.length, corpus.length);
  let compared = 0;
  const failures = [];
  corpus.forEach((entry, i) => {
   try {
    const ref = reference(schema, entry.doc);
    const label = `${entry.group}: ${JSON.stringify(entry.doc)}`;
    // The corpus says what it tests; the reference must agree, or the case is mislabelled.
    const refOutcome = ref.syntax ? 'syntax' : ref.errors.length ? 'invalid' : 'valid';
    assert.equal(refOutcome, entry.expect, `graphql-js disagrees with the corpus label of ${label}: ${JSON.stringify(ref)}`);
    const got = ours[i];
    assert.equal(got.syntax_error !== null, ref.syntax !== null, `${label}: parse outcome differs: ${JSON.stringify(got.syntax_error)} vs ${JSON.stringify(ref.syntax)}`);
    if (ref.syntax) {
      assert.deepEqual(got.syntax_error.locations, ref.syntax.locations, `${label}: syntax error location`);
      assert.equal(got.syntax_error.message, ref.syntax.message, `${label}: syntax error message`);
    } else {
      assert.deepEqual(canonical(got.errors), canonical(ref.errors), `${label}: validation errors differ`);
    }
    compared++;
   } catch (e) {
    failures.push(e.message);
   }
  });
  assert.deepEqual(failures, []);
  assert.equal(compared, corpus.length);
});

test("the seed's example operations validate in both implementations", () => {
  const schema = buildSchema(seedSchema);
  const ours = walcast(seedSchema, seedOperations);
  seedOperations.forEach((op, i) => {
    assert.deepEqual(validate(schema, parse(op)), [], `graphql-js rejects ${op}`);
    assert.equal(ours[i].syntax_error, null);
    assert.deepEqual(ours[i].errors, [], `walcast rejects ${op}`);
  });
});
