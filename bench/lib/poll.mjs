// Hasura's live-query method for the Node benches' baselines: a few connections polling, each
// poll one read-only transaction as an authenticated user with its claims (as Hasura's
// multiplexer runs one statement per session-variable set), so RLS decides as for walcast.

/// n connected pg.Clients on dbUrl.
export async function openPollers(pg, dbUrl, n = 4) {
  return Promise.all(Array.from({ length: n }, async () => {
    const c = new pg.Client({ connectionString: dbUrl });
    await c.connect();
    return c;
  }));
}

/// Runs sql(params) on client c as role authenticated with claims {role, sub}; its result.
export async function pollAs(c, sub, sql, params) {
  await c.query('BEGIN READ ONLY');
  await c.query('SET LOCAL ROLE authenticated');
  await c.query("SELECT set_config('request.jwt.claims', $1, true)", [JSON.stringify({ role: 'authenticated', sub })]);
  const r = await c.query(sql, params);
  await c.query('COMMIT');
  return r;
}
