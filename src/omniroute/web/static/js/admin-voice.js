// The voice providers page (/admin/voice): list, create and edit CCaaS providers, rotate a
// provider's API token, map agents. Administrators only; /api/v1/admin/voice-providers enforces
// every rule and this page mirrors them. The API token and a generated webhook secret are shown
// once (after creating, or rotating the token) and never read back. Server text goes in with
// textContent, never as HTML. UI text comes from the page's gettext catalogue through t().

const { api, t, $, enc, errorText, show, announce, make, button, fieldError } = await import(
  document.querySelector('meta[name="omniroute-admin"]').content
);

const BASE = '/api/v1/admin/voice-providers';
const MAX_CUSTOM_BYTES = 8 * 1024;
const FEATURE_LABELS = {
  click_to_dial: () => t('Click to dial'),
  screen_pop: () => t('Screen pop'),
  presence_sync: () => t('Presence sync'),
  recordings: () => t('Recordings'),
  transcripts: () => t('Transcripts'),
  routes_calls: () => t('Omniroute routes the calls'),
};

const state = { providers: [], users: [], editing: null, mapping: null };

const say = (text) => announce($('voice-status'), text);

/** A JSON object from a textarea, or an error message. */
function jsonObject(text, { maxBytes } = {}) {
  let value;
  try {
    value = JSON.parse(text.trim() || '{}');
  } catch {
    return { error: t('Not valid JSON.') };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { error: t('Write a JSON object: {"name": "value"}.') };
  }
  if (maxBytes && new TextEncoder().encode(JSON.stringify(value)).length > maxBytes) {
    return { error: t('At most {max} bytes as JSON.', { max: maxBytes }) };
  }
  return { value };
}

// -- secrets, shown once ---------------------------------------------------------------------------

function showSecrets(provider, apiToken, webhookSecret) {
  $('secrets').hidden = false;
  $('secrets').querySelector('[data-testid="secret-provider"]').textContent = provider.name;
  $('secrets').querySelector('[data-testid="secret-webhook-url"]').textContent = provider.webhook_url;
  $('secrets').querySelector('[data-testid="secret-api-token"]').textContent = apiToken;
  const secret = $('secrets').querySelector('[data-testid="secret-webhook-secret"]');
  secret.textContent = webhookSecret || '';
  secret.parentElement.hidden = !webhookSecret;
  $('secrets').querySelector('[data-testid="secret-webhook-secret-label"]').hidden = !webhookSecret;
  $('secrets-heading').focus();
}

function hideSecrets() {
  for (const code of $('secrets').querySelectorAll('code')) code.textContent = '';
  $('secrets').hidden = true;
}

// -- the list --------------------------------------------------------------------------------------

function providerRow(p) {
  const tr = make('tr', { dataset: { testid: 'voice-row', providerId: p.id } });
  const cells = [
    [String(p.sort_order), 'voice-row-order'],
    [p.name, 'voice-row-name'],
    [p.kind, 'voice-row-kind'],
    [p.features.map((f) => (FEATURE_LABELS[f] ? FEATURE_LABELS[f]() : f)).join(', ') || '—', 'voice-row-features'],
    [p.enabled ? t('Enabled') : t('Disabled'), 'voice-row-status'],
  ];
  for (const [text, testid] of cells) tr.append(make('td', { textContent: text, dataset: { testid } }));
  const actions = make('td', { className: 'admin-row-actions' });
  actions.append(
    button(t('Edit'), 'voice-edit', () => editProvider(p), t('Edit {name}', { name: p.name })),
    ' ',
    button(t('New API token'), 'voice-rotate', () => rotateToken(p), t('New API token for {name}', { name: p.name })),
  );
  tr.append(actions);
  return tr;
}

function renderProviders() {
  $('voice-rows').replaceChildren(...state.providers.map(providerRow));
  $('voice-empty').hidden = state.providers.length > 0;
  const select = $('map-provider');
  const chosen = state.mapping || select.value;
  select.replaceChildren(...state.providers.map((p) => make('option', { value: p.id, textContent: p.name })));
  if (chosen && state.providers.some((p) => p.id === chosen)) select.value = chosen;
  state.mapping = select.value || null;
}

async function loadProviders() {
  state.providers = await api.get(BASE);
  renderProviders();
  await loadLinks();
}

async function rotateToken(p) {
  hideSecrets();
  try {
    const { api_token: token } = await api.post(`${BASE}/${enc(p.id)}/api-token`, {});
    showSecrets(p, token, null);
    say(t('A new API token for {name}: the previous one no longer works.', { name: p.name }));
  } catch (error) {
    show($('load-error'), errorText(error));
  }
}

// -- create and edit -------------------------------------------------------------------------------

function form() {
  return $('vp-form');
}

function checkedFeatures() {
  return [...form().querySelectorAll('input[name="features"]:checked')].map((i) => i.value);
}

function resetForm() {
  state.editing = null;
  form().reset();
  $('vp-settings').value = '{}';
  $('vp-custom').value = '{}';
  $('vp-kind').disabled = false;
  $('vp-enabled-label').hidden = true;
  fieldError($('vp-settings'), $('vp-settings-error'), '');
  fieldError($('vp-custom'), $('vp-custom-error'), '');
  show($('vp-error'), '');
  $('vp-form-heading').textContent = t('New provider');
  $('vp-submit').textContent = t('Create provider');
  $('vp-cancel').hidden = true;
  $('vp-secret-help').textContent = t('Twilio: the account’s auth token (required). Others: leave empty to have one generated and shown once. env:NAME reads the environment variable NAME.');
}

function editProvider(p) {
  resetForm();
  state.editing = p;
  $('vp-name').value = p.name;
  $('vp-kind').value = p.kind;
  $('vp-kind').disabled = true;
  $('vp-softphone').value = p.softphone_url;
  $('vp-origin').value = p.trusted_origin;
  $('vp-presence').value = p.presence_url || '';
  $('vp-order').value = String(p.sort_order);
  $('vp-by-user').checked = p.agents_by_user_id;
  $('vp-enabled-label').hidden = false;
  $('vp-enabled').checked = p.enabled;
  for (const box of form().querySelectorAll('input[name="features"]')) box.checked = p.features.includes(box.value);
  $('vp-settings').value = JSON.stringify(p.settings, null, 2);
  $('vp-custom').value = JSON.stringify(p.custom_parameters, null, 2);
  $('vp-secret-help').textContent = t('Leave empty to keep the stored secret; a new value replaces it.');
  $('vp-form-heading').textContent = t('Edit “{name}”', { name: p.name });
  $('vp-submit').textContent = t('Save changes');
  $('vp-cancel').hidden = false;
  $('vp-form-heading').focus();
}

async function submitProvider(event) {
  event.preventDefault();
  show($('vp-error'), '');
  const settings = jsonObject($('vp-settings').value);
  const custom = jsonObject($('vp-custom').value, { maxBytes: MAX_CUSTOM_BYTES });
  const ok = [
    fieldError($('vp-settings'), $('vp-settings-error'), settings.error || ''),
    fieldError($('vp-custom'), $('vp-custom-error'), custom.error || ''),
  ].every(Boolean);
  if (!ok) return;
  const order = Number.parseInt($('vp-order').value || '0', 10);
  const body = {
    name: $('vp-name').value.trim(),
    softphone_url: $('vp-softphone').value.trim(),
    trusted_origin: $('vp-origin').value.trim() || null,
    features: checkedFeatures(),
    sort_order: Number.isFinite(order) ? order : 0,
    agents_by_user_id: $('vp-by-user').checked,
    settings: settings.value,
    custom_parameters: custom.value,
  };
  const presence = $('vp-presence').value.trim();
  const secret = $('vp-secret').value;
  try {
    if (state.editing) {
      const patch = { ...body, enabled: $('vp-enabled').checked };
      if (presence) patch.presence_url = presence;
      else patch.clear_presence_url = true;
      if (secret) patch.webhook_secret = secret;
      const saved = await api.request('PATCH', `${BASE}/${enc(state.editing.id)}`, patch);
      say(t('Saved {name}.', { name: saved.name }));
    } else {
      const made = await api.post(BASE, {
        ...body, kind: $('vp-kind').value, presence_url: presence || null, webhook_secret: secret || null,
      });
      showSecrets(made, made.api_token, made.webhook_secret);
      say(t('Created {name}.', { name: made.name }));
    }
    resetForm();
    await loadProviders();
  } catch (error) {
    show($('vp-error'), errorText(error));
  }
}

// -- agent mapping ---------------------------------------------------------------------------------

function userName(id) {
  const user = state.users.find((u) => u.id === id);
  return user ? `${user.display_name} (${user.email})` : id;
}

async function loadLinks() {
  show($('map-error'), '');
  const providerId = $('map-provider').value;
  state.mapping = providerId || null;
  $('map-form').hidden = !providerId;
  if (!providerId) {
    $('map-rows').replaceChildren();
    $('map-empty').hidden = false;
    return;
  }
  const links = await api.get(`${BASE}/${enc(providerId)}/agents`);
  $('map-rows').replaceChildren(...links.map((link) => {
    const tr = make('tr', { dataset: { testid: 'map-row', userId: link.user_id } });
    tr.append(
      make('td', { textContent: userName(link.user_id) }),
      make('td', { textContent: link.external_id, dataset: { testid: 'map-row-external' } }),
      make('td', { className: 'admin-row-actions' }, button(t('Remove'), 'map-remove', async () => {
        try {
          await api.request('DELETE', `${BASE}/${enc(providerId)}/agents/${enc(link.user_id)}`);
          await loadLinks();
        } catch (error) {
          show($('map-error'), errorText(error));
        }
      }, t('Remove the mapping of {name}', { name: userName(link.user_id) }))),
    );
    return tr;
  }));
  $('map-empty').hidden = links.length > 0;
}

async function submitLink(event) {
  event.preventDefault();
  show($('map-error'), '');
  const providerId = $('map-provider').value;
  const external = $('map-external').value.trim();
  if (!external) {
    show($('map-error'), t('Give the agent’s id at the provider.'));
    return;
  }
  try {
    await api.put(`${BASE}/${enc(providerId)}/agents/${enc($('map-user').value)}`, { external_id: external });
    $('map-external').value = '';
    await loadLinks();
  } catch (error) {
    show($('map-error'), errorText(error));
  }
}

async function loadUsers() {
  state.users = await api.get('/api/v1/admin/users');
  $('map-user').replaceChildren(...state.users
    .filter((u) => u.role !== 'admin')
    .map((u) => make('option', { value: u.id, textContent: `${u.display_name} (${u.email})` })));
}

form().addEventListener('submit', submitProvider);
$('vp-cancel').addEventListener('click', resetForm);
$('secrets-done').addEventListener('click', hideSecrets);
$('map-provider').addEventListener('change', () => loadLinks().catch((e) => show($('map-error'), errorText(e))));
$('map-form').addEventListener('submit', submitLink);

try {
  await loadUsers();
  await loadProviders();
  document.body.dataset.ready = 'true';
} catch (error) {
  show($('load-error'), errorText(error));
}
