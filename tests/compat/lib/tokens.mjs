// Test JWTs minted with node:crypto (HS256/384/512 over the server's JWT_SECRET), plus the
// malformed variants the connect/join error tests need.
import { createHmac, randomUUID } from 'node:crypto';

/** The JWT_SECRET every compat server is started with. */
export const TEST_SECRET = 'walcast-compat-test-secret-0123456789abcdef';

const HASH = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

export function b64url(input) {
  return Buffer.from(input).toString('base64url');
}

/// Signs `claims` (any object, written as given) with `secret` and `alg` (HS256/384/512).
/// `header` fields are merged into {alg, typ}.
export function sign(claims, { secret = TEST_SECRET, alg = 'HS256', header = {} } = {}) {
  const h = b64url(JSON.stringify({ alg, typ: 'JWT', ...header }));
  const p = b64url(JSON.stringify(claims));
  const sig = createHmac(HASH[alg], secret).update(`${h}.${p}`).digest('base64url');
  return `${h}.${p}.${sig}`;
}

export function nowS() {
  return Math.floor(Date.now() / 1000);
}

/// A token for `role` valid for `ttlS` seconds; `extra` claims are merged in.
export function roleToken(role, { ttlS = 3600, extra = {}, ...opts } = {}) {
  return sign({ role, exp: nowS() + ttlS, iat: nowS(), ...extra }, opts);
}

/// An `authenticated` user's token with `sub` = userId (a UUID, as auth.uid() expects).
export function userToken(userId, { ttlS = 3600, extra = {}, ...opts } = {}) {
  return roleToken('authenticated', { ttlS, extra: { sub: userId, ...extra }, ...opts });
}

export const anonToken = (opts = {}) => roleToken('anon', opts);
export const serviceToken = (opts = {}) => roleToken('service_role', opts);
export const newUserId = () => randomUUID();
