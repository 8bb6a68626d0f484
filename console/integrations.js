// Inbound integrations: create with a provider-specific form (which secret, where to find it,
// where to paste the hook URL, with a copy button), the detail with its received events
// (status filter, replay), rejection counts, activate/deactivate, secret rotation, delete.

import { h, replace } from './dom.js';
import { get, post, patch, del } from './api.js';
import { when, number } from './format.js';
import { can } from './session.js';
import {
  header, section, pagedTable, field, input, onSubmit, actionButton, badge, chips, details,
  loading, errorView, select, copyButton,
} from './ui.js';

/** Per provider: the config field holding the key, where the provider shows it, where the hook URL goes. */
const PROVIDERS = {
  github: ['secret', 'Repository or organisation → Settings → Webhooks: the Secret you choose', 'Payload URL'],
  gitlab: ['secret', 'Project → Settings → Webhooks: the Secret token', 'URL'],
  slack: ['secret', 'App → Basic Information → Signing Secret', 'Event Subscriptions → Request URL'],
  stripe: ['secret', 'Developers → Webhooks → the endpoint’s signing secret (whsec_…)', 'Endpoint URL'],
  shopify: ['secret', 'The app’s client secret', 'Webhook subscription URL'],
  twilio: ['secret', 'Console → Account → Auth Token', 'the webhook URL (must equal the public URL)'],
  standard_webhooks: ['secret', 'whsec_… (Svix, Clerk, Resend, OpenAI…) or a whpk_… public key', 'Endpoint URL'],
  sendgrid: ['public_key', 'Mail Settings → Signed Event Webhook → Verification Key', 'HTTP Post URL'],
  discord: ['public_key', 'Developer Portal → General Information → Public Key', 'Interactions Endpoint URL'],
  square: ['secret', 'The subscription’s Signature Key', 'Notification URL (must equal the public URL)'],
  paddle: ['secret', 'Notification destination → secret key', 'Destination URL'],
  linear: ['secret', 'Settings → API → Webhooks: signing secret', 'URL'],
  zendesk: ['secret', 'Webhooks → the webhook’s signing secret', 'Endpoint URL'],
  intercom: ['secret', 'The app’s client secret', 'Webhook endpoint URL'],
  mailgun: ['secret', 'Sending → Webhooks → HTTP webhook signing key', 'Webhook URL'],
  generic_hmac: ['secret', 'The secret your sender signs with; options below (algorithm, encoding, header…)', 'the sender’s webhook URL'],
  api_key: ['secret', 'A key you choose; the sender sends it in a header (default x-api-key)', 'the sender’s webhook URL'],
  basic_auth: ['password', 'A password you choose (add "username" in the options)', 'the sender’s webhook URL'],
};

export function render(main, params, ctx) {
  if (params[0]) return detail(main, params[0], ctx);
  return list(main);
}

function statusBadge(i) {
  return i.active ? badge('active') : badge('inactive', 'disabled');
}

function hookUrl(url) {
  return h('span', { class: 'secret-row' }, h('code', { class: 'url' }, url), copyButton(url, 'Copy URL'));
}

function createForm(onCreated) {
  const type = select(Object.keys(PROVIDERS), { name: 'type' });
  const name = input({ name: 'name', placeholder: 'acme repos', maxlength: 128 });
  const secret = input({ type: 'password', name: 'secret', autocomplete: 'new-password' });
  const where = h('p', { class: 'hint' });
  const secretField = field('config.secret', 'Secret', secret);
  const options = h('textarea', { name: 'options', rows: 2, class: 'mono', spellcheck: 'false', placeholder: '{"algorithm": "sha256", "header": "x-signature"}' });
  const eventType = input({ name: 'route', placeholder: 'github.{{ headers["x-github-event"] }}' });
  const mapping = h('textarea', { name: 'mapping', rows: 3, class: 'mono', spellcheck: 'false', placeholder: '{"repo": "$.repository.full_name"}' });
  const active = h('input', { type: 'checkbox', name: 'active', checked: true });
  const sync = () => {
    const [key, text, paste] = PROVIDERS[type.value];
    secretField.querySelector('label').textContent = key === 'secret' ? 'Secret' : key === 'public_key' ? 'Public key' : 'Password';
    secretField.dataset.field = `config.${key}`;
    secretField.querySelector('.field-error').dataset.errorFor = `config.${key}`;
    replace(where, `Where: ${text}. After creating, paste the hook URL into ${paste}.`);
    if (!eventType.value || eventType.dataset.auto === '1') {
      eventType.value = `${type.value.replace(/_/g, '-')}.received`;
      eventType.dataset.auto = '1';
    }
  };
  eventType.addEventListener('input', () => { eventType.dataset.auto = '0'; });
  type.addEventListener('change', sync);
  secretField.insertBefore(where, secretField.querySelector('.field-error'));
  const form = h('form', { class: 'stack-form', novalidate: true },
    field('type', 'Provider', type),
    field('name', 'Name', name),
    secretField,
    field('config', 'Options (JSON, optional)', options, 'Provider options merged into the config, e.g. for generic_hmac or api_key.'),
    field('route.event_type', 'Routed event type', eventType, 'The event each accepted webhook becomes (a template over headers and mapped variables).'),
    field('mapping', 'Mapping (JSON, optional)', mapping, 'Variable → JSONPath over the body ($.a.b) or header:<name>. Empty: the body becomes the event data.'),
    h('label', { class: 'check' }, active, ' Active'),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create integration'));
  sync();
  const json = (el, fieldName) => {
    if (!el.value.trim()) return undefined;
    try {
      return JSON.parse(el.value);
    } catch (e) {
      throw { status: 422, problem: {}, fieldErrors: [{ field: fieldName, message: `not valid JSON: ${e.message}` }] };
    }
  };
  onSubmit(form, async () => {
    const [key] = PROVIDERS[type.value];
    const config = { ...(json(options, 'config') || {}), [key]: secret.value };
    const body = { type: type.value, name: name.value, config, route: { event_type: eventType.value.trim() }, active: active.checked };
    const m = json(mapping, 'mapping');
    if (m) body.mapping = m;
    const created = await post('/v1/integrations', body);
    form.reset();
    sync();
    onCreated(created);
  });
  return form;
}

function list(main) {
  const result = h('div', { class: 'result', 'aria-live': 'polite' });
  const table = pagedTable({
    caption: 'Integrations',
    load: (cursor) => get('/v1/integrations', { cursor }),
    emptyText: can('integrations:write') ? 'No integrations yet. Create one above for each provider that sends you webhooks.' : 'No integrations yet.',
    columns: [
      { title: 'Name', render: (i) => h('a', { href: `#/integrations/${i.id}` }, i.name) },
      { title: 'Provider', render: (i) => i.type },
      { title: 'Hook URL', render: (i) => hookUrl(i.hook_url) },
      { title: 'Status', render: statusBadge },
      { title: 'Rejected', render: (i) => number(i.rejected_count ?? 0) },
      { title: 'Created', render: (i) => when(i.created_at) },
    ],
  });
  const parts = [header('Integrations')];
  if (can('integrations:write')) {
    const form = createForm((created) => {
      const [, , paste] = PROVIDERS[created.type] || [];
      replace(result, h('div', { class: 'secret-once' },
        h('h3', {}, `Integration "${created.name}" created`),
        h('p', {}, `Paste this hook URL into ${paste || 'the provider'}:`),
        hookUrl(created.hook_url),
        h('p', {}, h('a', { href: `#/integrations/${created.id}`, class: 'btn' }, 'Open the integration'))));
      table.reload();
    });
    parts.push(section('New integration', h('details', { class: 'disclosure' }, h('summary', {}, 'Create an integration'), form), result));
  }
  parts.push(section('Integrations', table.el));
  main.append(...parts);
}

function detail(main, id) {
  main.append(h('p', {}, h('a', { href: '#/integrations' }, '← Integrations')));
  const body = h('div', {}, loading());
  main.append(body);
  const load = async () => {
    replace(body, loading());
    try {
      show(await get(`/v1/integrations/${encodeURIComponent(id)}`));
    } catch (err) {
      replace(body, errorView(err, load));
    }
  };

  function show(i) {
    const result = h('div', { class: 'result', 'aria-live': 'polite' });
    const write = can('integrations:write');
    const [key, where, paste] = PROVIDERS[i.type] || ['secret', '', 'the provider'];
    const actions = write ? [
      actionButton(i.active ? 'Deactivate' : 'Activate', async () => {
        await patch(`/v1/integrations/${i.id}`, { active: !i.active });
        load();
      }, { small: false, into: result, confirm: i.active ? 'Deactivate? Its hook URL answers 404 until activated again.' : null }),
      actionButton('Delete', async () => {
        await del(`/v1/integrations/${i.id}`);
        location.hash = '#/integrations';
      }, { small: false, danger: true, into: result, confirm: `Delete the integration "${i.name}"? Its hook URL stops accepting webhooks.` }),
    ] : [];
    let rotate = null;
    if (write) {
      const secret = input({ type: 'password', name: key, autocomplete: 'new-password' });
      rotate = h('form', { class: 'inline-form', novalidate: true },
        field(`config.${key}`, `New ${key.replace('_', ' ')}`, secret, where),
        h('button', { type: 'submit', class: 'btn' }, 'Rotate'));
      onSubmit(rotate, async () => {
        if (!window.confirm('Replace the key? The previous one keeps verifying for 24 hours.')) return;
        await patch(`/v1/integrations/${i.id}`, { config: { ...unmasked(i.config, key), [key]: secret.value }, grace_seconds: 86400 });
        load();
      });
    }
    const status = select([{ value: '', label: 'Any status' }, 'received', 'processing', 'processed', 'failed', 'dead'], { 'aria-label': 'Status filter' });
    const events = pagedTable({
      caption: 'Received events',
      load: (cursor) => get(`/v1/integrations/${i.id}/events`, { cursor, status: status.value, limit: 50 }),
      emptyText: `Nothing received yet. Paste the hook URL into ${paste}.`,
      columns: [
        { title: 'Received', render: (e) => when(e.received_at) },
        { title: 'Status', render: (e) => badge(e.status) },
        { title: 'Attempts', render: (e) => String(e.attempts) },
        { title: 'Size', render: (e) => `${number(e.body_bytes)} B` },
        { title: 'Error', render: (e) => e.error || '—' },
        { title: 'Event', render: (e) => (e.produced_event_id ? h('a', { href: `#/events/${e.produced_event_id}` }, h('code', {}, e.produced_event_id)) : '—') },
        {
          title: '', class: 'row-actions', render: (e) => (write ? actionButton('Replay', async () => {
            const r = await post(`/v1/integrations/${i.id}/events/${e.id}/replay`);
            replace(result, h('p', { class: 'alert alert-ok', role: 'status' }, `Queued ${r.queued} for processing again.`));
            events.reload();
          }, { into: result }) : null),
        },
      ],
    });
    status.addEventListener('change', () => events.reload());
    replace(body,
      header(i.name, ...actions),
      result,
      section('Settings', details([
        ['Provider', i.type],
        ['Hook URL', hookUrl(i.hook_url)],
        ['Paste it into', paste],
        ['Status', statusBadge(i)],
        ['Rejected deliveries', number(i.rejected_count ?? 0)],
        ['Config', chips(Object.entries(i.config || {}).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`))],
        ['Route', h('code', {}, i.route?.event_type || '—')],
        ['Mapping', Object.keys(i.mapping || {}).length ? chips(Object.entries(i.mapping).map(([k, v]) => `${k} ← ${v}`)) : h('span', { class: 'muted' }, 'none (the body is the event data)')],
        ['Timestamp tolerance', `${number(i.tolerance_seconds)} s`],
        i.previous_config_expires_at ? ['Previous key valid until', when(i.previous_config_expires_at)] : null,
        ['Id', h('code', {}, i.id)],
        ['Created', when(i.created_at)],
      ])),
      rotate ? section('Rotate the key', rotate) : null,
      section('Received events (newest first)', h('div', { class: 'filters' }, status), events.el));
  }
  load();
}

/** The config's options (not the masked key fields), to send back with a new key. */
function unmasked(config, key) {
  const out = {};
  for (const [k, v] of Object.entries(config || {})) {
    if (k !== key && !(typeof v === 'string' && v.startsWith('***'))) out[k] = v;
  }
  return out;
}
