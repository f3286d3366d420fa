// Documents for the cross-check, grouped by what they exercise: the lexer and parser, then
// each validation rule of the GraphQL spec (October 2021, section 5) with valid and invalid
// cases, written for the shop schema (schema.mjs) after the style of graphql-js's rule tests.
// `expect` says what graphql-js must find (the test checks the corpus against it too):
// 'syntax' (parse error), 'valid', 'invalid' (validation errors).
const c = (group, expect, doc) => ({ group, expect, doc });

export const corpus = [
  // --- lexer and parser -----------------------------------------------------------------
  c('syntax', 'syntax', ''),
  c('syntax', 'syntax', '{'),
  c('syntax', 'syntax', '{ customer(id: ) { id } }'),
  c('syntax', 'syntax', '{ customer(id: "1") { id }'),
  c('syntax', 'syntax', '{ customer(id: "1) { id } }'),
  c('syntax', 'syntax', '{ complex(s: "\\x") }'),
  c('syntax', 'syntax', '{ complex(s: "\\u12G4") }'),
  c('syntax', 'syntax', '{ complex(s: "\\uD800") }'),
  c('syntax', 'syntax', '{ complex(s: "\\u{110000}") }'),
  c('syntax', 'syntax', '{ complex(n: 012) }'),
  c('syntax', 'syntax', '{ complex(f: 1.) }'),
  c('syntax', 'syntax', '{ complex(f: 1.5e) }'),
  c('syntax', 'syntax', '{ complex(n: 12abc) }'),
  c('syntax', 'syntax', "{ complex(s: 'x') }"),
  c('syntax', 'syntax', '{ complex(s: ?) }'),
  c('syntax', 'syntax', '{ \u00e9 }'),
  c('syntax', 'syntax', '{ ..customer }'),
  c('syntax', 'syntax', 'query Q($a: Int = $b) { complex(n: $a) }'),
  c('syntax', 'syntax', 'fragment on on Customer { id }'),
  c('syntax', 'syntax', 'fragment F on Customer'),
  c('syntax', 'syntax', 'notAKeyword { id }'),
  c('syntax', 'syntax', '"description" query { salesDashboard { orderCount } }'),
  c('syntax', 'syntax', 'query { ... }'),
  c('syntax', 'syntax', 'query ($a) { salesDashboard { orderCount } }'),
  c('syntax', 'syntax', 'query Q($a: [Int) { salesDashboard { orderCount } }'),
  c('syntax', 'syntax', '{ salesDashboard { orderCount } }}'),
  c('syntax', 'syntax', 'subscription S @ { users { id } }'),
  c('syntax', 'syntax', 'enum E { true }'),
  c('syntax', 'syntax', 'directive @d on NOWHERE'),
  c('syntax', 'syntax', 'extend type'),
  c('syntax', 'syntax', 'extend scalar DateTime'),
  c('syntax', 'syntax', '{ complex(s: """unterminated) }'),
  c('syntax', 'syntax', '{\n  customers {\n    id\n    name\n  \n'),
  c('syntax', 'valid', '# only a comment\n{ salesDashboard { orderCount } } # trailing'),
  c('syntax', 'valid', '\ufeff{ salesDashboard { orderCount } }'),
  c('syntax', 'valid', '{ complex(s: "caf\u00e9 \\u00e9 \\u{1F600} \\uD83D\\uDE00 \\n\\t\\"\\\\\\/\\b\\f\\r") }'),
  c('syntax', 'valid', '{ complex(s: """\n    block\n      string \\""" here\n  """) }'),
  c('syntax', 'valid', '{ complex(n: -0, f: -1.5e+10) a: complex(f: 0.5E-3) b: complex(f: 7) }'),
  c('syntax', 'valid', '{\r\n  customers {\r  id\n  }\r\n}'),
  c('syntax', 'valid', '{ complex(s: "\u{1F600} emoji before", n: 1) }'),
  c('syntax', 'valid', '{,,, salesDashboard ,,{ orderCount,,} }'),

  // --- ExecutableDefinitions -------------------------------------------------------------
  c('ExecutableDefinitions', 'valid', 'query Q { customers { ...F } } fragment F on Customer { id }'),
  c('ExecutableDefinitions', 'invalid', 'query { customers { id } } type Extra { id: ID }'),
  c('ExecutableDefinitions', 'invalid', '{ customers { id } } schema { query: Query } extend schema @cached(ttl: 1)'),
  c('ExecutableDefinitions', 'invalid', '{ customers { id } } "described" scalar Money extend type Customer { age: Int }'),
  c('ExecutableDefinitions', 'invalid', '{ customers { id } } directive @x on FIELD input In { a: Unknown }'),

  // --- UniqueOperationNames --------------------------------------------------------------
  c('UniqueOperationNames', 'valid', 'query A { customers { id } } query B { customers { id } }'),
  c('UniqueOperationNames', 'valid', 'query A { customers { id } } mutation B { cancel(id: 1) } subscription C { users { id } }'),
  c('UniqueOperationNames', 'invalid', 'query A { customers { id } } query A { customers { name } }'),
  c('UniqueOperationNames', 'invalid', 'query A { customers { id } } mutation A { cancel(id: 1) } subscription A { users { id } }'),

  // --- LoneAnonymousOperation -----------------------------------------------------------
  c('LoneAnonymousOperation', 'valid', '{ customers { id } }'),
  c('LoneAnonymousOperation', 'valid', '{ customers { ...F } } fragment F on Customer { id }'),
  c('LoneAnonymousOperation', 'invalid', '{ customers { id } } { customers { name } }'),
  c('LoneAnonymousOperation', 'invalid', '{ customers { id } } query Named { customers { id } }'),
  c('LoneAnonymousOperation', 'invalid', '{ customers { id } } mutation { cancel(id: 1) }'),

  // --- SingleFieldSubscriptions ------------------------------------------------------------
  c('SingleFieldSubscriptions', 'valid', 'subscription { orders { id } }'),
  c('SingleFieldSubscriptions', 'valid', 'subscription S { orders { id } orders { total } }'),
  c('SingleFieldSubscriptions', 'valid', 'subscription S { ...F } fragment F on Subscription { orders { id } }'),
  c('SingleFieldSubscriptions', 'invalid', 'subscription S { orders { id } users { id } }'),
  c('SingleFieldSubscriptions', 'invalid', 'subscription { orders { id } users { id } salesDashboard { orderCount } }'),
  c('SingleFieldSubscriptions', 'invalid', 'subscription S { orders { id } ...F } fragment F on Subscription { users { id } orderPlaced { id } }'),
  c('SingleFieldSubscriptions', 'invalid', 'subscription S { ... on Subscription { orders { id } } users { id } }'),
  c('SingleFieldSubscriptions', 'invalid', 'subscription S { __typename }'),
  c('SingleFieldSubscriptions', 'invalid', 'subscription { __typename orders { id } }'),
  c('SingleFieldSubscriptions', 'valid', 'subscription S { orders { id } users @skip(if: true) { id } }'),

  // --- KnownTypeNames -----------------------------------------------------------------------
  c('KnownTypeNames', 'valid', 'query Q($f: OrderFilter, $s: Status!) { orders(filter: $f) { id ... on Order { total } status } complex(status: $s) }'),
  c('KnownTypeNames', 'invalid', 'query Q($f: OrderFilte) { orders(filter: $f) { id } }'),
  c('KnownTypeNames', 'invalid', 'query Q($f: [Strin!]) { customers { ... on Custome { id } ...F } } fragment F on Ordr { id }'),
  c('KnownTypeNames', 'invalid', 'query Q($x: Float) { customers { id } }'),
  c('KnownTypeNames', 'invalid', '{ customers { id } } type T { a: Strin b: String c: Customer d: Unknown }'),

  // --- FragmentsOnCompositeTypes ------------------------------------------------------------
  c('FragmentsOnCompositeTypes', 'valid', '{ search(text: "a") { ... on Node { id } ... on SearchResult { __typename } ...F } } fragment F on Customer { id }'),
  c('FragmentsOnCompositeTypes', 'valid', '{ customers { ... { id } } }'),
  c('FragmentsOnCompositeTypes', 'invalid', '{ customers { ...F } } fragment F on Boolean { id }'),
  c('FragmentsOnCompositeTypes', 'invalid', '{ customers { ... on String { length } } }'),
  c('FragmentsOnCompositeTypes', 'invalid', '{ customers { ...F } } fragment F on OrderFilter { id }'),
  c('FragmentsOnCompositeTypes', 'invalid', '{ customers { ...F } } fragment F on Status { id }'),

  // --- VariablesAreInputTypes -----------------------------------------------------------------
  c('VariablesAreInputTypes', 'valid', 'query Q($a: String, $b: [Int!]!, $c: ComplexInput, $d: Status, $e: DateTime) { complex(s: $a, input: $c, status: $d, when: $e, list: $b) range @include(if: true) }'),
  c('VariablesAreInputTypes', 'invalid', 'query Q($a: Customer, $b: [[SearchResult!]]!, $c: Node) { customers { id } }'),

  // --- ScalarLeafs ------------------------------------------------------------------------------
  c('ScalarLeafs', 'valid', '{ customers { id name tags } }'),
  c('ScalarLeafs', 'invalid', '{ customers }'),
  c('ScalarLeafs', 'invalid', '{ customers { orders(limit: 1) } }'),
  c('ScalarLeafs', 'invalid', '{ customers { id { inner } } }'),
  c('ScalarLeafs', 'invalid', '{ customers { orders { status { x } createdAt { y } } } }'),
  c('ScalarLeafs', 'invalid', '{ search(text: "a") named priced }'),

  // --- FieldsOnCorrectType ------------------------------------------------------------------------
  c('FieldsOnCorrectType', 'valid', '{ customers { __typename id name } named { id name ... on Product { salesCount } } }'),
  c('FieldsOnCorrectType', 'invalid', '{ customers { ide nmae emial } }'),
  c('FieldsOnCorrectType', 'invalid', '{ customer(id: 1) { orders { totl stauts unknownField } } }'),
  c('FieldsOnCorrectType', 'invalid', '{ search(text: "a") { id name email } }'),
  c('FieldsOnCorrectType', 'invalid', '{ named { salesCount email } priced { id quantity } }'),
  c('FieldsOnCorrectType', 'invalid', '{ purchasable { price quantity } }'),
  c('FieldsOnCorrectType', 'invalid', '{ customers { ... on Named { email } } }'),
  c('FieldsOnCorrectType', 'invalid', '{ __schema { types { name } } unknownRoot }'),
  c('FieldsOnCorrectType', 'invalid', 'mutation { placeOrder(customerId: 1, items: []) { id } __schema { description } }'),

  // --- UniqueFragmentNames ----------------------------------------------------------------------------
  c('UniqueFragmentNames', 'valid', '{ customers { ...A ...B } } fragment A on Customer { id } fragment B on Customer { name }'),
  c('UniqueFragmentNames', 'invalid', '{ customers { ...A } } fragment A on Customer { id } fragment A on Customer { name }'),
  c('UniqueFragmentNames', 'invalid', '{ customers { ...A } } fragment A on Customer { id } fragment A on Customer { name } fragment A on Customer { email }'),

  // --- KnownFragmentNames ---------------------------------------------------------------------------
  c('KnownFragmentNames', 'valid', '{ customers { ...A ... on Customer { ...B } } } fragment A on Customer { id } fragment B on Customer { name }'),
  c('KnownFragmentNames', 'invalid', '{ customers { ...Missing ... on Customer { ...AlsoMissing } } }'),
  c('KnownFragmentNames', 'invalid', '{ customers { ...A } } fragment A on Customer { id ...Nested }'),

  // --- NoUnusedFragments -----------------------------------------------------------------------------
  c('NoUnusedFragments', 'valid', '{ customers { ...A } } fragment A on Customer { ...B } fragment B on Customer { id }'),
  c('NoUnusedFragments', 'invalid', '{ customers { ...A } } fragment A on Customer { id } fragment Unused on Customer { name } fragment Unused2 on Order { id ...Unused }'),
  c('NoUnusedFragments', 'invalid', 'fragment Alone on Customer { id }'),

  // --- PossibleFragmentSpreads ----------------------------------------------------------------------
  c('PossibleFragmentSpreads', 'valid', '{ search(text: "a") { ... on Customer { id } ... on Node { id } ... on Named { name } ...P } named { ... on Product { id } ... on Node { id } } } fragment P on Product { id }'),
  c('PossibleFragmentSpreads', 'valid', '{ purchasable { ... on Priced { price } ... on Node { id } } priced { ... on Purchasable { __typename } } }'),
  c('PossibleFragmentSpreads', 'invalid', '{ customers { ... on Order { id } ...O } } fragment O on Order { total }'),
  c('PossibleFragmentSpreads', 'invalid', '{ search(text: "a") { ... on Item { id } ... on Coupon { code } } }'),
  c('PossibleFragmentSpreads', 'invalid', '{ named { ... on Order { id } ... on Purchasable { __typename } ...I } } fragment I on Item { id }'),
  c('PossibleFragmentSpreads', 'invalid', '{ purchasable { ... on SearchResult { __typename } ... on Customer { id } } }'),

  // --- NoFragmentCycles ------------------------------------------------------------------------------
  c('NoFragmentCycles', 'valid', '{ customers { ...A ...B } } fragment A on Customer { ...B } fragment B on Customer { id }'),
  c('NoFragmentCycles', 'invalid', '{ customers { ...A } } fragment A on Customer { ...A }'),
  c('NoFragmentCycles', 'invalid', '{ customers { ...A } } fragment A on Customer { ...B } fragment B on Customer { ...A }'),
  c('NoFragmentCycles', 'invalid', '{ customers { ...A } } fragment A on Customer { friends { ...B } } fragment B on Customer { friends { ...C } } fragment C on Customer { ...A ...B }'),
  c('NoFragmentCycles', 'invalid', '{ customers { ...A } } fragment A on Customer { ...B ...C } fragment B on Customer { ...A } fragment C on Customer { ...A ...D } fragment D on Customer { ...C }'),

  // --- UniqueVariableNames ---------------------------------------------------------------------------
  c('UniqueVariableNames', 'valid', 'query A($x: Int) { complex(n: $x) } query B($x: Int) { complex(n: $x) }'),
  c('UniqueVariableNames', 'invalid', 'query A($x: Int, $x: Int, $y: String, $x: Float, $y: String) { complex(n: $x, s: $y) }'),

  // --- NoUndefinedVariables --------------------------------------------------------------------------
  c('NoUndefinedVariables', 'valid', 'query Q($a: Int, $b: String) { complex(n: $a) ...F } fragment F on Query { x: complex(s: $b) }'),
  c('NoUndefinedVariables', 'invalid', 'query Q { complex(n: $a, s: $b) }'),
  c('NoUndefinedVariables', 'invalid', '{ complex(n: $a) customer(id: $a) { id } }'),
  c('NoUndefinedVariables', 'invalid', 'query A($a: Int) { ...F } query B { ...F } fragment F on Query { complex(n: $a) customers @include(if: $inc) { id } }'),
  c('NoUndefinedVariables', 'invalid', 'query Q { orders(filter: { status: { eq: $st, in: [$s1, $s2] } }) { id } }'),

  // --- NoUnusedVariables -----------------------------------------------------------------------------
  c('NoUnusedVariables', 'valid', 'query Q($a: Int, $b: Boolean!) { ...F @include(if: $b) } fragment F on Query { complex(n: $a) }'),
  c('NoUnusedVariables', 'invalid', 'query Q($a: Int, $b: String, $c: Boolean) { complex(n: $a) }'),
  c('NoUnusedVariables', 'invalid', 'query ($unused: ID) { customers { id } }'),
  c('NoUnusedVariables', 'invalid', 'query A($a: Int, $b: Int) { ...F } query B($a: Int, $b: Int) { ...G } fragment F on Query { complex(n: $a) } fragment G on Query { complex(n: $b) }'),

  // --- KnownDirectives -------------------------------------------------------------------------------
  c('KnownDirectives', 'valid', 'query Q($v: Int @onVariable) @cached(ttl: 3) { customers @skip(if: false) @tag(name: "a") { id ...F @include(if: true) ... @tag(name: "b") { name } } complex(n: $v) } fragment F on Customer @tag(name: "f") { id }'),
  c('KnownDirectives', 'invalid', '{ customers @unknown { id @another(x: 1) } }'),
  c('KnownDirectives', 'invalid', 'query @skip(if: true) { customers @onVariable { id } }'),
  c('KnownDirectives', 'invalid', 'mutation M @cached(ttl: 1) { cancel(id: 1) } subscription S @cached(ttl: 1) { users { id } }'),
  c('KnownDirectives', 'invalid', 'query Q($v: Int @cached(ttl: 1)) @onSubscription { complex(n: $v) ...F @cached(ttl: 1) } fragment F on Query @include(if: true) { customers { id } }'),
  c('KnownDirectives', 'invalid', '{ customers { id } } type T @skip(if: true) { f(a: Int @include(if: true)): String @tag(name: "x") } input In { f: Int @deprecated @skip(if: true) } enum E { V @deprecated @tag(name: "y") } scalar S @specifiedBy(url: "x") @deprecated'),

  // --- UniqueDirectivesPerLocation ---------------------------------------------------------------------
  c('UniqueDirectivesPerLocation', 'valid', '{ customers @tag(name: "a") @tag(name: "b") @skip(if: false) @include(if: true) { id } }'),
  c('UniqueDirectivesPerLocation', 'invalid', '{ customers @skip(if: false) @skip(if: false) @include(if: true) @include(if: true) { id } }'),
  c('UniqueDirectivesPerLocation', 'invalid', 'query Q @cached(ttl: 1) @cached(ttl: 2) { customers { ...F @skip(if: true) @skip(if: false) } } fragment F on Customer { id }'),
  c('UniqueDirectivesPerLocation', 'invalid', '{ customers { id } } scalar S @specifiedBy(url: "a") extend scalar S @specifiedBy(url: "b")'),

  // --- KnownArgumentNames ------------------------------------------------------------------------------
  c('KnownArgumentNames', 'valid', '{ customer(id: 1) { orders(limit: 1, offset: 0) { note(maxLength: 3) } } customers @skip(if: false) { id } }'),
  c('KnownArgumentNames', 'invalid', '{ customer(id: 1, idd: 2) { orders(limt: 1, unknown: 2) { id } } }'),
  c('KnownArgumentNames', 'invalid', '{ customers @skip(iff: true, if: false) { id @tag(nam: "x", name: "y") } }'),
  c('KnownArgumentNames', 'invalid', '{ customers { id(arg: 1) __typename(x: 1) } }'),
  c('KnownArgumentNames', 'invalid', '{ customers { unknownField(arg: 1) } }'),

  // --- UniqueArgumentNames -------------------------------------------------------------------------------
  c('UniqueArgumentNames', 'valid', '{ a: complex(n: 1, s: "x") b: complex(s: "x", n: 1) }'),
  c('UniqueArgumentNames', 'invalid', '{ complex(n: 1, n: 2, s: "a", n: 3) customers @skip(if: true, if: false) { id } }'),

  // --- ValuesOfCorrectType -----------------------------------------------------------------------------------
  c('ValuesOfCorrectType', 'valid', '{ complex(n: 1, f: 1, s: "x", id: "a", flag: true, status: PAID, list: [1, 2], nonNullList: 3, listOfLists: [["a"], "b", null], when: "2024-01-01", input: { requiredField: true, nested: { requiredField: false } }) }'),
  c('ValuesOfCorrectType', 'valid', '{ a: complex(id: 12, f: 1.5e3, n: -2147483648) b: complex(n: 2147483647, s: """block""") }'),
  c('ValuesOfCorrectType', 'invalid', '{ complex(n: "1") }'),
  c('ValuesOfCorrectType', 'invalid', '{ complex(n: 1.5) a: complex(n: 2147483648) b: complex(n: -2147483649) c: complex(n: true) d: complex(n: ENUM) e: complex(n: [1]) f: complex(n: {a: 1}) }'),
  c('ValuesOfCorrectType', 'invalid', '{ complex(f: "1.5") a: complex(f: true) b: complex(f: RED) }'),
  c('ValuesOfCorrectType', 'invalid', '{ complex(s: 1) a: complex(s: 1.5) b: complex(s: true) c: complex(s: NAME) d: complex(s: ["a"]) e: complex(s: {}) }'),
  c('ValuesOfCorrectType', 'invalid', '{ complex(flag: 1) a: complex(flag: "true") b: complex(flag: TRUE) }'),
  c('ValuesOfCorrectType', 'invalid', '{ complex(id: 1.5) a: complex(id: true) b: complex(id: ID) }'),
  c('ValuesOfCorrectType', 'invalid', '{ complex(status: "PAID") a: complex(status: paid) b: complex(status: PAIDD) c: complex(status: 1) d: complex(status: true) }'),
  c('ValuesOfCorrectType', 'invalid', '{ complex(status: null) strict(n: null, l: [1]) requiredArgs(a: null, b: "x") }'),
  c('ValuesOfCorrectType', 'invalid', '{ complex(list: ["a", 2, 3.5]) a: complex(listOfLists: [[1]]) b: complex(nonNullList: [1, null]) }'),
  c('ValuesOfCorrectType', 'invalid', '{ complex(input: { requiredField: true, unknownField: 1, intFeld: 2 }) }'),
  c('ValuesOfCorrectType', 'invalid', '{ complex(input: { intField: 1 }) a: complex(input: { requiredField: true, nested: { stringField: "x" } }) }'),
  c('ValuesOfCorrectType', 'invalid', '{ complex(input: "not an object") a: complex(input: [1]) b: complex(input: 1) c: complex(input: { requiredField: "yes" }) }'),
  c('ValuesOfCorrectType', 'invalid', '{ complex(input: { requiredField: null, nonNullWithDefault: null }) }'),
  c('ValuesOfCorrectType', 'invalid', '{ orders(filter: { status: { eq: PENDNG, in: [PAID, "SHIPPED"] }, total: { gt: "x" }, and: [{ customerId: 1.5 }] }) { id } }'),
  c('ValuesOfCorrectType', 'invalid', '{ orders(orderBy: { total: UP }) { id } range(r: { from: 1, to: null }) }'),
  c('ValuesOfCorrectType', 'invalid', 'query Q($a: Int = "x", $b: Status = NOPE, $c: ComplexInput = { intField: 1 }, $d: [Int!] = [null]) { complex(n: $a, status: $b, input: $c, list: $d) }'),
  c('ValuesOfCorrectType', 'invalid', '{ customers @skip(if: "yes") { id @cached(ttl: 1.5, scope: NOWHERE) } }'),
  c('ValuesOfCorrectType', 'valid', '{ customers(filter: { any: [1, "x", { deep: true }], n: null }) { id } complex(when: 12345, input: { requiredField: true, when: { a: 1 } }) }'),
  c('ValuesOfCorrectType', 'invalid', '{ complex(s: """multi\nline""") a: complex(n: """x""") }'),

  // --- ProvidedRequiredArguments ----------------------------------------------------------------------------
  c('ProvidedRequiredArguments', 'valid', '{ requiredArgs(a: 1, b: "x") customer(id: 1) { orders { note(maxLength: 1) } } }'),
  c('ProvidedRequiredArguments', 'invalid', '{ requiredArgs customer { id } search { __typename } }'),
  c('ProvidedRequiredArguments', 'invalid', '{ requiredArgs(a: 1) customer(id: 1) { orders { note } } }'),
  c('ProvidedRequiredArguments', 'invalid', '{ customers @skip @include { id @cached @tag } }'),
  c('ProvidedRequiredArguments', 'invalid', '{ customers { id } } directive @req(x: Int!, y: Int! = 1, z: Int) on FIELD query Q { customers @req { id } }'),

  // --- VariablesInAllowedPosition --------------------------------------------------------------------------
  c('VariablesInAllowedPosition', 'valid', 'query Q($i: Int!, $l: [Int!]!, $s: String = "x", $b: Boolean = true, $st: Status!) { complex(n: $i, list: $l, nonNullList: $l, s: $s, status: $st) requiredArgs(a: $i, b: $s, c: $b) customers @include(if: $b) { id } }'),
  c('VariablesInAllowedPosition', 'valid', 'query Q($i: Int) { customer(id: "1") { orders(limit: $i) { id } } range(r: { from: 1, to: $i }) }'),
  c('VariablesInAllowedPosition', 'invalid', 'query Q($i: Int, $s: String) { requiredArgs(a: $i, b: $s) }'),
  c('VariablesInAllowedPosition', 'invalid', 'query Q($s: String, $b: Boolean) { complex(n: $s) customers @skip(if: $b) { id } }'),
  c('VariablesInAllowedPosition', 'invalid', 'query Q($l: [Int], $i: [Int!]) { complex(nonNullList: $l, n: $i, list: $i) }'),
  c('VariablesInAllowedPosition', 'invalid', 'query Q($i: Int) { strict(n: $i, l: [1]) ...F } fragment F on Query { range(r: { from: $i }) complex(list: [$i], nonNullList: [$i]) }'),
  c('VariablesInAllowedPosition', 'invalid', 'query Q($id: Int, $st: String) { customer(id: $id) { id } orders(filter: { status: { eq: $st } }) { id } }'),
  c('VariablesInAllowedPosition', 'valid', 'query Q($i: Int = 5) { strict(n: $i, l: [1]) }'),
  c('VariablesInAllowedPosition', 'invalid', 'query Q($i: Int = null) { strict(n: $i, l: [1]) }'),

  // --- OverlappingFieldsCanBeMerged ---------------------------------------------------------------------------
  c('OverlappingFieldsCanBeMerged', 'valid', '{ customers { id id name n: name ...F } } fragment F on Customer { id n: name }'),
  c('OverlappingFieldsCanBeMerged', 'valid', '{ a: complex(n: 1) a: complex(n: 1) b: complex(input: { requiredField: true, intField: 1 }) b: complex(input: { intField: 1, requiredField: true }) }'),
  c('OverlappingFieldsCanBeMerged', 'invalid', '{ customers { x: id x: name } }'),
  c('OverlappingFieldsCanBeMerged', 'invalid', '{ a: complex(n: 1) a: complex(n: 2) b: complex(n: 1) b: complex(s: "1") c: complex c: complex(n: 1) }'),
  c('OverlappingFieldsCanBeMerged', 'invalid', '{ customers { ...A ...B } } fragment A on Customer { x: id } fragment B on Customer { x: email }'),
  c('OverlappingFieldsCanBeMerged', 'invalid', '{ customers { orders { id } orders { x: id id: total } } }'),
  c('OverlappingFieldsCanBeMerged', 'invalid', '{ customers { orders(limit: 1) { id } orders(limit: 2) { id } } }'),
  c('OverlappingFieldsCanBeMerged', 'invalid', '{ search(text: "a") { ... on Order { count } ... on Product { count: salesCount } } purchasable { ... on Item { count } ... on Product { count: salesCount } } }'),
  c('OverlappingFieldsCanBeMerged', 'valid', '{ search(text: "a") { ... on Order { x: id } ... on Product { x: id } ... on Customer { y: name } ... on Product { y: name } } }'),
  c('OverlappingFieldsCanBeMerged', 'invalid', '{ node(id: 1) { ... on Order { count } ... on Item { count } } }'),
  c('OverlappingFieldsCanBeMerged', 'invalid', '{ customers { friends { x: id } friends { x: name friends { y: id } } ... on Customer { friends { friends { y: email } } } } }'),
  c('OverlappingFieldsCanBeMerged', 'invalid', '{ customers { ...A } customers { ...B } } fragment A on Customer { orders { x: id } } fragment B on Customer { orders { x: status } }'),
  c('OverlappingFieldsCanBeMerged', 'invalid', '{ customers { tags } customers { tags: friends { id } } a: salesDashboard { orderCount } a: salesDashboard { orderCount: totalRevenue } }'),
  c('OverlappingFieldsCanBeMerged', 'invalid', '{ ...A ...B } fragment A on Query { customer(id: 1) { ...C } } fragment B on Query { customer(id: 1) { ...D } } fragment C on Customer { n: name } fragment D on Customer { n: email }'),

  // --- UniqueInputFieldNames -----------------------------------------------------------------------------------
  c('UniqueInputFieldNames', 'valid', '{ complex(input: { requiredField: true, nested: { requiredField: true } }) }'),
  c('UniqueInputFieldNames', 'invalid', '{ complex(input: { requiredField: true, requiredField: false, intField: 1, nested: { requiredField: true, intField: 1, intField: 2 } }) }'),
  c('UniqueInputFieldNames', 'invalid', '{ customers(filter: { a: 1, a: 2, b: { c: 1, c: 2 } }) { id } }'),

  // --- MaxIntrospectionDepth (graphql-js's recommended rule) -------------------------------------------------
  c('MaxIntrospectionDepth', 'valid', '{ __schema { types { fields { type { name } } } } }'),
  c('MaxIntrospectionDepth', 'invalid', '{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }'),
  c('MaxIntrospectionDepth', 'invalid', '{ __type(name: "Query") { ...T } } fragment T on __Type { fields { type { interfaces { possibleTypes { name } } } } }'),

  // --- introspection queries --------------------------------------------------------------------------------
  c('introspection', 'valid', '{ __typename __schema { queryType { name } types { kind name ofType { name } } } __type(name: "Customer") { fields(includeDeprecated: true) { name args { defaultValue } } } }'),
  c('introspection', 'invalid', '{ __type { name } a: __type(name: 1) { kind } __schema { nope } }'),

  // --- a mix of rules in one document --------------------------------------------------------------------------
  c('mixed', 'invalid', 'query Q($a: Int, $a: String, $u: Customer) { customer(id: $b) { nme orders(limit: "x") { ...F } } } fragment F on Order { id ...G } fragment G on Order { ...F } fragment H on Nope { x }'),
  c('mixed', 'invalid', '{ complex(input: { requiredField: true, nested: { nested: { nested: { requiredField: 1, stringList: [1, "a", true] } } } }) }'),
];
