// Times and numbers as people read them: relative times with the exact time in `title`.

import { h } from './dom.js';

const UNITS = [
  ['year', 365 * 24 * 3600], ['month', 30 * 24 * 3600], ['day', 24 * 3600],
  ['hour', 3600], ['minute', 60], ['second', 1],
];
const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export function relative(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return String(iso);
  const diff = (t - now) / 1000;
  for (const [unit, secs] of UNITS) {
    if (Math.abs(diff) >= secs || unit === 'second') {
      if (unit === 'second' && Math.abs(diff) < 10) return diff <= 0 ? 'just now' : 'in a few seconds';
      return rtf.format(Math.round(diff / secs), unit);
    }
  }
  return String(iso);
}

export function exact(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : `${d.toLocaleString()} (${d.toISOString()})`;
}

/** A <time> showing "3 minutes ago", the exact time on hover; "—" for none. */
export function when(iso, none = '—') {
  if (!iso) return h('span', { class: 'muted' }, none);
  return h('time', { datetime: iso, title: exact(iso) }, relative(iso));
}

export function number(n) {
  return typeof n === 'number' ? n.toLocaleString() : '—';
}

export function bytes(n) {
  if (typeof n !== 'number') return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** A `datetime-local` input's value as RFC 3339 UTC, or undefined when empty. */
export function localToIso(value) {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d.toISOString();
}

/** An RFC 3339 time as a `datetime-local` value (local time, minutes). */
export function isoToLocal(iso) {
  const d = iso ? new Date(iso) : new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
