// Shared pieces of every screen: lists with "Load more", forms whose problem+json field errors
// appear beside the field they name, secrets shown once with a copy button, badges, states.

import { h, replace } from './dom.js';

/** A coloured status word. */
export function badge(status, kind = status) {
  return h('span', { class: `badge badge-${String(kind).replace(/[^a-z0-9_-]/gi, '')}` }, status);
}

/** A button that copies `text` and says so. */
export function copyButton(text, label = 'Copy') {
  const button = h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `${label} to clipboard` }, label);
  button.addEventListener('click', async () => {
    let ok = false;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch {
      // No clipboard API (plain HTTP on a non-local host): select a hidden copy and copy that.
      const area = h('textarea', { class: 'offscreen', readonly: true });
      area.value = text;
      document.body.append(area);
      area.select();
      try { ok = document.execCommand('copy'); } catch { ok = false; }
      area.remove();
    }
    button.textContent = ok ? 'Copied' : 'Copy failed: select and copy by hand';
    setTimeout(() => { button.textContent = label; }, 2500);
  });
  return button;
}

/** A secret the API returns once: shown with a copy button and a warning. */
export function secretOnce({ title, secret, warning, extra }) {
  return h('div', { class: 'secret-once', role: 'status' },
    h('h3', {}, title),
    h('p', { class: 'warning' }, warning || 'Copy it now: it is shown this once and cannot be shown again.'),
    h('div', { class: 'secret-row' },
      h('code', { class: 'secret', 'data-secret': '' }, secret),
      copyButton(secret)),
    extra || null);
}

/** What went wrong, in words a user can act on, with a retry when retrying can help. */
export function errorView(err, retry) {
  let message;
  if (err?.network) message = 'Could not reach Switchboard. Check your connection, then retry.';
  else if (err?.status === 503) message = 'Switchboard is briefly unavailable (a dependency is down). Retry in a moment.';
  else if (err?.status === 403) message = `Not allowed: ${err.problem.detail || 'this key lacks the scope'}`;
  else message = err?.problem?.detail || err?.message || String(err);
  return h('div', { class: 'alert alert-error', role: 'alert' },
    h('span', {}, message),
    retry && (err?.network || err?.status >= 500) ? h('button', { type: 'button', class: 'btn btn-small', on: { click: retry } }, 'Retry') : null);
}

export function loading(what = 'Loading…') {
  return h('p', { class: 'loading', 'aria-live': 'polite' }, what);
}

export function empty(message, action) {
  return h('div', { class: 'empty' }, h('p', {}, message), action || null);
}

export function confirmed(message) {
  return window.confirm(message);
}

/** A titled block of a screen. */
export function section(title, ...children) {
  return h('section', { class: 'card' }, title ? h('h2', {}, title) : null, ...children);
}

/** A definition list of [label, value] pairs (values are nodes or text). */
export function details(pairs) {
  return h('dl', { class: 'details' }, pairs.filter(Boolean).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

/**
 * A cursor-paginated table. `load(cursor)` returns a list page ({data, next_cursor}); rows
 * come in pages with a "Load more" button while the API says there is more.
 */
export function pagedTable({ columns, load, emptyText, emptyAction, caption, onFirstPage }) {
  const body = h('tbody');
  const foot = h('div', { class: 'list-foot' });
  const table = h('table', { class: 'table' },
    caption ? h('caption', { class: 'sr-only' }, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class || null }, c.title)))),
    body);
  const el = h('div', { class: 'list' }, h('div', { class: 'table-wrap' }, table), foot);
  let generation = 0;
  let count = 0;

  async function page(cursor) {
    const mine = generation;
    replace(foot, loading());
    try {
      const result = await load(cursor);
      if (mine !== generation) return;
      for (const row of result.data || []) {
        count++;
        // One wrapper per cell: on a phone the cell is a (label, content) grid row.
        body.append(h('tr', {}, columns.map((c) => h('td', { 'data-label': c.title, class: c.class || null }, h('div', { class: 'cell' }, c.render(row))))));
      }
      replace(foot);
      if (!cursor && onFirstPage) onFirstPage(count);
      if (result.next_cursor) {
        foot.append(h('button', { type: 'button', class: 'btn', on: { click: () => page(result.next_cursor) } }, 'Load more'));
      } else if (count === 0) {
        foot.append(empty(emptyText || 'Nothing here yet.', emptyAction));
      }
    } catch (err) {
      if (mine !== generation) return;
      replace(foot, errorView(err, () => page(cursor)));
    }
  }

  function reload() {
    generation++;
    count = 0;
    body.replaceChildren();
    page(undefined);
  }
  reload();
  return { el, reload };
}

/** A labelled input with a slot for the API's error about `name`. */
export function field(name, label, input, hint) {
  const id = `f-${name.replace(/[^a-z0-9_-]/gi, '-')}-${Math.random().toString(36).slice(2, 8)}`;
  input.id = id;
  if (!input.name) input.name = name;
  const error = h('p', { class: 'field-error', id: `${id}-error`, 'data-error-for': name, 'aria-live': 'polite' });
  input.setAttribute('aria-describedby', `${id}-error`);
  return h('div', { class: 'field', 'data-field': name },
    h('label', { for: id }, label),
    input,
    hint ? h('p', { class: 'hint' }, hint) : null,
    error);
}

/** A fieldset of checkboxes (scopes, event kinds). */
export function checkboxes(name, legend, options, checked = []) {
  const error = h('p', { class: 'field-error', 'data-error-for': name, 'aria-live': 'polite' });
  return h('fieldset', { class: 'field checkboxes', 'data-field': name },
    h('legend', {}, legend),
    h('div', { class: 'checkbox-grid' }, options.map((o) => h('label', { class: o.disabled ? 'disabled' : null, title: o.title || null },
      h('input', { type: 'checkbox', name, value: o.value, checked: checked.includes(o.value), disabled: o.disabled }),
      ' ', o.label || o.value))),
    error);
}

export function clearErrors(form) {
  for (const slot of form.querySelectorAll('[data-error-for]')) slot.textContent = '';
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  const alert = form.querySelector('.form-alert');
  if (alert) alert.replaceChildren();
}

/**
 * Puts each of a problem's `errors[]` beside the field it names (`event_types[1]` and
 * `headers.X-Token` land on `event_types` and `headers`); the rest, and the problem's detail
 * when no field is named, go to the form's alert.
 */
export function showErrors(form, err, retry) {
  clearErrors(form);
  const alert = form.querySelector('.form-alert');
  const unplaced = [];
  for (const e of err.fieldErrors || []) {
    const name = String(e.field || '');
    const slots = [...form.querySelectorAll('[data-error-for]')];
    const slot = slots.find((s) => s.dataset.errorFor === name) ||
      slots.find((s) => name.startsWith(`${s.dataset.errorFor}.`) || name.startsWith(`${s.dataset.errorFor}[`));
    if (slot) {
      slot.textContent = slot.textContent ? `${slot.textContent}; ${e.message}` : e.message;
      const wrap = slot.closest('[data-field]');
      for (const input of wrap ? wrap.querySelectorAll('input, textarea, select') : []) input.setAttribute('aria-invalid', 'true');
    } else {
      unplaced.push(`${name}: ${e.message}`);
    }
  }
  if (alert && (unplaced.length || !(err.fieldErrors || []).length)) {
    const view = unplaced.length && !err.network && err.status !== 503
      ? h('div', { class: 'alert alert-error', role: 'alert' }, unplaced.join('; '))
      : errorView(err, retry);
    replace(alert, view);
  }
  const first = form.querySelector('[aria-invalid="true"]');
  if (first) first.focus();
}

/**
 * Wires a form: on submit, clears old errors, disables the submit button, runs `action`, and
 * on failure shows the problem beside the fields. The form keeps everything typed on failure
 * (a lost connection or a 503 included), so a retry sends it again.
 */
export function onSubmit(form, action) {
  if (!form.querySelector('.form-alert')) form.append(h('div', { class: 'form-alert' }));
  const run = async (event) => {
    event?.preventDefault();
    const button = form.querySelector('button[type=submit]');
    clearErrors(form);
    if (button) button.disabled = true;
    try {
      await action();
    } catch (err) {
      if (err && 'status' in err) showErrors(form, err, () => run());
      else throw err;
    } finally {
      if (button) button.disabled = false;
    }
  };
  form.addEventListener('submit', run);
  return form;
}

/** A button that runs `action` (after `confirm` when given), showing failures in `into`. */
export function actionButton(label, action, { confirm, danger, into, small = true } = {}) {
  const button = h('button', { type: 'button', class: `btn${small ? ' btn-small' : ''}${danger ? ' btn-danger' : ''}` }, label);
  button.addEventListener('click', async () => {
    // `confirm` is the question, or a function making it from the form's current choices.
    const question = typeof confirm === 'function' ? confirm() : confirm;
    if (question && !confirmed(question)) return;
    button.disabled = true;
    try {
      await action();
    } catch (err) {
      if (into) replace(into, errorView(err));
      else window.alert(err?.problem?.detail || err?.message || String(err));
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** Text input helper. */
export function input(attrs = {}) {
  return h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', ...attrs });
}

export function select(options, attrs = {}) {
  return h('select', attrs, options.map((o) => (typeof o === 'string'
    ? h('option', { value: o }, o)
    : h('option', { value: o.value, selected: o.selected }, o.label))));
}

/** Screen title row: heading and actions. */
export function header(title, ...actions) {
  return h('div', { class: 'screen-head' }, h('h1', {}, title), h('div', { class: 'actions' }, ...actions));
}

/** `a, b` as tag chips. */
export function chips(list) {
  return h('span', { class: 'chips' }, (list || []).map((x) => h('span', { class: 'chip' }, x)));
}
