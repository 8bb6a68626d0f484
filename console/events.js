// Events: publish (type + JSON data checked in the page before sending), the list with type
// and status filters, and an event's detail with each destination's delivery, its attempts,
// and resend to one or all. The detail refreshes itself while deliveries are in flight.

import { h, replace } from './dom.js';
import { get, post, postRaw } from './api.js';
import { when, number } from './format.js';
import { can } from './session.js';
import {
  header, section, pagedTable, field, input, onSubmit, actionButton, badge, details, loading,
  errorView, select,
} from './ui.js';

const STATUSES = ['pending', 'retrying', 'succeeded', 'failed', 'skipped'];

export function render(main, params, ctx) {
  if (params[0]) return detail(main, params[0], ctx);
  return list(main);
}

function summary(ev) {
  const counts = {};
  for (const d of [...ev.deliveries, ...ev.action_deliveries]) counts[d.status] = (counts[d.status] || 0) + 1;
  const parts = Object.entries(counts).map(([s, n]) => h('span', { class: 'chip-pair' }, badge(`${n} ${s}`, s)));
  return parts.length ? h('span', { class: 'chips' }, parts) : h('span', { class: 'muted' }, 'no destinations');
}

function publishForm(onPublished) {
  const type = input({ name: 'type', placeholder: 'ticket.created', maxlength: 128 });
  const data = h('textarea', { name: 'data', rows: 6, spellcheck: 'false', class: 'mono' });
  data.value = '{\n  "id": 42,\n  "subject": "Printer on fire"\n}';
  const idem = input({ name: 'idempotency_key', placeholder: 'optional, e.g. t-42', maxlength: 255 });
  const form = h('form', { class: 'stack-form', novalidate: true },
    field('type', 'Event type', type, 'Dotted name; webhook., integration., api_key. and switchboard. are reserved.'),
    field('data', 'Data (JSON)', data),
    field('idempotency_key', 'Idempotency key', idem, 'Publishing the same body with the same key within 24 h returns the first answer.'),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Publish'));
  const dataError = () => form.querySelector('[data-error-for="data"]');
  const check = () => {
    try {
      JSON.parse(data.value);
      dataError().textContent = '';
      data.removeAttribute('aria-invalid');
      return true;
    } catch (e) {
      dataError().textContent = `Not valid JSON: ${e.message}`;
      data.setAttribute('aria-invalid', 'true');
      return false;
    }
  };
  data.addEventListener('input', check);
  onSubmit(form, async () => {
    if (!check()) {
      data.focus();
      return;
    }
    // Sent as typed (not re-serialised), so numbers and key order reach receivers unchanged.
    const body = `{"type":${JSON.stringify(type.value.trim())},"data":${data.value}${idem.value.trim() ? `,"idempotency_key":${JSON.stringify(idem.value.trim())}` : ''}}`;
    const published = await postRaw('/v1/events', body);
    onPublished(published);
  });
  return form;
}

function list(main) {
  const parts = [header('Events')];
  const result = h('div', { class: 'result', 'aria-live': 'polite' });
  let table = null;
  if (can('events:publish')) {
    const form = publishForm((p) => {
      replace(result, h('div', { class: 'alert alert-ok', role: 'status' },
        `Published ${p.id}: ${p.matched} destination${p.matched === 1 ? '' : 's'} matched. `,
        can('events:read') ? h('a', { href: `#/events/${p.id}` }, 'View the event →') : null));
      table?.reload();
    });
    parts.push(section('Publish an event', form, result));
  }
  if (can('events:read')) {
    const type = input({ name: 'type', placeholder: 'filter by type', 'aria-label': 'Event type filter' });
    const status = select([{ value: '', label: 'Any delivery status' }, ...STATUSES], { 'aria-label': 'Delivery status filter' });
    const filters = h('form', { class: 'filters', novalidate: true },
      field('type', 'Type', type),
      h('div', { class: 'field' }, h('label', {}, 'Status'), status),
      h('button', { type: 'submit', class: 'btn' }, 'Filter'));
    table = pagedTable({
      caption: 'Events',
      load: (cursor) => get('/v1/events', { cursor, type: type.value.trim(), status: status.value }),
      emptyText: type.value || status.value ? 'No events match these filters.' : 'No events yet. Publish one above, and watch its deliveries here.',
      columns: [
        { title: 'Event', render: (ev) => h('a', { href: `#/events/${ev.id}` }, h('code', {}, ev.id)) },
        { title: 'Type', render: (ev) => ev.type },
        { title: 'Published', render: (ev) => when(ev.created_at) },
        { title: 'Deliveries', render: summary },
      ],
    });
    onSubmit(filters, async () => table.reload());
    status.addEventListener('change', () => table.reload());
    parts.push(section('Recent events', filters, table.el));
  }
  main.append(...parts);
}

function detail(main, id, ctx) {
  main.append(h('p', {}, h('a', { href: '#/events' }, '← Events')));
  const body = h('div', {}, loading());
  main.append(body);
  let timer = null;
  let polls = 0;
  ctx.onLeave(() => clearTimeout(timer));

  const load = async () => {
    clearTimeout(timer);
    try {
      const ev = await get(`/v1/events/${encodeURIComponent(id)}`);
      const attempts = can('webhooks:read') ? await attemptsOf(ev) : null;
      show(ev, attempts);
      const inFlight = [...ev.deliveries, ...ev.action_deliveries].some((d) => d.status === 'pending' || d.status === 'retrying');
      if (inFlight && polls++ < 60) timer = setTimeout(load, 2000);
    } catch (err) {
      replace(body, errorView(err, load));
    }
  };

  // The newest 250 attempts of each destination, this event's kept (the API lists attempts
  // per endpoint and per action, not per event).
  async function attemptsOf(ev) {
    const out = [];
    const logs = [
      ...ev.deliveries.map((d) => [`/v1/webhooks/${d.endpoint_id}/attempts`, d.endpoint_id]),
      ...ev.action_deliveries.map((d) => [`/v1/actions/${d.action_id}/attempts`, d.action_id]),
    ];
    for (const [path, destination] of logs) {
      const page = await get(path, { limit: 250 }).catch(() => ({ data: [] }));
      out.push(...page.data.filter((a) => a.message_id === ev.id).map((a) => ({ ...a, destination })));
    }
    return out.sort((a, b) => b.created_at.localeCompare(a.created_at));
  }

  function show(ev, attempts) {
    const result = h('div', { class: 'result', 'aria-live': 'polite' });
    const publish = can('events:publish');
    const resend = (endpointId) => actionButton(endpointId ? 'Resend' : 'Resend to all', async () => {
      const r = await post(`/v1/events/${ev.id}/resend`, endpointId ? { endpoint_id: endpointId } : {});
      replace(result, h('p', { class: 'alert alert-ok', role: 'status' }, `Queued ${r.queued} deliver${r.queued === 1 ? 'y' : 'ies'}.`));
      polls = 0;
      setTimeout(load, 800);
    }, { into: result, small: Boolean(endpointId), confirm: endpointId ? null : 'Deliver this event again to every destination?' });
    const deliveries = h('table', { class: 'table', 'data-testid': 'deliveries' },
      h('thead', {}, h('tr', {}, ['Endpoint', 'Status', 'Attempts', 'Last HTTP', 'Last error', 'Next try', 'Updated', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ev.deliveries.map((d) => h('tr', {},
        h('td', { 'data-label': 'Endpoint' }, can('webhooks:read') ? h('a', { href: `#/webhooks/${d.endpoint_id}` }, h('code', {}, d.endpoint_id)) : h('code', {}, d.endpoint_id)),
        h('td', { 'data-label': 'Status' }, badge(d.status)),
        h('td', { 'data-label': 'Attempts' }, String(d.attempts)),
        h('td', { 'data-label': 'Last HTTP' }, String(d.last_status_code ?? '—')),
        h('td', { 'data-label': 'Last error' }, d.last_error || '—'),
        h('td', { 'data-label': 'Next try' }, when(d.next_attempt_at)),
        h('td', { 'data-label': 'Updated' }, when(d.updated_at)),
        h('td', { class: 'row-actions' }, publish ? resend(d.endpoint_id) : null)))));
    const actionRows = ev.action_deliveries.length ? h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, ['Action', 'Status', 'Attempts', 'Last HTTP', 'Last error', 'Updated'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ev.action_deliveries.map((d) => h('tr', {},
        h('td', { 'data-label': 'Action' }, h('code', {}, d.action_id)),
        h('td', { 'data-label': 'Status' }, badge(d.status)),
        h('td', { 'data-label': 'Attempts' }, String(d.attempts)),
        h('td', { 'data-label': 'Last HTTP' }, String(d.last_status_code ?? '—')),
        h('td', { 'data-label': 'Last error' }, d.last_error || '—'),
        h('td', { 'data-label': 'Updated' }, when(d.updated_at)))))) : null;
    const attemptTable = attempts && attempts.length ? h('table', { class: 'table', 'data-testid': 'event-attempts' },
      h('thead', {}, h('tr', {}, ['When', 'Destination', '#', 'Outcome', 'HTTP', 'Duration', 'Response'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, attempts.map((a) => h('tr', {},
        h('td', { 'data-label': 'When' }, when(a.created_at)),
        h('td', { 'data-label': 'Destination' }, h('code', {}, a.destination)),
        h('td', { 'data-label': '#' }, String(a.attempt)),
        h('td', { 'data-label': 'Outcome' }, badge(a.status)),
        h('td', { 'data-label': 'HTTP' }, String(a.status_code ?? '—')),
        h('td', { 'data-label': 'Duration' }, `${number(a.duration_ms)} ms`),
        h('td', { 'data-label': 'Response' }, a.error || a.response_body ? h('pre', { class: 'excerpt' }, a.error || a.response_body) : '—'))))) : null;
    let pretty;
    try { pretty = JSON.stringify(ev.data, null, 2); } catch { pretty = String(ev.data); }
    replace(body,
      header(ev.type, publish && ev.deliveries.length + ev.action_deliveries.length ? resend(null) : null,
        h('button', { type: 'button', class: 'btn', on: { click: () => { polls = 0; load(); } } }, 'Refresh')),
      result,
      section('Event', details([
        ['Id', h('code', {}, ev.id)],
        ['Type', ev.type],
        ['Published', when(ev.created_at)],
      ]), h('h3', {}, 'Data'), h('pre', { class: 'json', 'data-testid': 'event-data' }, pretty)),
      section('Deliveries', ev.deliveries.length ? deliveries : h('p', { class: 'muted' }, 'No webhook endpoint subscribed to this event type when it was published.')),
      actionRows ? section('Actions', actionRows) : null,
      attempts ? section('Attempts', attemptTable || h('p', { class: 'muted' }, 'No attempts yet.')) : null);
  }
  load();
}
