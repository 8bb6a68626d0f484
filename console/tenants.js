// Root key: the tenants list, creating a tenant (its first admin key shown once, with a way to
// sign in as it), and a recovery key for a tenant that locked itself out.

import { h, replace } from './dom.js';
import { get, post } from './api.js';
import { when } from './format.js';
import { header, section, pagedTable, field, input, onSubmit, secretOnce, actionButton } from './ui.js';

export function render(main, _params, ctx) {
  const result = h('div', { class: 'result', 'aria-live': 'polite' });
  const name = input({ name: 'name', placeholder: 'Acme Inc.', maxlength: 128 });
  const form = h('form', { class: 'inline-form', novalidate: true },
    field('name', 'Tenant name', name),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create tenant'));
  const list = pagedTable({
    caption: 'Tenants',
    load: (cursor) => get('/v1/tenants', { cursor }),
    emptyText: 'No tenants yet. Create the first one above: its admin key is shown once.',
    columns: [
      { title: 'Name', render: (t) => h('strong', {}, t.name) },
      { title: 'Id', render: (t) => h('code', {}, t.id) },
      { title: 'Created', render: (t) => when(t.created_at) },
      {
        title: 'Recovery', render: (t) => actionButton('New admin key', async () => {
          const key = await post(`/v1/tenants/${encodeURIComponent(t.id)}/recovery-key`);
          shown(`Recovery admin key for ${t.name}`, key.key);
        }, { confirm: `Issue a new admin key for "${t.name}"? Its other keys keep working; the issue is audited.`, into: result }),
      },
    ],
  });

  /** Signs in with the key just shown; a failure shows beside the button, the key stays. */
  function signInButton(key) {
    const slot = h('div');
    const button = actionButton('Sign in as this tenant', () => ctx.signInAs(key), { small: false, into: slot });
    button.classList.add('btn-primary');
    return h('div', {}, button, slot);
  }

  function shown(title, key) {
    replace(result, secretOnce({
      title,
      secret: key,
      warning: 'This admin key is shown once. Copy it and hand it to the tenant now.',
      extra: signInButton(key),
    }));
    result.scrollIntoView({ block: 'nearest' });
  }

  onSubmit(form, async () => {
    const created = await post('/v1/tenants', { name: name.value });
    shown(`Admin key for ${created.tenant.name}`, created.api_key.key);
    name.value = '';
    list.reload();
  });

  main.append(
    header('Tenants'),
    section('Create a tenant', form, result),
    section('All tenants', list.el));
}
