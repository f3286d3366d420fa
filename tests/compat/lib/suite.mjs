// The set-up most compat files share: one walcast server per test file, started before the
// file's tests with the barrier table and the file's own SQL, and the realtime-js clients the
// tests open, all disconnected before the server stops after the file's tests.
import { before, after } from 'node:test';

import { Walcast } from './server.mjs';
import { makeClient, subscribe } from './client.mjs';
import { BARRIER_SQL, barrierBinding } from './barrier.mjs';

/// Registers the file's before/after hooks and returns the suite: `server` (the Walcast, set
/// once `before` ran), `client(options)` (makeClient on it, disconnected by `after`),
/// `subscriber(options, bindings, subscribeOptions)` (a client subscribed to `bindings` plus
/// the `barrier` binding; resolves to its Sub). `env` goes to Walcast.start; `sql` runs once
/// the server is up, after BARRIER_SQL; `setup(suite)` runs after that.
export function serverSuite({ env, sql = '', setup } = {}) {
  const clients = [];
  const suite = {
    server: undefined,
    async client(options) {
      const c = await makeClient(suite.server, options);
      clients.push(c);
      return c;
    },
    async subscriber(options, bindings, subscribeOptions) {
      return subscribe(await suite.client(options), { ...bindings, barrier: barrierBinding() }, subscribeOptions);
    },
  };
  before(async () => {
    suite.server = await Walcast.start(env);
    await suite.server.sql(`${BARRIER_SQL}\n${sql}`);
    await setup?.(suite);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.disconnect()));
    await suite.server?.stop();
  });
  return suite;
}

/// SQL creating `public.<table>(<columns>)` under row-level security with one SELECT policy
/// for `authenticated` (default: each row readable by its owner, `owner = auth.uid()`) and
/// SELECT granted to `grantTo`; `replicaIdentityFull` sets REPLICA IDENTITY FULL (old rows of
/// UPDATE/DELETE decided too).
export function rlsTableSql(table, columns, {
  replicaIdentityFull = false,
  using = 'owner = auth.uid()',
  policy = 'own',
  grantTo = 'authenticated, service_role',
} = {}) {
  return `
    CREATE TABLE public.${table} (${columns});
    ${replicaIdentityFull ? `ALTER TABLE public.${table} REPLICA IDENTITY FULL;` : ''}
    ALTER TABLE public.${table} ENABLE ROW LEVEL SECURITY;
    CREATE POLICY ${policy} ON public.${table} FOR SELECT TO authenticated USING (${using});
    GRANT SELECT ON public.${table} TO ${grantTo};`;
}
