// Connections: stored provider credentials. Forms come from the provider registry
// (GET /v1/providers); secret fields are write-only (password inputs, never shown again; a
// fingerprint identifies them). Rotate replaces the credentials; revoke is confirmed.

import { h, replace } from './dom.js';
import { get, post, patch, del } from './api.js';
import { when } from './format.js';
import { can } from './session.js';
import {
  header, section, pagedTable, field, input, onSubmit, actionButton, badge, chips, select, loading, errorView,
} from './ui.js';

let registry = null;

/** The provider registry, fetched once per page load. */
export async function providers() {
  registry = registry || (await get('/v1/providers')).data;
  return registry;
}

/** Inputs for a provider's credential fields, named `credentials.<name>` for field errors. */
export function credentialFields(provider) {
  return provider.fields.map((f) => {
    const el = input({
      type: f.secret ? 'password' : 'text',
      name: f.name,
      autocomplete: f.secret ? 'new-password' : 'off',
      maxlength: f.max_length,
      placeholder: f.prefix ? `${f.prefix}…` : '',
      required: f.required,
      'data-credential': f.name,
    });
    const hint = [f.required ? 'Required' : 'Optional', f.secret ? 'secret: sealed, never shown again' : 'shown in views'].join(' · ');
    return field(`credentials.${f.name}`, f.label, el, hint);
  });
}

export function credentialsOf(form) {
  const out = {};
  for (const el of form.querySelectorAll('[data-credential]')) if (el.value !== '') out[el.dataset.credential] = el.value;
  return out;
}

export function render(main) {
  const result = h('div', { class: 'result', 'aria-live': 'polite' });
  const body = h('div', {}, loading());
  main.append(header('Connections'), body);
  const load = async () => {
    try {
      show(await providers());
    } catch (err) {
      replace(body, errorView(err, load));
    }
  };

  function show(list) {
    const byId = Object.fromEntries(list.map((p) => [p.id, p]));
    const filter = select([{ value: '', label: 'All providers' }, ...list.map((p) => ({ value: p.id, label: p.display_name }))], { 'aria-label': 'Provider filter' });
    const table = pagedTable({
      caption: 'Connections',
      load: (cursor) => get('/v1/connections', { cursor, provider: filter.value }),
      emptyText: can('connections:write') ? 'No connections yet. Store a provider’s credentials above; actions use them to send.' : 'No connections yet.',
      columns: [
        { title: 'Name', render: (c) => h('strong', {}, c.name) },
        { title: 'Provider', render: (c) => byId[c.provider]?.display_name || c.provider },
        { title: 'Fingerprint', render: (c) => h('code', {}, c.fingerprint) },
        { title: 'Details', render: (c) => chips(Object.entries({ ...c.credentials, ...c.metadata }).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)) },
        { title: 'Status', render: (c) => badge(c.status) },
        { title: 'Rotated', render: (c) => when(c.rotated_at, 'never') },
        { title: 'Actions', class: 'row-actions', render: (c) => rowActions(c, byId[c.provider]) },
      ],
    });
    filter.addEventListener('change', () => table.reload());

    function rowActions(c, provider) {
      if (!can('connections:write') || c.status === 'revoked') return null;
      return h('span', { class: 'btn-row' },
        actionButton('Rotate', async () => {
          const form = h('form', { class: 'stack-form', novalidate: true },
            h('p', {}, `New credentials for "${c.name}". Every field is replaced.`),
            provider ? credentialFields(provider) : null,
            h('div', { class: 'btn-row' },
              h('button', { type: 'submit', class: 'btn btn-primary' }, 'Rotate credentials'),
              h('button', { type: 'button', class: 'btn', on: { click: () => replace(result) } }, 'Cancel')));
          onSubmit(form, async () => {
            const updated = await patch(`/v1/connections/${c.id}`, { credentials: credentialsOf(form) });
            replace(result, h('p', { class: 'alert alert-ok', role: 'status' }, `Rotated. New fingerprint ${updated.fingerprint}.`));
            table.reload();
          });
          replace(result, section(`Rotate ${c.name}`, form));
          result.scrollIntoView({ block: 'nearest' });
        }, { into: result }),
        actionButton('Revoke', async () => {
          await del(`/v1/connections/${c.id}`);
          table.reload();
        }, { danger: true, into: result, confirm: `Revoke "${c.name}"? Its credentials are destroyed and actions using it stop.` }));
    }

    const parts = [];
    if (can('connections:write')) {
      const provider = select(list.map((p) => ({ value: p.id, label: p.display_name })), { name: 'provider' });
      const name = input({ name: 'name', placeholder: 'production twilio', maxlength: 128 });
      const fields = h('div', {});
      const metadata = h('textarea', { name: 'metadata', rows: 2, class: 'mono', spellcheck: 'false', placeholder: '{"env": "sandbox"}' });
      const sync = () => replace(fields, credentialFields(byId[provider.value]));
      provider.addEventListener('change', sync);
      sync();
      const form = h('form', { class: 'stack-form', novalidate: true },
        field('provider', 'Provider', provider),
        field('name', 'Name', name),
        fields,
        field('metadata', 'Metadata (JSON, optional)', metadata, 'Free labels the list filters by. Shown everywhere: never put secrets here.'),
        h('button', { type: 'submit', class: 'btn btn-primary' }, 'Store credentials'));
      onSubmit(form, async () => {
        let meta;
        if (metadata.value.trim()) {
          try { meta = JSON.parse(metadata.value); } catch (e) {
            throw { status: 422, problem: {}, fieldErrors: [{ field: 'metadata', message: `not valid JSON: ${e.message}` }] };
          }
        }
        const created = await post('/v1/connections', { provider: provider.value, name: name.value, credentials: credentialsOf(form), metadata: meta });
        replace(result, h('p', { class: 'alert alert-ok', role: 'status' }, `Stored "${created.name}" (fingerprint ${created.fingerprint}). The secret fields cannot be shown again.`));
        form.reset();
        sync();
        table.reload();
      });
      parts.push(section('New connection', h('details', { class: 'disclosure' }, h('summary', {}, 'Store provider credentials'), form)));
    }
    parts.push(result, section('Connections', h('div', { class: 'filters' }, filter), table.el));
    replace(body, ...parts);
  }
  load();
}
