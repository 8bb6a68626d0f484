// Actions: connection-backed destinations (SMS, email, Slack, HTTP). A template editor per kind
// with a preview against a sample event, enable/disable and delete.

import { h, replace } from './dom.js';
import { get, post, patch, del } from './api.js';
import { when, number } from './format.js';
import { can } from './session.js';
import {
  header, section, pagedTable, field, input, onSubmit, actionButton, badge, chips, select, loading, errorView, empty,
} from './ui.js';
import { providers } from './connections.js';

const SAMPLES = {
  twilio_sms: { to: '+15551234567', from: '+15557654321', body: 'New {{ event.type }}: {{ event.data.subject }}' },
  sendgrid_email: { to: 'oncall@example.com', from: 'alerts@example.com', subject: '{{ event.type }}', text: 'Ticket {{ event.data.id }}: {{ event.data.subject }}' },
  slack_message: { text: ':rotating_light: {{ event.type }} — {{ event.data.subject }}' },
  http_request: { method: 'POST', path: '/events', body: '{"id": "{{ event.id }}", "subject": "{{ event.data.subject }}"}' },
};

const SAMPLE_EVENT = {
  event: { id: 'msg_sample', type: 'ticket.created', data: { id: 42, subject: 'Printer on fire' }, occurred_at: new Date().toISOString() },
  tenant: { id: 'ten_sample' },
};

/**
 * A preview of a template against the sample event: `{{ a.b.c }}` replaced by its value. The
 * server renders with minijinja (filters, conditions); this shows the variables only, and
 * marks one that does not exist (the server would fail that attempt).
 */
export function preview(template, context) {
  const out = {};
  for (const [k, v] of Object.entries(template || {})) {
    if (typeof v !== 'string') { out[k] = v; continue; }
    out[k] = v.replace(/\{\{\s*([\w.]+)\s*(\|[^}]*)?\}\}/g, (_, path) => {
      const value = path.split('.').reduce((o, p) => (o && typeof o === 'object' ? o[p] : undefined), context);
      if (value === undefined) return `⟨undefined: ${path}⟩`;
      return typeof value === 'string' ? value : JSON.stringify(value);
    });
  }
  return out;
}

export function render(main) {
  const result = h('div', { class: 'result', 'aria-live': 'polite' });
  const body = h('div', {}, loading());
  main.append(header('Actions'), body);
  const load = async () => {
    try {
      const registry = can('connections:read') ? await providers() : [];
      const conns = can('connections:read') ? (await get('/v1/connections', { limit: 250 })).data.filter((c) => c.status === 'active') : [];
      show(registry, conns);
    } catch (err) {
      replace(body, errorView(err, load));
    }
  };

  function show(registry, conns) {
    const connName = Object.fromEntries(conns.map((c) => [c.id, c.name]));
    const table = pagedTable({
      caption: 'Actions',
      load: (cursor) => get('/v1/actions', { cursor }),
      emptyText: 'No actions yet. An action sends each matching event through a connection (SMS, email, Slack, HTTP).',
      columns: [
        { title: 'Kind', render: (a) => a.kind },
        { title: 'Connection', render: (a) => connName[a.connection_id] || h('code', {}, a.connection_id) },
        { title: 'Events', render: (a) => chips(a.event_types) },
        { title: 'Status', render: (a) => (a.enabled ? badge('enabled') : badge(a.disabled_reason ? `disabled: ${a.disabled_reason}` : 'disabled', 'disabled')) },
        { title: 'Template', render: (a) => h('details', {}, h('summary', {}, 'template'), h('pre', { class: 'excerpt' }, JSON.stringify(a.template, null, 2))) },
        { title: 'Created', render: (a) => when(a.created_at) },
        {
          title: 'Actions', class: 'row-actions', render: (a) => h('span', { class: 'btn-row' },
            actionButton('Attempts', async () => {
              replace(result, section(`Attempt log: ${a.kind} via ${connName[a.connection_id] || a.connection_id}`, attemptLog(a)));
              result.scrollIntoView({ block: 'nearest' });
            }, { into: result }),
            can('webhooks:write') ? [actionButton(a.enabled ? 'Disable' : 'Enable', async () => {
              await patch(`/v1/actions/${a.id}`, { enabled: !a.enabled });
              table.reload();
            }, { into: result, confirm: a.enabled ? 'Disable this action? Matching events stop firing it.' : null }),
            actionButton('Delete', async () => {
              await del(`/v1/actions/${a.id}`);
              table.reload();
            }, { danger: true, into: result, confirm: 'Delete this action?' })] : null),
        },
      ],
    });
    const parts = [];
    if (can('webhooks:write') && can('connections:read')) {
      if (!conns.length) {
        parts.push(section('New action', empty('Actions send through a stored connection: create one first.', can('connections:write') ? h('a', { class: 'btn btn-primary', href: '#/connections' }, 'Add a connection') : null)));
      } else {
        parts.push(section('New action', h('details', { class: 'disclosure' }, h('summary', {}, 'Create an action'), editor(registry, conns, () => table.reload()))));
      }
    }
    parts.push(result, section('Actions', table.el));
    replace(body, ...parts);
  }
  load();
}

/** An action's attempt log (newest first, outcome filter), like a webhook endpoint's. */
function attemptLog(action) {
  const status = select([{ value: '', label: 'All outcomes' }, 'succeeded', 'failed'], { 'aria-label': 'Attempt outcome' });
  const table = pagedTable({
    caption: 'Action attempts',
    load: (cursor) => get(`/v1/actions/${action.id}/attempts`, { cursor, status: status.value }),
    emptyText: 'No attempts yet: publish an event this action subscribes to.',
    columns: [
      { title: 'When', render: (t) => when(t.created_at) },
      { title: 'Event', render: (t) => (can('events:read') ? h('a', { href: `#/events/${t.message_id}` }, t.event_type) : t.event_type) },
      { title: '#', render: (t) => String(t.attempt) },
      { title: 'Outcome', render: (t) => badge(t.status) },
      { title: 'HTTP', render: (t) => String(t.status_code ?? '—') },
      { title: 'Duration', render: (t) => `${number(t.duration_ms)} ms` },
      {
        title: 'Response', render: (t) => (t.response_body || t.error
          ? h('details', {}, h('summary', {}, t.error_code || 'response'), t.error ? h('p', {}, t.error) : null, t.response_body ? h('pre', { class: 'excerpt' }, t.response_body) : null)
          : h('span', { class: 'muted' }, '—')),
      },
    ],
  });
  status.addEventListener('change', () => table.reload());
  return h('div', {}, h('div', { class: 'filters' }, status), table.el);
}

function editor(registry, conns, done) {
  const kindsOf = (conn) => registry.find((p) => p.id === conn?.provider)?.action_kinds || [];
  const connection = select(conns.map((c) => ({ value: c.id, label: `${c.name} (${c.provider})` })), { name: 'connection_id' });
  const kind = select([], { name: 'kind' });
  const types = input({ name: 'event_types', placeholder: 'ticket.*', value: '*' });
  const template = h('textarea', { name: 'template', rows: 6, class: 'mono', spellcheck: 'false' });
  const sample = h('textarea', { name: 'sample', rows: 5, class: 'mono', spellcheck: 'false' });
  sample.value = JSON.stringify(SAMPLE_EVENT, null, 2);
  const out = h('pre', { class: 'json', 'aria-live': 'polite' });
  const syncKinds = () => {
    const kinds = kindsOf(conns.find((c) => c.id === connection.value));
    replace(kind, (kinds.length ? kinds : Object.keys(SAMPLES)).map((k) => h('option', { value: k }, k)));
    syncTemplate();
  };
  const syncTemplate = () => {
    template.value = JSON.stringify(SAMPLES[kind.value] || {}, null, 2);
    render();
  };
  const render = () => {
    try {
      out.textContent = JSON.stringify(preview(JSON.parse(template.value), JSON.parse(sample.value)), null, 2);
    } catch (e) {
      out.textContent = `Cannot preview: ${e.message}`;
    }
  };
  connection.addEventListener('change', syncKinds);
  kind.addEventListener('change', syncTemplate);
  template.addEventListener('input', render);
  sample.addEventListener('input', render);
  const form = h('form', { class: 'stack-form', novalidate: true },
    field('connection_id', 'Connection', connection),
    field('kind', 'Kind', kind),
    field('event_types', 'Event types', types, 'Exact names, prefix globs (ticket.*) or *.'),
    field('template', 'Template (JSON: each value a minijinja template)', template),
    h('div', { class: 'grid-2' },
      field('sample', 'Sample event', sample),
      h('div', { class: 'field' }, h('label', {}, 'Preview'), out, h('p', { class: 'hint' }, 'Variables substituted from the sample; filters and conditions run on the server.'))),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create action'));
  syncKinds();
  onSubmit(form, async () => {
    let tpl;
    try { tpl = JSON.parse(template.value); } catch (e) {
      throw { status: 422, problem: {}, fieldErrors: [{ field: 'template', message: `not valid JSON: ${e.message}` }] };
    }
    await post('/v1/actions', {
      connection_id: connection.value, kind: kind.value, template: tpl,
      event_types: types.value.split(/[\s,]+/).filter(Boolean),
    });
    done();
  });
  return form;
}
