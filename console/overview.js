// Overview: what needs attention. Counts, the last 24 h of deliveries by hour (succeeded,
// failed, in flight) as a chart, failing or disabled endpoints, inbound rejections and this
// month's usage — each part shown only when the key's scopes allow reading it.

import { h, replace } from './dom.js';
import { get } from './api.js';
import { when, number } from './format.js';
import { can } from './session.js';
import { header, section, loading, errorView, empty, badge } from './ui.js';
import { barChart } from './chart.js';

/** Every item of a list, following cursors, at most `pages` pages. */
async function collect(path, query, pages = 4) {
  const out = [];
  let cursor;
  for (let i = 0; i < pages; i++) {
    const page = await get(path, { ...query, limit: 250, cursor });
    out.push(...page.data);
    cursor = page.next_cursor;
    if (!cursor) return { items: out, more: false };
  }
  return { items: out, more: true };
}

function stat(label, value, note) {
  return h('div', { class: 'card' }, h('div', { class: 'muted' }, label), h('div', { class: 'stat' }, value), note ? h('div', { class: 'muted' }, note) : null);
}

function async(el, load) {
  replace(el, loading());
  const run = () => load().catch((err) => replace(el, errorView(err, run)));
  run();
  return el;
}

export function render(main) {
  const stats = h('div', { class: 'grid-cards' });
  const parts = [header('Overview'), stats];
  const cards = [];

  if (can('webhooks:read')) {
    const card = h('div', { class: 'card' }, loading());
    const failing = h('div', {});
    cards.push(card);
    parts.push(section('Endpoints needing attention', async(failing, async () => {
      const { items, more } = await collect('/v1/webhooks');
      replace(card, h('div', { class: 'muted' }, 'Webhook endpoints'), h('div', { class: 'stat' }, `${number(items.length)}${more ? '+' : ''}`),
        h('div', { class: 'muted' }, `${items.filter((e) => e.enabled).length} enabled`));
      const bad = items.filter((e) => !e.enabled || e.failing_since);
      if (!items.length) {
        replace(failing, empty('No webhook endpoints yet.', can('webhooks:write') ? h('a', { class: 'btn btn-primary', href: '#/webhooks' }, 'Create an endpoint') : null));
      } else if (!bad.length) {
        replace(failing, h('p', { class: 'muted' }, 'Every endpoint is enabled and delivering.'));
      } else {
        replace(failing, h('ul', { class: 'plain' }, bad.map((e) => h('li', {},
          h('a', { href: `#/webhooks/${e.id}` }, e.description || e.url), ' ',
          e.enabled ? badge('failing', 'failed') : badge('disabled'), ' ',
          e.failing_since ? h('span', { class: 'muted' }, 'since ', when(e.failing_since)) : null,
          e.disabled_reason ? h('span', { class: 'muted' }, ` — ${e.disabled_reason}`) : null))));
      }
    })));
  }

  if (can('events:read')) {
    const chart = h('div', {});
    parts.splice(2, 0, section('Deliveries in the last 24 hours', async(chart, async () => {
      const now = Date.now();
      const since = new Date(now - 24 * 3600 * 1000);
      const { items, more } = await collect('/v1/events', { since: since.toISOString() });
      const buckets = [];
      for (let i = 23; i >= 0; i--) {
        const start = new Date(now - i * 3600 * 1000);
        buckets.push({ label: `${String(start.getHours()).padStart(2, '0')}h`, start: start.getTime() - 3600 * 1000, values: {} });
      }
      let ok = 0;
      let bad = 0;
      for (const ev of items) {
        const t = Date.parse(ev.created_at);
        const bucket = buckets.find((b) => t > b.start && t <= b.start + 3600 * 1000) || buckets[buckets.length - 1];
        for (const d of [...ev.deliveries, ...ev.action_deliveries]) {
          const key = d.status === 'succeeded' ? 'ok' : d.status === 'failed' ? 'bad' : d.status === 'skipped' ? null : 'flight';
          if (!key) continue;
          bucket.values[key] = (bucket.values[key] || 0) + 1;
          if (key === 'ok') ok++;
          if (key === 'bad') bad++;
        }
      }
      const eventsCard = stat('Events, last 24 h', `${number(items.length)}${more ? '+' : ''}`, `${number(ok)} delivered · ${number(bad)} failed`);
      stats.prepend(eventsCard);
      replace(chart, items.length
        ? barChart({
          label: 'Deliveries per hour, last 24 hours',
          buckets,
          series: [{ key: 'ok', label: 'succeeded', class: 'ok' }, { key: 'bad', label: 'failed', class: 'bad' }, { key: 'flight', label: 'pending or retrying', class: 'accent' }],
        })
        : empty('No events in the last 24 hours.', can('events:publish') ? h('a', { class: 'btn btn-primary', href: '#/events' }, 'Publish an event') : null));
    })));
  }

  if (can('integrations:read')) {
    const card = h('div', { class: 'card' }, loading());
    cards.push(card);
    async(card, async () => {
      const { items, more } = await collect('/v1/integrations', {}, 2);
      const rejected = items.reduce((n, i) => n + (i.rejected_count || 0), 0);
      replace(card, h('div', { class: 'muted' }, 'Inbound integrations'), h('div', { class: 'stat' }, `${number(items.length)}${more ? '+' : ''}`),
        h('div', { class: rejected ? 'bad-text' : 'muted' }, `${number(rejected)} rejected deliveries (bad signature or timestamp)`));
    });
  }

  if (can('usage:read')) {
    const card = h('div', { class: 'card' }, loading());
    cards.push(card);
    async(card, async () => {
      const u = await get('/v1/usage');
      replace(card, h('div', { class: 'muted' }, `Usage, ${u.month}`), h('div', { class: 'stat' }, number(u.events_published)),
        h('div', { class: 'muted' }, `events · ${number(u.deliveries_succeeded)} delivered · ${number(u.deliveries_failed)} failed · ${number(u.inbound_rejected)} inbound rejected`));
    });
  }

  stats.append(...cards);
  if (!cards.length && !can('events:read')) stats.append(h('div', { class: 'card' }, h('p', {}, 'This key’s scopes show no overview. Use the tabs above.')));
  main.append(...parts);
}
