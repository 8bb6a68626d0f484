// Webhook endpoints: list, create/edit (API field errors beside their fields), and a detail
// page with test send (the attempt inline), secret rotation with a chosen grace (shown once), enable/disable,
// recover since a time, delete, and the attempt log with a status filter.

import { h, replace } from './dom.js';
import { get, post, patch, del, withQuery } from './api.js';
import { when, number, localToIso, isoToLocal } from './format.js';
import { can } from './session.js';
import {
  header, section, pagedTable, field, input, onSubmit, secretOnce, actionButton, badge, chips,
  details, loading, errorView, select,
} from './ui.js';

/** The grace periods offered when rotating a signing secret (the API takes 0 to 7 days). */
const ROTATION_GRACE = [
  { seconds: 0, label: 'no time (stops now)' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86400, label: '24 hours' },
  { seconds: 604800, label: '7 days' },
];

export function render(main, params, ctx) {
  if (params[0]) return detail(main, params[0], ctx);
  return list(main);
}

function endpointStatus(e) {
  if (!e.enabled) return badge(e.disabled_reason ? 'disabled (by Switchboard)' : 'disabled', 'disabled');
  if (e.failing_since) return badge('failing', 'failed');
  return badge('enabled', 'succeeded');
}

/** "Name: value" lines → {Name: value}; a line without ":" is reported against `headers`. */
function parseHeaders(text) {
  const out = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const at = line.indexOf(':');
    if (at < 1) throw new Error(`"${line}" is not "Name: value"`);
    out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}

function splitList(text) {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

/** The create/edit form; `existing` makes it an edit that sends only what changed. */
function endpointForm(existing, onDone) {
  const url = input({ name: 'url', inputmode: 'url', placeholder: 'https://example.com/hooks', value: existing?.url || '' });
  const types = input({ name: 'event_types', placeholder: '*  or  ticket.*, invoice.paid', value: (existing?.event_types || []).join(', ') });
  const description = h('textarea', { name: 'description', rows: 2, maxlength: 512 });
  description.value = existing?.description || '';
  const headers = h('textarea', { name: 'headers', rows: 2, placeholder: 'X-Team: billing', spellcheck: 'false' });
  const keepHeaders = existing && Object.keys(existing.headers || {}).length > 0;
  const timeout = input({ type: 'number', name: 'timeout_ms', min: 1000, max: 30000, step: 1, placeholder: '15000', value: existing?.timeout_ms ?? '' });
  const attempts = input({ type: 'number', name: 'max_attempts', min: 1, max: 12, step: 1, placeholder: '8', value: existing?.max_attempts ?? '' });
  const rate = input({ type: 'number', name: 'rate_limit_per_s', min: 1, max: 10000, step: 1, placeholder: 'no limit', value: existing?.rate_limit_per_s ?? '' });
  const enabled = h('input', { type: 'checkbox', name: 'enabled', checked: existing ? existing.enabled : true });
  const form = h('form', { class: 'stack-form', novalidate: true },
    field('url', 'URL', url, 'Where Switchboard POSTs events: http(s), a public address unless the operator allows a private one.'),
    field('event_types', 'Event types', types, 'Exact names, prefix globs (ticket.*) or * for all; separate with commas. Empty: all.'),
    field('description', 'Description', description),
    field('headers', 'Extra headers', headers, keepHeaders
      ? `One "Name: value" per line. Current: ${Object.entries(existing.headers).map(([k, v]) => `${k}: ${v}`).join(', ')} (values masked). Leave empty to keep them.`
      : 'One "Name: value" per line; values are stored encrypted and shown masked.'),
    h('div', { class: 'grid-3' },
      field('timeout_ms', 'Timeout (ms)', timeout),
      field('max_attempts', 'Max attempts', attempts),
      field('rate_limit_per_s', 'Rate limit (per s)', rate)),
    h('label', { class: 'check' }, enabled, ' Enabled'),
    h('div', { class: 'btn-row' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, existing ? 'Save changes' : 'Create endpoint'),
      existing ? h('button', { type: 'button', class: 'btn', on: { click: () => onDone(null) } }, 'Cancel') : null));
  const num = (el) => (el.value === '' ? undefined : Number(el.value));
  onSubmit(form, async () => {
    let parsedHeaders;
    try {
      parsedHeaders = headers.value.trim() ? parseHeaders(headers.value) : undefined;
    } catch (e) {
      const err = { status: 422, problem: {}, fieldErrors: [{ field: 'headers', message: e.message }] };
      throw err;
    }
    const body = {
      url: url.value.trim(),
      event_types: types.value.trim() ? splitList(types.value) : (existing ? undefined : ['*']),
      description: description.value,
      enabled: enabled.checked,
      timeout_ms: num(timeout),
      max_attempts: num(attempts),
    };
    if (parsedHeaders) body.headers = parsedHeaders;
    if (existing) {
      body.rate_limit_per_s = rate.value === '' ? null : Number(rate.value);
      onDone(await patch(`/v1/webhooks/${existing.id}`, body));
    } else {
      if (rate.value !== '') body.rate_limit_per_s = Number(rate.value);
      onDone(await post('/v1/webhooks', body));
    }
  });
  return form;
}

function list(main) {
  const result = h('div', { class: 'result', 'aria-live': 'polite' });
  // The create form starts open only while there is no endpoint yet.
  const disclosure = h('details', { class: 'disclosure' }, h('summary', {}, 'Create an endpoint'));
  const table = pagedTable({
    onFirstPage: (count) => { if (count === 0) disclosure.open = true; },
    caption: 'Webhook endpoints',
    load: (cursor) => get('/v1/webhooks', { cursor }),
    emptyText: can('webhooks:write')
      ? 'No endpoints yet. Create one above: give it a URL and the event types it wants.'
      : 'No endpoints yet.',
    columns: [
      { title: 'URL', render: (e) => h('a', { href: `#/webhooks/${e.id}`, class: 'url' }, e.url) },
      { title: 'Description', render: (e) => e.description ? h('span', { class: 'desc' }, e.description) : h('span', { class: 'muted' }, '—') },
      { title: 'Events', render: (e) => chips(e.event_types) },
      { title: 'Status', render: endpointStatus },
      { title: 'Created', render: (e) => when(e.created_at) },
    ],
  });
  const parts = [header('Webhooks')];
  if (can('webhooks:write')) {
    const form = endpointForm(null, (created) => {
      replace(result, secretOnce({
        title: 'Endpoint created: its signing secret',
        secret: created.secret,
        warning: 'The whsec_ secret verifies every delivery’s signature. It is shown this once; rotate it if it is lost.',
        extra: h('p', {}, h('a', { href: `#/webhooks/${created.id}`, class: 'btn' }, 'Open the endpoint')),
      }));
      form.reset();
      form.querySelector('input[name=enabled]').checked = true;
      table.reload();
    });
    disclosure.append(form);
    parts.push(section('New endpoint', disclosure, result));
  }
  parts.push(section('Endpoints', table.el));
  main.append(...parts);
}

function attemptRow(a) {
  return [
    when(a.created_at),
    a.event_type,
    String(a.attempt),
    badge(a.status),
    a.status_code ?? '—',
    `${number(a.duration_ms)} ms`,
  ];
}

/** The result of one attempt, inline. */
function attemptView(a) {
  return h('div', { class: 'attempt' },
    h('p', {}, badge(a.status), ' ', a.status_code ? `HTTP ${a.status_code}` : (a.error_code || 'no answer'), ` in ${number(a.duration_ms)} ms`),
    a.error ? h('p', { class: 'muted' }, a.error) : null,
    a.response_body ? h('pre', { class: 'excerpt' }, a.response_body) : null);
}

function detail(main, id, ctx) {
  main.append(h('p', {}, h('a', { href: '#/webhooks' }, '← Webhooks')));
  const body = h('div', {}, loading());
  main.append(body);
  const load = async () => {
    replace(body, loading());
    try {
      const e = await get(`/v1/webhooks/${encodeURIComponent(id)}`);
      show(e);
    } catch (err) {
      replace(body, errorView(err, load));
    }
  };

  function show(e) {
    const result = h('div', { class: 'result', 'aria-live': 'polite' });
    const write = can('webhooks:write');
    const info = details([
      ['URL', h('code', { class: 'url' }, e.url)],
      ['Description', e.description || h('span', { class: 'muted' }, '—')],
      ['Event types', chips(e.event_types)],
      ['Status', endpointStatus(e)],
      e.disabled_reason ? ['Disabled because', e.disabled_reason] : null,
      e.failing_since ? ['Failing since', when(e.failing_since)] : null,
      ['Headers', Object.keys(e.headers).length ? chips(Object.entries(e.headers).map(([k, v]) => `${k}: ${v}`)) : h('span', { class: 'muted' }, 'none')],
      ['Timeout', `${number(e.timeout_ms)} ms`],
      ['Max attempts', String(e.max_attempts)],
      ['Rate limit', e.rate_limit_per_s ? `${number(e.rate_limit_per_s)} / s` : 'none'],
      ['Id', h('code', {}, e.id)],
      ['Created', when(e.created_at)],
      ['Updated', when(e.updated_at)],
    ]);
    const actions = [];
    if (write) {
      actions.push(
        actionButton('Edit', async () => {
          replace(result, section('Edit endpoint', endpointForm(e, (updated) => {
            if (updated) return load();
            replace(result);
          })));
        }, { small: false }),
        actionButton('Send test event', async () => {
          replace(result, loading('Sending a webhook.test event…'));
          const force = !e.enabled;
          const attempt = await post(withQuery(`/v1/webhooks/${e.id}/test`, { force: force ? 'true' : undefined }));
          replace(result, section('Test send', attemptView(attempt)));
          attempts.reload();
        }, { small: false, into: result, confirm: e.enabled ? null : 'The endpoint is disabled. Send the test anyway?' }),
        actionButton(e.enabled ? 'Disable' : 'Enable', async () => {
          await patch(`/v1/webhooks/${e.id}`, { enabled: !e.enabled });
          load();
        }, { small: false, into: result, confirm: e.enabled ? 'Disable this endpoint? Deliveries to it stop until it is enabled.' : null }),
        actionButton('Delete', async () => {
          await del(`/v1/webhooks/${e.id}`);
          ctx.navigate('#/webhooks');
        }, { small: false, danger: true, into: result, confirm: `Delete the endpoint ${e.url}? No further deliveries are made to it.` }));
    }

    const since = h('input', { type: 'datetime-local', name: 'since', value: isoToLocal(new Date(Date.now() - 24 * 3600 * 1000).toISOString()) });
    const recover = write ? h('form', { class: 'inline-form', novalidate: true },
      field('since', 'Re-send failed deliveries since', since),
      h('button', { type: 'submit', class: 'btn' }, 'Recover')) : null;
    if (recover) {
      onSubmit(recover, async () => {
        const r = await post(`/v1/webhooks/${e.id}/recover`, { since: localToIso(since.value) });
        replace(result, h('p', { class: 'alert alert-ok', role: 'status' }, `Queued ${r.queued} failed deliveries again.`));
        attempts.reload();
      });
    }

    // Rotation: how long the previous secret keeps signing (none, when it leaked).
    const grace = select(ROTATION_GRACE.map((g) => ({ value: String(g.seconds), label: g.label, selected: g.seconds === 86400 })));
    const graceLabel = () => ROTATION_GRACE.find((g) => String(g.seconds) === grace.value)?.label || grace.value;
    const rotate = write ? h('div', { class: 'inline-form' },
      field('grace_seconds', 'Previous secret keeps signing for', grace,
        'Receivers get both signatures meanwhile. When the secret leaked, choose no time.'),
      actionButton('Rotate secret', async () => {
        const rotated = await post(`/v1/webhooks/${e.id}/secret/rotate`, { grace_seconds: Number(grace.value) });
        replace(result, secretOnce({
          title: 'New signing secret',
          secret: rotated.secret,
          warning: Number(grace.value) > 0
            ? 'Shown once. Deliveries carry both signatures until the previous secret expires; update your receiver before then.'
            : 'Shown once. The previous secret no longer signs: update your receiver now.',
          extra: h('p', { class: 'muted' }, 'Previous secret stops signing ', when(rotated.previous_expires_at)),
        }));
      }, { small: false, into: result, confirm: () => `Rotate the signing secret? The previous secret keeps signing for ${graceLabel()}.` })) : null;

    const status = select([{ value: '', label: 'All outcomes' }, 'succeeded', 'failed'], { 'aria-label': 'Attempt outcome' });
    const attempts = pagedTable({
      caption: 'Attempt log',
      load: (cursor) => get(`/v1/webhooks/${e.id}/attempts`, { cursor, status: status.value }),
      emptyText: write ? 'No attempts yet. Publish an event it subscribes to, or send a test event.' : 'No attempts yet.',
      columns: [
        { title: 'When', render: (a) => attemptRow(a)[0] },
        { title: 'Event', render: (a) => (can('events:read') && !a.event_type.startsWith('webhook.test') ? h('a', { href: `#/events/${a.message_id}` }, a.event_type) : a.event_type) },
        { title: '#', render: (a) => String(a.attempt) },
        { title: 'Outcome', render: (a) => badge(a.status) },
        { title: 'HTTP', render: (a) => String(a.status_code ?? '—') },
        { title: 'Duration', render: (a) => `${number(a.duration_ms)} ms` },
        {
          title: 'Response', render: (a) => (a.response_body || a.error
            ? h('details', {}, h('summary', {}, a.error_code || 'response'), a.error ? h('p', {}, a.error) : null, a.response_body ? h('pre', { class: 'excerpt' }, a.response_body) : null)
            : h('span', { class: 'muted' }, '—')),
        },
        { title: 'Next try', render: (a) => when(a.next_attempt_at, '—') },
      ],
    });
    status.addEventListener('change', () => attempts.reload());

    replace(body,
      header(e.description || 'Endpoint', ...actions),
      result,
      section('Settings', info),
      rotate ? section('Signing secret', rotate) : null,
      recover ? section('Recover', recover) : null,
      section('Attempt log', h('div', { class: 'filters' }, status,
        h('button', { type: 'button', class: 'btn btn-small', on: { click: () => attempts.reload() } }, 'Refresh')), attempts.el));
  }
  load();
}
