// API keys of the tenant: list (name, prefix, scopes, status, last used, usage), create with
// scope checkboxes and expiry (the key shown once), roll with a chosen grace, enable/disable, revoke,
// delete — destructive ones confirmed.

import { h, replace } from './dom.js';
import { get, post, patch, del } from './api.js';
import { when, number, localToIso } from './format.js';
import { session, can, SCOPES } from './session.js';
import {
  header, section, pagedTable, field, input, onSubmit, secretOnce, actionButton, badge, chips, checkboxes,
  select,
} from './ui.js';

/** How long a rolled key's predecessor may keep working (the API takes 0 to 30 days). */
const ROLL_GRACE = [
  { seconds: 0, label: 'no time (stops now)' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86400, label: '24 hours' },
  { seconds: 7 * 86400, label: '7 days' },
];

export function render(main) {
  const result = h('div', { class: 'result', 'aria-live': 'polite' });
  // Rolling: how long the old key keeps working beside the new one (none, when it leaked).
  const grace = select(ROLL_GRACE.map((g) => ({ value: String(g.seconds), label: g.label, selected: g.seconds === 3600 })), { 'aria-label': 'When a key is rolled, the old key keeps working for' });
  const graceLabel = () => ROLL_GRACE.find((g) => String(g.seconds) === grace.value)?.label || grace.value;
  const name = input({ name: 'name', placeholder: 'ci deploys', maxlength: 128 });
  const expires = h('input', { type: 'datetime-local', name: 'expires_at' });
  const held = session.whoami.scopes || [];
  const holdsAll = held.includes('admin');
  const scopeBoxes = checkboxes('scopes', 'Scopes', SCOPES.map((s) => ({
    value: s,
    disabled: !holdsAll && !can(s),
    title: !holdsAll && !can(s) ? 'A key can only hand out scopes it holds' : null,
  })));
  const form = h('form', { class: 'stack-form', novalidate: true },
    field('name', 'Name', name),
    scopeBoxes,
    field('expires_at', 'Expires (optional)', expires, 'Leave empty for a key that does not expire.'),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create key'));

  const list = pagedTable({
    caption: 'API keys',
    load: (cursor) => get('/v1/api-keys', { cursor }),
    emptyText: 'No keys yet.',
    columns: [
      { title: 'Name', render: (k) => [h('strong', {}, k.name), k.id === session.whoami.key_id ? h('span', { class: 'muted' }, ' (this key)') : null] },
      { title: 'Key', render: (k) => h('code', { 'data-testid': 'key-prefix' }, `${k.start}…`) },
      { title: 'Scopes', render: (k) => chips(k.scopes) },
      { title: 'Status', render: (k) => badge(k.status) },
      { title: 'Last used', render: (k) => when(k.last_used_at, 'never') },
      { title: 'Uses', render: (k) => number(k.usage_count) },
      { title: 'Expires', render: (k) => when(k.expires_at, 'never') },
      { title: 'Actions', class: 'row-actions', render: rowActions },
    ],
  });

  function rowActions(k) {
    const out = [];
    const live = k.status !== 'revoked' && !k.replaced_by;
    if (live && k.status !== 'expired') {
      out.push(actionButton('Roll', async () => {
        const rolled = await post(`/v1/api-keys/${k.id}/roll`, { grace_seconds: Number(grace.value) });
        replace(result, secretOnce({
          title: `New key for ${rolled.name}`,
          secret: rolled.key,
          warning: Number(grace.value) > 0
            ? `Shown once. The old key keeps working for ${graceLabel()}, then stops.`
            : 'Shown once. The old key has stopped working.',
        }));
        list.reload();
      }, { confirm: () => `Roll "${k.name}"? A new key is issued now; the old one keeps working for ${graceLabel()}.`, into: result }));
    }
    if (k.status !== 'revoked') {
      out.push(actionButton(k.enabled ? 'Disable' : 'Enable', async () => {
        await patch(`/v1/api-keys/${k.id}`, { enabled: !k.enabled });
        list.reload();
      }, { confirm: k.enabled ? `Disable "${k.name}"? Calls with it fail until it is enabled again.` : null, into: result }));
      out.push(actionButton('Revoke', async () => {
        await post(`/v1/api-keys/${k.id}/revoke`);
        list.reload();
      }, { confirm: `Revoke "${k.name}" (${k.start}…)? It stops working at once, for good.`, danger: true, into: result }));
    }
    out.push(actionButton('Delete', async () => {
      await del(`/v1/api-keys/${k.id}`);
      list.reload();
    }, { confirm: `Delete "${k.name}"? It stops working and disappears from this list.`, danger: true, into: result }));
    return h('span', { class: 'btn-row' }, out);
  }

  onSubmit(form, async () => {
    const scopes = [...form.querySelectorAll('input[name=scopes]:checked')].map((i) => i.value);
    const created = await post('/v1/api-keys', { name: name.value, scopes, expires_at: localToIso(expires.value) });
    replace(result, secretOnce({
      title: `Key "${created.name}" created`,
      secret: created.key,
      warning: 'This key is shown once. Copy it now and store it safely: afterwards only its prefix is shown.',
    }));
    form.reset();
    list.reload();
  });

  main.append(
    header('API keys'),
    section('Create a key', form, result),
    section('Keys', h('div', { class: 'filters' }, h('label', {}, 'When a key is rolled, the old key keeps working for ', grace)), list.el));
}
