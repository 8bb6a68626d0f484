// Usage: a month's counters, and the last six months as a chart.

import { h, replace } from './dom.js';
import { get } from './api.js';
import { number, bytes } from './format.js';
import { header, section, loading, errorView, details, field } from './ui.js';
import { barChart } from './chart.js';

function monthOf(d) {
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

export function render(main) {
  const month = h('input', { type: 'month', name: 'month', value: monthOf(new Date()) });
  const counters = h('div', {}, loading());
  const chart = h('div', {}, loading());
  const load = async () => {
    replace(counters, loading());
    try {
      const u = await get('/v1/usage', { month: month.value });
      const actions = Object.entries(u.actions || {});
      replace(counters, details([
        ['Events published', number(u.events_published)],
        ['Delivery attempts', number(u.deliveries_attempted)],
        ['Succeeded', number(u.deliveries_succeeded)],
        ['Failed', number(u.deliveries_failed)],
        ['Egress', bytes(u.egress_bytes)],
        ['Inbound received', number(u.inbound_received)],
        ['Inbound rejected', number(u.inbound_rejected)],
        ['Actions fired', actions.length ? actions.map(([k, v]) => `${k}: ${number(v)}`).join(', ') : '0'],
      ]));
    } catch (err) {
      replace(counters, errorView(err, load));
    }
  };
  const loadChart = async () => {
    try {
      const now = new Date();
      const months = [];
      for (let i = 5; i >= 0; i--) months.push(monthOf(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 1))));
      const all = await Promise.all(months.map((m) => get('/v1/usage', { month: m })));
      replace(chart, barChart({
        label: 'Deliveries per month',
        buckets: all.map((u) => ({ label: u.month, values: { ok: u.deliveries_succeeded, bad: u.deliveries_failed } })),
        series: [{ key: 'ok', label: 'succeeded', class: 'ok' }, { key: 'bad', label: 'failed', class: 'bad' }],
      }), h('p', { class: 'muted' }, `Events published: ${all.map((u) => `${u.month} ${number(u.events_published)}`).join(' · ')}`));
    } catch (err) {
      replace(chart, errorView(err, loadChart));
    }
  };
  month.addEventListener('change', load);
  main.append(header('Usage'),
    section('Month', h('div', { class: 'filters' }, field('month', 'Month (UTC)', month)), counters),
    section('Last six months', chart));
  load();
  loadChart();
}
