// The console shell: theme, sign-in, the header with who is signed in, the tabs the key's
// scopes allow, and a hash router (#/webhooks/ep_…) that renders one screen at a time.

import { h, replace } from './dom.js';
import { get, setUnauthorizedHandler } from './api.js';
import { session, can, isRoot } from './session.js';
import { field, input, onSubmit, chips } from './ui.js';
import * as tenants from './tenants.js';
import * as overview from './overview.js';
import * as keys from './keys.js';
import * as webhooks from './webhooks.js';
import * as events from './events.js';
import * as integrations from './integrations.js';
import * as connections from './connections.js';
import * as actions from './actions.js';
import * as audit from './audit.js';
import * as usage from './usage.js';

// ------------------------------------------------------------------ theme (not the key: localStorage)

const THEME = 'switchboard.theme';

function applyTheme(choice) {
  if (choice === 'light' || choice === 'dark') document.documentElement.dataset.theme = choice;
  else delete document.documentElement.dataset.theme;
}
applyTheme(localStorage.getItem(THEME));

function themeSelect() {
  const current = localStorage.getItem(THEME) || 'system';
  const sel = h('select', { 'aria-label': 'Colour theme', class: 'theme-select' },
    ['system', 'light', 'dark'].map((v) => h('option', { value: v, selected: v === current }, `Theme: ${v}`)));
  sel.addEventListener('change', () => {
    if (sel.value === 'system') localStorage.removeItem(THEME);
    else localStorage.setItem(THEME, sel.value);
    applyTheme(sel.value);
  });
  return sel;
}

// ------------------------------------------------------------------ tabs

const TABS = [
  { id: 'tenants', label: 'Tenants', allowed: isRoot, screen: tenants },
  { id: 'overview', label: 'Overview', allowed: () => session.whoami?.kind === 'tenant', screen: overview },
  { id: 'keys', label: 'API keys', allowed: () => can('api_keys:write'), screen: keys },
  { id: 'webhooks', label: 'Webhooks', allowed: () => can('webhooks:read'), screen: webhooks },
  { id: 'events', label: 'Events', allowed: () => can('events:read') || can('events:publish'), screen: events },
  { id: 'integrations', label: 'Integrations', allowed: () => can('integrations:read'), screen: integrations },
  { id: 'connections', label: 'Connections', allowed: () => can('connections:read'), screen: connections },
  { id: 'actions', label: 'Actions', allowed: () => can('webhooks:read'), screen: actions },
  { id: 'audit', label: 'Audit', allowed: () => can('audit:read'), screen: audit },
  { id: 'usage', label: 'Usage', allowed: () => can('usage:read'), screen: usage },
];

const main = document.getElementById('main');
const top = document.getElementById('top');
const nav = document.getElementById('tabs');
let leaving = [];

function allowedTabs() {
  return TABS.filter((t) => t.allowed());
}

function renderChrome(active) {
  const who = session.whoami;
  const identity = who.kind === 'root'
    ? h('span', { class: 'identity' }, h('strong', {}, 'Root key'), h('span', { class: 'muted' }, ' · may only create and list tenants'))
    : h('details', { class: 'identity' },
      h('summary', {}, h('strong', { 'data-testid': 'tenant-name' }, who.tenant_name), ' ', h('code', {}, `${who.key_prefix}…`)),
      h('div', { class: 'identity-pop' },
        h('p', {}, 'Tenant ', h('code', {}, who.tenant_id)),
        h('p', {}, 'Key ', h('strong', {}, who.key_name), ' ', h('code', {}, who.key_id)),
        h('p', {}, 'Scopes '), chips(who.scopes)));
  replace(top,
    h('a', { class: 'brand', href: `#/${allowedTabs()[0]?.id || ''}` }, h('span', { class: 'logo', 'aria-hidden': 'true' }), 'Switchboard'),
    identity,
    h('div', { class: 'top-actions' }, themeSelect(),
      h('button', { type: 'button', class: 'btn', on: { click: () => signOut() } }, 'Sign out')));
  replace(nav, allowedTabs().map((t) => h('a', {
    href: `#/${t.id}`, class: t.id === active ? 'tab active' : 'tab', 'aria-current': t.id === active ? 'page' : null,
  }, t.label)));
  // On a phone the tabs scroll sideways: keep the current one in sight.
  nav.querySelector('.tab.active')?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
}

// ------------------------------------------------------------------ sign-in / out

function signInView(reason) {
  for (const fn of leaving) fn();
  leaving = [];
  replace(top, h('span', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }), 'Switchboard'),
    h('div', { class: 'top-actions' }, themeSelect()));
  replace(nav);
  const key = input({ type: 'password', name: 'key', placeholder: 'swb_…', autocomplete: 'off', required: true });
  const form = h('form', { class: 'card signin', novalidate: true },
    h('h1', {}, 'Sign in'),
    reason ? h('div', { class: 'alert alert-error signed-out', role: 'alert' }, `Signed out: ${reason}`) : null,
    h('p', {}, 'Paste an API key, or the root key that ', h('code', {}, 'switchboard serve'), ' printed on its first run. The key is kept in this tab only (sessionStorage, never a cookie) and sent as a Bearer token.'),
    field('key', 'API key', key),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in'));
  onSubmit(form, async () => {
    const value = key.value.trim();
    const who = await get('/v1/whoami', undefined, { key: value, quiet401: true });
    session.key = value;
    session.whoami = who;
    enterFirstTab();
  });
  replace(main, form);
  key.focus();
}

/**
 * After sign-in: the screen the URL names when this key may see it (a deep link survives the
 * sign-in), else the key's first tab (the URL replaced without a hashchange, so it renders once).
 */
function enterFirstTab() {
  const current = location.hash.replace(/^#\/?/, '').split('/')[0];
  if (!allowedTabs().some((t) => t.id === current)) history.replaceState(null, '', `#/${allowedTabs()[0]?.id || ''}`);
  route();
}

export function signOut(reason) {
  session.key = null;
  session.whoami = null;
  signInView(reason);
}

/** Signs in with a key just shown (a new tenant's admin key). */
export async function signInAs(key) {
  const who = await get('/v1/whoami', undefined, { key, quiet401: true });
  session.key = key;
  session.whoami = who;
  enterFirstTab();
}

setUnauthorizedHandler((detail) => signOut(detail));

// ------------------------------------------------------------------ router

function route() {
  if (!session.key || !session.whoami) return;
  for (const fn of leaving) fn();
  leaving = [];
  const [tabId, ...rest] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const tabs = allowedTabs();
  const tab = tabs.find((t) => t.id === tabId) || tabs[0];
  if (!tab) {
    renderChrome('');
    replace(main, h('div', { class: 'card' }, h('h1', {}, 'Nothing to show'), h('p', {}, 'This key has no scope the console can use.')));
    return;
  }
  renderChrome(tab.id);
  main.replaceChildren();
  tab.screen.render(main, rest, {
    onLeave: (fn) => leaving.push(fn),
    signInAs,
    navigate: (hash) => { location.hash = hash; },
  });
}

window.addEventListener('hashchange', () => {
  if (location.hash.startsWith('#/')) route();
});
document.getElementById('skip').addEventListener('click', () => main.focus());

async function start() {
  if (!session.key) return signInView();
  replace(main, h('p', { class: 'loading' }, 'Loading…'));
  try {
    session.whoami = await get('/v1/whoami');
    route();
  } catch (err) {
    if (err.status === 401) return; // the handler signed out with the reason
    replace(main, h('div', { class: 'alert alert-error', role: 'alert' },
      err.network ? 'Could not reach Switchboard.' : (err.status === 503 ? 'Switchboard is briefly unavailable.' : err.message),
      ' ', h('button', { type: 'button', class: 'btn btn-small', on: { click: start } }, 'Retry')));
  }
}
start();
