// The administration page's Channels section: connect channel accounts and edit them (settings,
// secrets, default queue, enabled), and sync a WhatsApp account's templates from Meta. Admins only
// (the server checks; this module is only loaded for them).
//
// The form is built from the channel catalog (GET …/channel-accounts/channels): every setting and
// secret each channel takes, with its label, type, default and help. The server stays the judge of
// what is valid; its reason (422) is shown under the form. Secrets are write-only: an edit shows
// which ones are stored and sends only the ones typed. Settings the form does not describe (a
// WhatsApp account's template list) are kept as they are on edit. Server text goes in with
// textContent, never as HTML; UI text comes through t() (the page's gettext catalogue), the
// catalog's English labels too.

const {
  api, t, $, errorText, show, announce, make, button,
} = await import(document.querySelector('meta[name="omniroute-admin"]').content);

const BASE = '/api/v1/admin/channel-accounts';
const TRUE = new Set(['1', 'true', 'yes', 'on']);

/** channel name -> the catalog entry {channel, title, settings, secrets, managed_settings, …} */
const kinds = new Map();
/** queue id -> name */
const queues = new Map();
/** The account being edited, or null while the form connects a new one. */
let editing = null;

const say = (text) => announce($('channels-status'), text);

/** An account that another admin removed meanwhile (our own reason, not the server's). */
class Gone extends Error {}
const reason = (error) => (error instanceof Gone ? error.message : errorText(error));

function isTrue(value) {
  return value === true || (typeof value === 'string' && TRUE.has(value.trim().toLowerCase()));
}

// -- the form's fields -------------------------------------------------------------------------

/** The help line of a field: its own text, then its default where that is a value to show. */
function helpText(field) {
  const parts = [];
  if (field.help) parts.push(t(field.help));
  if (field.default !== null && field.default !== '' && field.type !== 'boolean') {
    parts.push(t('Default: {value}', { value: String(field.default) }));
  }
  return parts.join(' ');
}

/** A label's text, with "(required)" on the ones the server requires. */
function labelText(field) {
  return field.required ? t('{label} (required)', { label: t(field.label) }) : t(field.label);
}

function describe(control, wrap, id, text) {
  if (!text) return;
  const help = make('p', {
    className: 'muted admin-help', id: `${id}-help`, textContent: text, dataset: { testid: `${id}-help` },
  });
  control.setAttribute('aria-describedby', help.id);
  wrap.append(help);
}

/** A setting's control, showing `value` (the account's, on edit). */
function settingField(field, value) {
  const id = `channel-settings-${field.key}`;
  const wrap = make('div', { className: 'field' });
  let control;
  if (field.type === 'boolean' && typeof field.default === 'boolean') {
    control = make('input', { type: 'checkbox', id });
    control.checked = value === undefined || value === null ? field.default : isTrue(value);
    wrap.append(make('label', { className: 'admin-check', htmlFor: id }, control,
      make('span', { textContent: labelText(field) })));
  } else {
    if (field.type === 'boolean') {
      // No fixed default (email's STARTTLS follows implicit TLS): "Automatic" leaves the key out.
      control = make('select', { id });
      control.append(
        make('option', { value: '', textContent: t('Automatic') }),
        make('option', { value: 'true', textContent: t('Yes') }),
        make('option', { value: 'false', textContent: t('No') }),
      );
      control.value = value === undefined || value === null || value === '' ? '' : String(isTrue(value));
    } else if (field.type === 'choice') {
      control = make('select', { id, required: field.required });
      if (!field.required) control.append(make('option', { value: '', textContent: t('(not set)') }));
      for (const choice of field.choices) control.append(make('option', { value: choice, textContent: choice }));
      control.value = value === undefined || value === null ? '' : String(value);
    } else {
      const type = { number: 'number', url: 'url', email: 'email' }[field.type] || 'text';
      control = make('input', {
        type, id, required: field.required, autocomplete: 'off', spellcheck: false,
      });
      if (type === 'number') control.step = '1';
      if (field.default !== null && field.default !== '') control.placeholder = String(field.default);
      control.value = value === undefined || value === null ? '' : String(value);
    }
    wrap.append(make('label', { htmlFor: id, textContent: labelText(field) }), control);
  }
  control.name = field.key;
  control.dataset.testid = id;
  control.dataset.kind = field.type;
  describe(control, wrap, id, helpText(field));
  return wrap;
}

/** A secret's password box; on edit it says whether one is stored (never its value). */
function secretField(field, stored) {
  const id = `channel-secrets-${field.key}`;
  const wrap = make('div', { className: 'field' });
  const input = make('input', {
    type: 'password', id, name: field.key, autocomplete: 'new-password', spellcheck: false,
    required: field.required && !stored,
  });
  input.dataset.testid = id;
  if (editing) input.placeholder = stored ? t('Stored: leave empty to keep') : t('Not set');
  wrap.append(make('label', { htmlFor: id, textContent: labelText(field) }), input);
  describe(input, wrap, id, field.help ? t(field.help) : '');
  if (editing && stored && !field.required) {
    const remove = make('input', { type: 'checkbox', id: `${id}-remove`, name: field.key });
    remove.dataset.testid = `${id}-remove`;
    remove.dataset.remove = 'true';
    wrap.append(make('label', { className: 'admin-check', htmlFor: remove.id }, remove,
      make('span', { textContent: t('Remove the stored {label}', { label: t(field.label) }) })));
  }
  return wrap;
}

function renderFields() {
  const kind = kinds.get($('channel-kind').value);
  const settings = editing ? editing.settings : {};
  const stored = new Set(editing ? editing.secrets_set : []);
  const boxes = {
    basic: $('channel-settings'), advanced: $('channel-advanced-settings'), secrets: $('channel-secrets'),
  };
  for (const box of Object.values(boxes)) box.querySelectorAll('.field').forEach((el) => el.remove());
  let openAdvanced = false;
  for (const field of kind ? kind.settings : []) {
    (field.advanced ? boxes.advanced : boxes.basic).append(settingField(field, settings[field.key]));
    if (field.advanced && settings[field.key] !== undefined) openAdvanced = true;
  }
  for (const field of kind ? kind.secrets : []) boxes.secrets.append(secretField(field, stored.has(field.key)));
  boxes.basic.hidden = !boxes.basic.querySelector('.field');
  $('channel-advanced').hidden = !boxes.advanced.querySelector('.field');
  $('channel-advanced').open = openAdvanced;
  boxes.secrets.hidden = !boxes.secrets.querySelector('.field');
}

/** The settings to send: `current` (the account's, on edit) with every described field as the form
 * has it; keys the form does not describe (WhatsApp templates) go back as they are. */
function readSettings(current = {}) {
  const kind = kinds.get($('channel-kind').value);
  const out = { ...current };
  for (const field of kind ? kind.settings : []) {
    const control = $(`channel-settings-${field.key}`);
    if (!control) continue;
    let value;
    if (control.type === 'checkbox') {
      // Only a choice that differs from the default is written down.
      value = control.checked === field.default ? undefined : control.checked;
    } else if (field.type === 'boolean') {
      value = control.value === '' ? undefined : control.value === 'true';
    } else {
      const text = control.value.trim();
      if (text === '') value = undefined;
      else if (field.type === 'number' && /^-?\d+$/.test(text)) value = Number(text);
      else value = text; // the server says what is wrong with it
    }
    if (value === undefined) delete out[field.key];
    else out[field.key] = value;
  }
  return out;
}

/** The secrets to send: those typed, and an empty value for those marked to be removed. */
function readSecrets() {
  const out = {};
  $('channel-secrets').querySelectorAll('input').forEach((input) => {
    if (input.dataset.remove) {
      if (input.checked) out[input.name] = '';
    } else if (input.value.trim()) {
      out[input.name] = input.value;
    }
  });
  return out;
}

function renderQueueOptions() {
  const select = $('channel-queue');
  select.replaceChildren(make('option', { value: '', textContent: t('None (the default queue)') }));
  for (const [id, name] of queues) select.append(make('option', { value: id, textContent: name }));
}

// -- create and edit ---------------------------------------------------------------------------

function formMode(account) {
  editing = account;
  const form = $('channel-form');
  form.dataset.mode = account ? 'edit' : 'create';
  show($('channel-form-error'), '');
  $('channel-kind').disabled = Boolean(account);
  $('channel-enabled-row').hidden = !account;
  $('channel-secrets-keep').hidden = !account;
  $('channel-cancel').hidden = !account;
  $('channel-submit').textContent = account ? t('Save changes') : t('Connect');
  $('channel-form-heading').textContent = account
    ? t('Edit “{name}”', { name: account.name })
    : t('Connect a channel');
  if (account) {
    $('channel-kind').value = account.channel;
    $('channel-name').value = account.name;
    $('channel-queue').value = queues.has(account.default_queue_id) ? account.default_queue_id : '';
    $('channel-enabled').checked = account.enabled;
  } else {
    $('channel-name').value = '';
    $('channel-queue').value = '';
  }
  renderFields();
}

/** The account as the server has it now (a template sync may have changed it since the list was read). */
async function fresh(accountId) {
  const found = (await api.get(BASE)).find((a) => a.id === accountId);
  if (!found) throw new Gone(t('This account no longer exists.'));
  return found;
}

async function startEdit(account) {
  try {
    formMode(await fresh(account.id));
  } catch (e) {
    say(reason(e));
    return;
  }
  $('channel-form').scrollIntoView({ block: 'start' });
  $('channel-name').focus();
}

async function submit(event) {
  event.preventDefault();
  const error = $('channel-form-error');
  show(error, '');
  const submitButton = $('channel-submit');
  submitButton.disabled = true;
  const queue = $('channel-queue').value;
  try {
    if (editing) {
      const body = {
        name: $('channel-name').value,
        // Merged onto the settings as they are now, so a change made meanwhile is not undone.
        settings: readSettings((await fresh(editing.id)).settings),
        secrets: readSecrets(),
        enabled: $('channel-enabled').checked,
      };
      if (queue) body.default_queue_id = queue;
      else body.clear_default_queue = true;
      const saved = await api.request('PATCH', `${BASE}/${encodeURIComponent(editing.id)}`, body);
      formMode(null);
      say(t('{name} saved.', { name: saved.name }));
    } else {
      const created = await api.post(BASE, {
        channel: $('channel-kind').value,
        name: $('channel-name').value,
        settings: readSettings(),
        secrets: readSecrets(),
        default_queue_id: queue || null,
      });
      formMode(null);
      say(t('{name} connected. Give the provider this webhook URL: {url}', {
        name: created.name, url: created.webhook_url,
      }));
    }
    await loadAccounts();
  } catch (e) {
    show(error, reason(e));
  } finally {
    submitButton.disabled = false;
  }
}

// -- the list ----------------------------------------------------------------------------------

function row(account) {
  const kind = kinds.get(account.channel);
  const tr = make('tr', { dataset: { testid: 'channel-account', accountId: account.id } });
  const cells = [
    account.name,
    kind ? kind.title : account.channel,
    account.default_queue_id ? queues.get(account.default_queue_id) || account.default_queue_id : '—',
    account.webhook_url,
    account.secrets_set.join(', ') || '—',
    account.enabled ? t('enabled') : t('disabled'),
  ];
  for (const text of cells) tr.append(make('td', { textContent: text }));
  tr.children[2].dataset.testid = 'channel-queue-name';
  tr.children[3].className = 'admin-mono';
  tr.children[5].dataset.testid = 'channel-state';
  const actions = make('td', { className: 'admin-channel-actions' }); // buttons wrap in a narrow table
  if (kind) {
    actions.append(button(t('Edit'), 'channel-edit', () => startEdit(account),
      t('Edit {name}', { name: account.name })), ' ');
  }
  const toggle = button(account.enabled ? t('Disable') : t('Enable'), 'channel-toggle',
    () => setEnabled(account, !account.enabled),
    account.enabled ? t('Disable {name}', { name: account.name }) : t('Enable {name}', { name: account.name }));
  actions.append(toggle);
  if (account.channel === 'whatsapp') actions.append(' ', syncButton(account));
  tr.append(actions);
  return tr;
}

/** WhatsApp: read the approved templates from Meta (the account's waba_id) into its settings. */
function syncButton(account) {
  const sync = button(t('Sync templates'), 'channel-sync-templates', async () => {
    sync.disabled = true;
    try {
      const result = await api.post(`${BASE}/${encodeURIComponent(account.id)}/whatsapp/templates/sync`);
      const skipped = result.skipped.map((s) => `${s.name} (${s.language}): ${s.reason}`);
      say(skipped.length
        ? t('{name}: {kept} approved template(s) kept; skipped {skipped}', {
          name: account.name, kept: result.kept.length, skipped: skipped.join('; '),
        })
        : t('{name}: {kept} approved template(s) kept.', { name: account.name, kept: result.kept.length }));
      await loadAccounts();
    } catch (e) {
      say(t('Templates not synced: {reason}', { reason: errorText(e) }));
    } finally {
      sync.disabled = false;
    }
  }, t('Sync the WhatsApp templates of {name}', { name: account.name }));
  return sync;
}

async function setEnabled(account, enabled) {
  try {
    const saved = await api.request('PATCH', `${BASE}/${encodeURIComponent(account.id)}`, { enabled });
    say(t('{name} saved.', { name: saved.name }));
    await loadAccounts();
  } catch (e) {
    say(t('Not saved: {reason}', { reason: errorText(e) }));
  }
}

async function loadAccounts() {
  const accounts = await api.get(BASE);
  $('channel-account-rows').replaceChildren(...accounts.map(row));
  $('channels-empty').hidden = accounts.length > 0;
  if (editing) {
    // Keep editing the fresh copy (an enable/disable or a template sync meanwhile).
    editing = accounts.find((a) => a.id === editing.id) || null;
    if (!editing) formMode(null);
  }
}

async function start() {
  const [catalog, queueList] = await Promise.all([api.get(`${BASE}/channels`), api.get('/api/v1/queues')]);
  for (const kind of catalog) kinds.set(kind.channel, kind);
  for (const queue of queueList) queues.set(queue.id, queue.name);
  const select = $('channel-kind');
  for (const kind of kinds.values()) select.append(make('option', { value: kind.channel, textContent: kind.title }));
  renderQueueOptions();
  select.addEventListener('change', renderFields);
  $('channel-form').addEventListener('submit', submit);
  $('channel-cancel').addEventListener('click', () => {
    formMode(null);
    $('channel-form-heading').focus();
  });
  formMode(null);
  await loadAccounts();
  $('channels').dataset.ready = 'true';
}

start().catch((e) => say(t('Channels could not load: {reason}', { reason: errorText(e) })));
