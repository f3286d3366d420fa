// Proving absence without sleeping: every channel under test also listens to inserts on
// public.barrier. A channel receives changes in commit order, so once it has the barrier row
// committed after the changes under test, it has everything it will ever get of them.
import { randomUUID } from 'node:crypto';

import { waitUntil } from './wait.mjs';

export const BARRIER_SQL = `
  CREATE TABLE IF NOT EXISTS public.barrier (id bigserial PRIMARY KEY, token text NOT NULL);
  GRANT SELECT ON public.barrier TO anon, authenticated, service_role;`;

/** The binding every channel under test carries (name it `barrier`). */
export const barrierBinding = () => ({ event: 'INSERT', schema: 'public', table: 'barrier' });

/// Commits a barrier row and waits until every Sub in `subs` has received it through its
/// `barrier` binding. Failures show what each channel received.
export async function barrier(server, subs, { timeoutMs = 20_000 } = {}) {
  const token = randomUUID();
  await server.sql('INSERT INTO public.barrier (token) VALUES ($1)', [token]);
  const has = (s) => s.events.some((e) => e.name === 'barrier' && e.payload.new?.token === token);
  await waitUntil(() => subs.every(has), {
    what: `barrier ${token} on ${subs.filter((s) => !has(s)).map((s) => s.name).join(', ')}`,
    timeoutMs,
    dump: () => subs.filter((s) => !has(s)).map((s) => ({ channel: s.name, events: s.events, systems: s.systems })),
  });
}

/// The events of `sub` for binding `name`, without barrier rows (a schema-wide binding on
/// public also sees them).
export function rows(sub, name) {
  return sub.of(name).filter((e) => e.payload.table !== 'barrier');
}
