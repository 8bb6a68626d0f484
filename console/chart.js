// A small bar chart drawn as SVG by the page (no library): series stacked per bucket, colours
// from the stylesheet (classes), a <title> per bar for the exact numbers.

import { svg, h } from './dom.js';

/**
 * `buckets`: [{label, values: {series: n}}]; `series`: [{key, label, class}].
 */
export function barChart({ buckets, series, height = 160, label }) {
  const width = Math.max(640, buckets.length * 28);
  const pad = { top: 10, bottom: 22, left: 34, right: 6 };
  const max = Math.max(1, ...buckets.map((b) => series.reduce((s, x) => s + (b.values[x.key] || 0), 0)));
  const plotH = height - pad.top - pad.bottom;
  const slot = (width - pad.left - pad.right) / Math.max(1, buckets.length);
  const bar = Math.min(56, Math.max(4, slot * 0.7));
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': label || 'chart' });
  root.append(svg('title', {}, label || 'chart'));
  for (const frac of [0, 0.5, 1]) {
    const y = pad.top + plotH * (1 - frac);
    root.append(svg('line', { x1: pad.left, x2: width - pad.right, y1: y, y2: y, class: 'chart-grid' }));
    root.append(svg('text', { x: pad.left - 4, y: y + 4, class: 'chart-axis', 'text-anchor': 'end' }, String(Math.round(max * frac))));
  }
  buckets.forEach((b, i) => {
    let y = pad.top + plotH;
    const x = pad.left + i * slot + (slot - bar) / 2;
    for (const s of series) {
      const v = b.values[s.key] || 0;
      if (!v) continue;
      const hgt = (v / max) * plotH;
      y -= hgt;
      root.append(svg('rect', { x, y, width: bar, height: hgt, class: `chart-bar ${s.class}` },
        svg('title', {}, `${b.label}: ${v} ${s.label}`)));
    }
    const every = Math.ceil(buckets.length / 12);
    if (i % every === 0) root.append(svg('text', { x: x + bar / 2, y: height - 6, class: 'chart-axis', 'text-anchor': 'middle' }, b.label));
  });
  const legend = h('div', { class: 'legend' }, series.map((s) => h('span', {}, h('span', { class: `swatch ${s.class}` }), ' ', s.label)));
  return h('figure', { class: 'chart-figure' }, root, legend);
}
