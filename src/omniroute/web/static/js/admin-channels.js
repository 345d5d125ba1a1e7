// The administration page's Channels section: connect channel accounts, rotate a secret,
// enable or disable an account, sync a WhatsApp account's templates from Meta. Admins only (the
// server checks; this module is only loaded for them). Server text goes in with textContent,
// never as HTML.

const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
const { ApiClient, ApiError } = await import(meta('omniroute-client'));

const api = new ApiClient({
  csrfToken: meta('csrf-token'),
  onUnauthorized: () => location.assign('/login?next=/admin'),
});
const $ = (id) => document.getElementById(id);
const BASE = '/api/v1/admin/channel-accounts';

/** channel name -> {channel, title, required_settings, required_secrets} */
const kinds = new Map();

function errorText(error) {
  return error instanceof ApiError ? error.message : 'Something went wrong.';
}

function showError(el, error) {
  el.textContent = errorText(error);
  el.hidden = false;
}

function say(text) {
  const el = $('channels-status');
  el.textContent = '';
  requestAnimationFrame(() => {
    el.textContent = text;
  });
}

function field(container, prefix, name, secret) {
  const wrap = document.createElement('div');
  wrap.className = 'field';
  const label = document.createElement('label');
  const input = document.createElement('input');
  input.id = `${prefix}-${name}`;
  input.name = name;
  input.required = true;
  input.autocomplete = 'off';
  input.spellcheck = false;
  input.dataset.testid = `${prefix}-${name}`;
  if (secret) input.type = 'password';
  label.htmlFor = input.id;
  label.textContent = name.replaceAll('_', ' ');
  wrap.append(label, input);
  container.append(wrap);
}

function renderFields() {
  const kind = kinds.get($('channel-kind').value);
  for (const [id, names, secret] of [
    ['channel-settings', kind ? kind.required_settings : [], false],
    ['channel-secrets', kind ? kind.required_secrets : [], true],
  ]) {
    const box = $(id);
    box.querySelectorAll('.field').forEach((el) => el.remove());
    for (const name of names) field(box, id, name, secret);
    box.hidden = names.length === 0;
  }
}

function values(boxId) {
  const out = {};
  $(boxId)
    .querySelectorAll('input')
    .forEach((input) => {
      if (input.value) out[input.name] = input.value;
    });
  return out;
}

function row(account) {
  const tr = document.createElement('tr');
  tr.dataset.testid = 'channel-account';
  tr.dataset.accountId = account.id;
  const cells = [
    account.name,
    kinds.get(account.channel)?.title || account.channel,
    account.webhook_url,
    account.secrets_set.join(', ') || '—',
    account.enabled ? 'enabled' : 'disabled',
  ];
  for (const text of cells) {
    const td = document.createElement('td');
    td.textContent = text;
    tr.append(td);
  }
  tr.children[2].className = 'admin-mono';
  tr.children[4].dataset.testid = 'channel-state';
  const actions = document.createElement('td');
  const toggle = document.createElement('button');
  toggle.type = 'button';
  toggle.className = 'button';
  toggle.dataset.testid = 'channel-toggle';
  toggle.textContent = account.enabled ? 'Disable' : 'Enable';
  toggle.setAttribute('aria-label', `${toggle.textContent} ${account.name}`);
  toggle.addEventListener('click', () => update(account, { enabled: !account.enabled }));
  const rotate = document.createElement('button');
  rotate.type = 'button';
  rotate.className = 'button';
  rotate.textContent = 'Rotate a secret';
  rotate.setAttribute('aria-label', `Rotate a secret of ${account.name}`);
  rotate.addEventListener('click', () => {
    const name = prompt(`Which secret? (${account.secrets_set.join(', ')})`);
    if (!name) return;
    const value = prompt(`New value for ${name} (or env:NAME)`);
    if (value) update(account, { secrets: { [name]: value } });
  });
  actions.append(toggle, ' ', rotate);
  if (account.channel === 'whatsapp') actions.append(' ', syncButton(account));
  tr.append(actions);
  return tr;
}

/** WhatsApp: read the approved templates from Meta (the account's waba_id) into its settings. */
function syncButton(account) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'button';
  button.dataset.testid = 'channel-sync-templates';
  button.textContent = 'Sync templates';
  button.setAttribute('aria-label', `Sync the WhatsApp templates of ${account.name}`);
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const result = await api.post(`${BASE}/${account.id}/whatsapp/templates/sync`);
      const skipped = result.skipped.map((s) => `${s.name} (${s.language}): ${s.reason}`);
      say(`${account.name}: ${result.kept.length} approved template(s) kept`
        + (skipped.length ? `; skipped ${skipped.join('; ')}` : '.'));
      await loadAccounts();
    } catch (e) {
      say(`Templates not synced: ${errorText(e)}`);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

async function update(account, patch) {
  try {
    const saved = await api.request('PATCH', `${BASE}/${account.id}`, patch);
    say(`${saved.name} saved.`);
    await loadAccounts();
  } catch (e) {
    say(`Not saved: ${errorText(e)}`);
  }
}

async function loadAccounts() {
  const accounts = await api.get(BASE);
  const body = $('channel-account-rows');
  body.replaceChildren(...accounts.map(row));
  $('channels-empty').hidden = accounts.length > 0;
}

async function start() {
  for (const kind of await api.get(`${BASE}/channels`)) kinds.set(kind.channel, kind);
  const select = $('channel-kind');
  for (const kind of kinds.values()) {
    const option = document.createElement('option');
    option.value = kind.channel;
    option.textContent = kind.title;
    select.append(option);
  }
  select.addEventListener('change', renderFields);
  renderFields();
  $('channel-create').addEventListener('submit', async (event) => {
    event.preventDefault();
    const error = $('channel-create-error');
    error.hidden = true;
    try {
      const created = await api.post(BASE, {
        channel: select.value,
        name: $('channel-name').value,
        settings: values('channel-settings'),
        secrets: values('channel-secrets'),
      });
      event.target.reset();
      renderFields();
      say(`${created.name} connected. Give the provider this webhook URL: ${created.webhook_url}`);
      await loadAccounts();
    } catch (e) {
      showError(error, e);
    }
  });
  await loadAccounts();
  $('channels').dataset.ready = 'true';
}

start().catch((e) => say(`Channels could not load: ${errorText(e)}`));
