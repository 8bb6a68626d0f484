// Audit log: who changed what, when, from where. Filters by actor, action, target, time.

import { h } from './dom.js';
import { get } from './api.js';
import { when, localToIso } from './format.js';
import { header, section, pagedTable, field, input, onSubmit, badge, select } from './ui.js';

const ACTIONS = [
  'tenant.created', 'api_key.created', 'api_key.updated', 'api_key.enabled', 'api_key.disabled', 'api_key.revoked',
  'api_key.rolled', 'api_key.deleted', 'api_key.recovery_issued', 'webhook.created', 'webhook.updated',
  'webhook.enabled', 'webhook.disabled', 'webhook.deleted', 'webhook.secret_rotated', 'webhook.tested',
  'webhook.recovered', 'event.resent', 'integration.created', 'integration.updated', 'integration.enabled',
  'integration.disabled', 'integration.deleted', 'integration.event_replayed', 'connection.created',
  'connection.updated', 'connection.rotated', 'connection.revoked', 'action.created', 'action.updated',
  'action.disabled', 'action.deleted',
];
const TARGETS = ['tenant', 'api_key', 'webhook', 'event', 'integration', 'inbound_event', 'connection', 'action'];

function change(c) {
  const show = (v) => (v === null || v === undefined ? '∅' : typeof v === 'string' ? v : JSON.stringify(v));
  return `${c.field}: ${show(c.old)} → ${show(c.new)}`;
}

export function render(main) {
  const actor = input({ name: 'actor', placeholder: 'key_… or root' });
  const action = select([{ value: '', label: 'Any action' }, ...ACTIONS], { name: 'action' });
  const targetType = select([{ value: '', label: 'Any target' }, ...TARGETS], { name: 'target_type' });
  const targetId = input({ name: 'target_id', placeholder: 'ep_…, key_…' });
  const since = h('input', { type: 'datetime-local', name: 'since' });
  const until = h('input', { type: 'datetime-local', name: 'until' });
  const filters = h('form', { class: 'filters', novalidate: true },
    field('actor', 'Actor', actor), field('action', 'Action', action), field('target_type', 'Target type', targetType),
    field('target_id', 'Target id', targetId), field('since', 'Since', since), field('until', 'Until', until),
    h('button', { type: 'submit', class: 'btn' }, 'Filter'));
  const table = pagedTable({
    caption: 'Audit log',
    load: (cursor) => get('/v1/audit', {
      cursor, actor: actor.value.trim(), action: action.value, target_type: targetType.value,
      target_id: targetId.value.trim(), since: localToIso(since.value), until: localToIso(until.value),
    }),
    emptyText: 'No entries match. Every change made through the API is recorded here.',
    columns: [
      { title: 'When', render: (e) => when(e.occurred_at) },
      { title: 'Actor', render: (e) => h('code', {}, e.actor.id) },
      { title: 'Action', render: (e) => e.action },
      { title: 'Target', render: (e) => [e.target.type, ' ', h('code', {}, e.target.id)] },
      { title: 'Outcome', render: (e) => badge(e.outcome, e.outcome === 'succeeded' ? 'succeeded' : 'pending') },
      { title: 'Changes', render: (e) => (e.changes.length ? h('details', {}, h('summary', {}, `${e.changes.length} field${e.changes.length === 1 ? '' : 's'}`), h('ul', { class: 'plain' }, e.changes.map((c) => h('li', {}, change(c))))) : '—') },
      { title: 'From', render: (e) => h('span', { class: 'muted', title: e.user_agent || '' }, e.source_ip || '—') },
    ],
  });
  onSubmit(filters, async () => table.reload());
  main.append(header('Audit log'), section(null, filters, table.el));
}
