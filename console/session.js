// The signed-in key: kept in sessionStorage only (gone when the tab closes, never a cookie, so
// there is no CSRF surface), sent as `Authorization: Bearer`. `whoami` is what GET /v1/whoami
// said about it: root or tenant, the tenant, the scopes.

const KEY = 'switchboard.key';

export const session = {
  whoami: null,
  get key() {
    return sessionStorage.getItem(KEY);
  },
  set key(value) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  },
};

// Which held scope grants which: `admin` grants everything; a `…:write` grants its `…:read`.
const IMPLIED = {
  'webhooks:read': ['webhooks:write'],
  'integrations:read': ['integrations:write'],
  'connections:read': ['connections:write'],
};

/** Whether the signed-in key may do what `scope` allows (as the server's Scope::grants). */
export function can(scope) {
  const who = session.whoami;
  if (!who || who.kind !== 'tenant') return false;
  const held = who.scopes || [];
  return held.includes('admin') || held.includes(scope) ||
    (IMPLIED[scope] || []).some((s) => held.includes(s));
}

export function isRoot() {
  return session.whoami?.kind === 'root';
}

/** Every scope, in the API's order. */
export const SCOPES = [
  'admin', 'api_keys:write', 'webhooks:read', 'webhooks:write', 'events:publish', 'events:read',
  'integrations:read', 'integrations:write', 'connections:read', 'connections:write',
  'audit:read', 'usage:read',
];
