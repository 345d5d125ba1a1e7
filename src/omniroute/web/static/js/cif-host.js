// The workspace side of Omniroute CIF: mounts each voice provider's softphone in a panel and
// answers what the softphone asks through omniroute-cif.js.
//
//   import { mountVoicePanel } from './cif-host.js';
//   const voice = mountVoicePanel(element, { providers, api, agent, locale, sessions, tabs, t });
//   socket handler: 'presence.changed': (f) => voice.presenceChanged(f)
//
// Trust: a message is heard only when it comes from a provider's own iframe window *and* from
// that provider's trusted origin (both, so another frame of the same origin cannot speak for it,
// and a navigated frame cannot keep speaking). Replies go to that origin only. Provider pages act
// with the signed-in agent's rights, through the same REST API the workspace uses, and only on
// customers, cases and phone-call activities. Features the administrator did not enable for the
// provider (screen pop, click-to-dial) are refused with the reason.
//
// What the workspace owns (sessions, tabs, opening records) it lends through callbacks; a
// missing callback makes the request fail with `not_supported`, never a pretend success. Without
// `onScreenPop`/`openForm`, the panel shows its own caller card and quick-create form.

export const PROTOCOL = 'omniroute-cif';
const VERSION = 1;
const MODES = ['minimised', 'docked', 'hidden'];
const MIN_WIDTH = 240;
const MAX_WIDTH = 720;
const MAX_NOTIFICATIONS = 10; // CIF rejects notifications beyond ten waiting ones
const DEFAULT_TIMEOUT_SECONDS = 30;
let mounted = 0; // element ids stay unique when a page mounts several panels

/**
 * Built-in notification templates, in the agent's language (`t` is the page's translator; the
 * literal calls are what `pybabel extract` finds); `notifyEvent` may also pass its own.
 */
export function notificationTemplates(t = defaultT) {
  return {
    'incoming-call': {
      title: t('Incoming call'),
      fields: { from: t('From'), customer: t('Customer'), queue: t('Queue'), ivr: t('IVR') },
      accept: t('Accept'),
      reject: t('Decline'),
      timeoutSeconds: 30,
    },
    'incoming-callback': {
      title: t('Callback request'),
      fields: { to: t('Call'), customer: t('Customer'), queue: t('Queue') },
      accept: t('Call now'),
      reject: t('Skip'),
      timeoutSeconds: 60,
    },
    message: { title: t('Message'), fields: { text: '' }, accept: t('OK'), reject: null, timeoutSeconds: 15 },
  };
}

/** Entity names the SDK accepts, with CIF's (Dynamics) names as aliases. */
const ENTITIES = {
  customer: 'customer',
  contact: 'customer',
  account: 'customer',
  case: 'case',
  incident: 'case',
  phonecall: 'phonecall',
  phone_call: 'phonecall',
  call: 'phonecall',
};

class HostError extends Error {
  constructor(code, message, details) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

const notSupported = (what) => new HostError('not_supported', `${what} is not supported by this workspace.`);

function entityOf(name) {
  const entity = ENTITIES[String(name || '').toLowerCase()];
  if (!entity) {
    throw new HostError('invalid', `unknown entity ${JSON.stringify(name)}; use customer, case or phonecall`);
  }
  return entity;
}

function plain(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {};
}

function segment(id) {
  if (typeof id !== 'string' || !id || id.length > 200) throw new HostError('invalid', 'a record id is required');
  return encodeURIComponent(id);
}

/** The REST error as a CIF error code the provider's page can act on. */
function fromApiError(error) {
  if (error instanceof HostError) return error;
  const status = typeof error.status === 'number' ? error.status : -1;
  const codes = { 0: 'network', 400: 'invalid', 401: 'signed_out', 403: 'forbidden', 404: 'not_found', 409: 'conflict', 422: 'invalid' };
  return new HostError(codes[status] || 'failed', error.message || 'The request failed.', { status });
}

/** `"?phone=+1555…"`, `"phone=…"`, `{ phone }`, or a plain number or name. */
function parseQuery(query) {
  if (query && typeof query === 'object') return plain(query);
  const text = String(query || '').trim();
  if (/^\??[a-z_]+=/i.test(text)) {
    const params = new URLSearchParams(text.replace(/^\?/, ''));
    return Object.fromEntries(params.entries());
  }
  return /^[+\d][\d\s().-]{5,}$/.test(text) ? { phone: text } : { text };
}

function defaultT(text, vars) {
  return vars ? text.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`)) : text;
}

const STYLE = `
.ocif-panel{display:flex;flex-direction:column;width:var(--ocif-width,360px);min-height:0;height:100%;
  box-sizing:border-box;border-left:1px solid #d0d5dd;background:#fff;font:inherit}
.ocif-panel[hidden]{display:none}
.ocif-panel[data-mode="minimised"]{width:auto}
.ocif-panel[data-mode="minimised"] .ocif-body{display:none}
.ocif-head{display:flex;align-items:center;gap:.5rem;padding:.4rem .6rem;border-bottom:1px solid #d0d5dd}
.ocif-title{font-size:1rem;margin:0;flex:1}
.ocif-tabs{display:flex;gap:.25rem}
.ocif-tabs button[aria-selected="true"]{font-weight:bold}
.ocif-notes{list-style:none;margin:0;padding:0}
.ocif-note{margin:.4rem;padding:.5rem .6rem;border:1px solid #98a2b3;border-radius:6px;background:#f8fafc}
.ocif-note dl{display:grid;grid-template-columns:auto 1fr;gap:.1rem .6rem;margin:.3rem 0}
.ocif-note dt{color:#475467}.ocif-note dd{margin:0}
.ocif-note-actions{display:flex;gap:.4rem}
.ocif-body{display:flex;flex-direction:column;flex:1;min-height:0}
.ocif-record{margin:.4rem;padding:.5rem .6rem;border:1px solid #d0d5dd;border-radius:6px}
.ocif-record h3{margin:0 0 .3rem;font-size:1rem}
.ocif-record form{display:grid;gap:.3rem}
.ocif-record ul{margin:.3rem 0;padding-left:1.1rem}
.ocif-error{color:#b42318}
.ocif-frames{flex:1;min-height:420px;display:flex}
.ocif-frames iframe{flex:1;border:0;width:100%;min-height:420px}
.ocif-frame{flex:1;display:flex}
.ocif-frame[hidden],.ocif-tabs[hidden]{display:none}
.ocif-tabs [role="tab"]:focus-visible{outline:2px solid currentColor;outline-offset:2px}
`;

function installStyle(doc) {
  if (doc.querySelector('style[data-ocif]')) return;
  const style = doc.createElement('style');
  style.dataset.ocif = '';
  style.textContent = STYLE;
  doc.head.append(style);
}

/**
 * Mount the voice panel in `element` and start answering the softphones.
 *
 * options:
 *   providers   the enabled providers (GET /api/v1/voice/providers), any order
 *   api         { request(method, path, body) } with the agent's session (omniroute-client ApiClient)
 *   agent       { id, name, email } the signed-in agent; locale: the workspace language
 *   sessions    { canCreate, create, get, getAll, getFocused, focus, setTitle } (optional each)
 *   tabs        { create, focus, close, getFocused } (optional each)
 *   onScreenPop(result, provider)   open what a search found; default: the panel's caller card
 *   openRecord({ entity, id, record }, provider)   default: the panel's record card
 *   openForm({ entity, data }, provider)   default: the panel's quick-create form (customers)
 *   onModeChange(mode, width)   the workspace re-lays itself out
 *   onNotification({ title, provider })   e.g. play the offer sound
 *   customParameters { [providerId]: object } handed to the softphone in getEnvironment
 *   mode ('docked'), width (360), t (the workspace's translate function)
 */
export function mountVoicePanel(element, options = {}) {
  const doc = element.ownerDocument;
  const win = doc.defaultView;
  const api = options.api;
  const t = options.t || defaultT;
  const builtIn = notificationTemplates(t);
  const sessions = options.sessions || {};
  const tabs = options.tabs || {};
  const providers = [...(options.providers || [])].sort(
    (a, b) => (a.sort_order || 0) - (b.sort_order || 0) || String(a.name).localeCompare(String(b.name)),
  );
  let mode = MODES.includes(options.mode) ? options.mode : 'docked';
  let width = clampWidth(options.width || 360);
  let active = null;
  let destroyed = false;
  let ignored = 0; // protocol messages refused by the origin check (for support and tests)

  installStyle(doc);
  element.replaceChildren();
  const panel = doc.createElement('section');
  panel.className = 'ocif-panel';
  panel.setAttribute('aria-label', t('Phone'));
  panel.dataset.testid = 'voice-panel';
  panel.innerHTML = `
    <header class="ocif-head">
      <h2 class="ocif-title"></h2>
      <div class="ocif-tabs" role="tablist"></div>
      <button type="button" class="button button-small ocif-toggle" data-testid="voice-panel-toggle"></button>
    </header>
    <ol class="ocif-notes" aria-live="assertive" data-testid="voice-notifications"></ol>
    <div class="ocif-body">
      <div class="ocif-record" data-testid="voice-record" aria-live="polite" hidden></div>
      <div class="ocif-frames"></div>
    </div>`;
  panel.querySelector('.ocif-title').textContent = t('Phone');
  element.append(panel);
  const els = {
    tabs: panel.querySelector('.ocif-tabs'),
    toggle: panel.querySelector('.ocif-toggle'),
    notes: panel.querySelector('.ocif-notes'),
    record: panel.querySelector('.ocif-record'),
    frames: panel.querySelector('.ocif-frames'),
  };
  els.toggle.addEventListener('click', () => setMode(mode === 'docked' ? 'minimised' : 'docked', true));

  /** providerId → { provider, frame, holder, tab, origin, clickToAct, notes: Map(token → note) } */
  const states = new Map();
  mounted += 1;
  const idBase = `ocif-${mounted}`;
  els.tabs.setAttribute('aria-label', t('Phone'));
  for (const [index, provider] of providers.entries()) {
    const frame = doc.createElement('iframe');
    frame.title = provider.name;
    frame.dataset.testid = 'voice-softphone';
    frame.dataset.providerId = provider.id;
    // Scripts and its own origin (cookies) yes; navigating the workspace away, no.
    frame.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-forms allow-popups allow-popups-to-escape-sandbox');
    frame.setAttribute('allow', 'microphone; autoplay; clipboard-write');
    frame.referrerPolicy = 'origin';
    frame.hidden = true;
    // Each softphone sits in its own tab panel; with several providers, tabs choose between them
    // (the ARIA tabs pattern: one tab stop, arrows move between tabs).
    const holder = doc.createElement('div');
    holder.className = 'ocif-frame';
    holder.id = `${idBase}-panel-${index}`;
    holder.dataset.testid = 'voice-tabpanel';
    holder.hidden = true;
    holder.append(frame);
    let tab = null;
    if (providers.length > 1) {
      tab = doc.createElement('button');
      tab.type = 'button';
      tab.id = `${idBase}-tab-${index}`;
      tab.setAttribute('role', 'tab');
      tab.setAttribute('aria-controls', holder.id);
      tab.setAttribute('aria-selected', 'false');
      tab.tabIndex = -1;
      tab.textContent = provider.name;
      tab.dataset.providerId = provider.id;
      tab.dataset.testid = 'voice-tab';
      tab.addEventListener('click', () => activate(provider.id));
      els.tabs.append(tab);
      holder.setAttribute('role', 'tabpanel');
      holder.setAttribute('aria-labelledby', tab.id);
    }
    states.set(provider.id, {
      provider, frame, holder, tab, origin: provider.trusted_origin, clickToAct: false, notes: new Map(),
    });
    els.frames.append(holder);
  }
  els.tabs.hidden = providers.length < 2;
  els.tabs.addEventListener('keydown', onTabKey);
  // The listener exists before any frame loads, so no hello is missed.
  win.addEventListener('message', onMessage);
  doc.addEventListener('click', onDocumentClick, true);
  for (const state of states.values()) state.frame.src = state.provider.softphone_url;
  if (providers.length) activate(providers[0].id);
  else panel.hidden = true;
  applyMode();

  // -- panel ----------------------------------------------------------------------------------

  function clampWidth(value) {
    const n = Math.round(Number(value));
    if (!Number.isFinite(n)) throw new HostError('invalid', 'width must be a number of pixels');
    return Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, n));
  }

  function applyMode() {
    panel.dataset.mode = mode;
    panel.hidden = mode === 'hidden' || providers.length === 0;
    panel.style.setProperty('--ocif-width', `${width}px`);
    els.toggle.textContent = mode === 'docked' ? t('Minimise') : t('Expand');
    els.toggle.setAttribute('aria-expanded', String(mode === 'docked'));
  }

  function setMode(next, byUser = false) {
    if (!MODES.includes(next)) throw new HostError('invalid', `mode must be one of ${MODES.join(', ')}`);
    if (next === mode) return mode;
    mode = next;
    applyMode();
    broadcast('modeChanged', { mode, byUser });
    options.onModeChange?.(mode, width);
    return mode;
  }

  function setWidth(value) {
    width = clampWidth(value);
    applyMode();
    broadcast('widthChanged', { width });
    options.onModeChange?.(mode, width);
    return width;
  }

  function activate(providerId) {
    active = providerId;
    for (const [id, state] of states) {
      const chosen = id === providerId;
      state.frame.hidden = !chosen;
      state.holder.hidden = !chosen;
      if (state.tab) {
        state.tab.setAttribute('aria-selected', String(chosen));
        state.tab.tabIndex = chosen ? 0 : -1;
      }
    }
  }

  /** Left/Right (and Up/Down), Home and End move between the providers' tabs and show them. */
  function onTabKey(event) {
    const tabs = [...els.tabs.querySelectorAll('[role="tab"]')];
    const at = tabs.indexOf(event.target);
    if (at < 0) return;
    const moves = {
      ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: tabs.length - 1,
    };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = tabs[(moves[event.key] + tabs.length) % tabs.length];
    activate(next.dataset.providerId);
    next.focus();
  }

  function reveal(providerId) {
    activate(providerId);
    if (mode !== 'docked') setMode('docked');
  }

  // -- messaging --------------------------------------------------------------------------------

  function stateOf(event) {
    for (const state of states.values()) {
      if (event.source === state.frame.contentWindow) return state.origin === event.origin ? state : null;
    }
    return null;
  }

  function send(state, message) {
    if (destroyed || !state.frame.contentWindow) return;
    state.frame.contentWindow.postMessage({ protocol: PROTOCOL, version: VERSION, ...message }, state.origin);
  }

  function broadcast(event, data) {
    for (const state of states.values()) send(state, { kind: 'event', event, data });
  }

  function onMessage(event) {
    const msg = event.data;
    if (!msg || typeof msg !== 'object' || msg.protocol !== PROTOCOL) return;
    const state = stateOf(event);
    if (!state) {
      ignored += 1; // not a provider's frame, or not from its trusted origin
      return;
    }
    if (msg.kind === 'hello') {
      dropNotes(state); // a reloaded softphone no longer waits for its old notifications
      state.clickToAct = false;
      send(state, { kind: 'ready', environment: environment(state) });
      return;
    }
    if (msg.kind !== 'request' || typeof msg.id !== 'string' || typeof msg.method !== 'string') return;
    const handler = Object.hasOwn(METHODS, msg.method) ? METHODS[msg.method] : null;
    const run = handler
      ? Promise.resolve().then(() => handler(state, plain(msg.params)))
      : Promise.reject(new HostError('unknown_method', `${msg.method} is not an Omniroute CIF method.`));
    run.then(
      (result) => send(state, { kind: 'response', id: msg.id, ok: true, result: result === undefined ? null : result }),
      (error) => {
        const e = fromApiError(error);
        send(state, { kind: 'response', id: msg.id, ok: false, error: { code: e.code, message: e.message, details: e.details } });
      },
    );
  }

  function environment(state) {
    const p = state.provider;
    return {
      version: VERSION,
      provider: {
        id: p.id,
        name: p.name,
        kind: p.kind,
        features: p.features || [],
        custom_parameters: plain((options.customParameters || {})[p.id] || p.custom_parameters),
      },
      agent: { ...plain(options.agent), provider_agent_id: p.agent_id ?? null },
      locale: options.locale || doc.documentElement.lang || 'en',
      workspace_origin: win.location.origin,
      panel: { mode, width },
      capabilities: {
        sessions: Object.keys(sessions).filter((k) => typeof sessions[k] === 'function'),
        tabs: Object.keys(tabs).filter((k) => typeof tabs[k] === 'function'),
      },
    };
  }

  function requireFeature(state, feature, what) {
    const features = state.provider.features;
    if (Array.isArray(features) && !features.includes(feature)) {
      throw new HostError('not_enabled', `${what} is not enabled for ${state.provider.name} in Omniroute (feature ${feature}).`);
    }
  }

  function delegate(group, name, label) {
    return async (state, params) => {
      const fn = group[name];
      if (typeof fn !== 'function') throw notSupported(label);
      return fn(params, state.provider);
    };
  }

  // -- records ------------------------------------------------------------------------------------

  async function search(entity, query) {
    const q = parseQuery(query);
    if (entity === 'customer') {
      if (q.phone) {
        const found = await api.request('GET', `/api/v1/voice/lookup?phone=${encodeURIComponent(q.phone)}`);
        const outcome = { open: 'open', quick_create: 'quick_create' }[found.action] || 'search';
        return { entity, outcome, records: found.matches, phone: found.phone, prefill: found.quick_create };
      }
      const text = String(q.text || q.q || q.email || q.name || '').trim();
      if (text.length < 2) throw new HostError('invalid', 'search for a phone number or at least two characters');
      const records = await api.request('GET', `/api/v1/customers?q=${encodeURIComponent(text)}`);
      return { entity, outcome: outcomeOf(records), records, prefill: { display_name: text } };
    }
    if (entity === 'case') {
      const params = new URLSearchParams();
      for (const key of ['q', 'customer_id', 'status', 'owner']) if (q[key]) params.set(key, q[key]);
      if (q.text) params.set('q', q.text);
      const page = await api.request('GET', `/api/v1/cases?${params}`);
      return { entity, outcome: outcomeOf(page.items), records: page.items };
    }
    throw new HostError('not_supported', 'phone-call activities are found through their call id (retrieveRecord).');
  }

  function outcomeOf(records) {
    return records.length === 0 ? 'quick_create' : records.length === 1 ? 'open' : 'search';
  }

  const RECORD_PATHS = {
    customer: (id) => `/api/v1/customers/${segment(id)}`,
    case: (id) => `/api/v1/cases/${segment(id)}`,
    phonecall: (id) => `/api/v1/voice/calls/${segment(id)}`,
  };

  async function createRecord(entity, data) {
    if (entity === 'phonecall') {
      throw new HostError('not_supported', "phone-call activities are created by the provider's call events (the voice webhook).");
    }
    const path = entity === 'customer' ? '/api/v1/customers' : '/api/v1/cases';
    try {
      return await api.request('POST', path, data);
    } catch (error) {
      if (error.status === 405) {
        throw new HostError('not_supported', `This Omniroute server does not create ${entity} records over the API yet.`, { status: 405 });
      }
      throw error;
    }
  }

  async function updateRecord(entity, id, data) {
    if (entity === 'phonecall') return api.request('PUT', `/api/v1/voice/calls/${segment(id)}/disposition`, data);
    return api.request('PATCH', RECORD_PATHS[entity](id), data);
  }

  async function screenPop(state, result) {
    if (typeof options.onScreenPop === 'function') {
      await options.onScreenPop(result, state.provider);
    } else {
      showResult(state, result);
    }
    return true;
  }

  // -- the panel's own record views (used when the workspace gives no callbacks) ------------------

  function showRecord(state, entity, record) {
    const card = doc.createElement('article');
    card.dataset.testid = 'voice-screen-pop';
    card.dataset.entity = entity;
    card.dataset.recordId = record.id;
    const title = doc.createElement('h3');
    title.textContent = entity === 'case' ? `${record.number} ${record.title}` : record.display_name || record.id;
    const lines = entity === 'customer' ? [record.phone, record.email] : [record.status, record.priority];
    card.append(title, ...lines.filter(Boolean).map((text) => para(text)));
    els.record.replaceChildren(card, closeButton());
    els.record.hidden = false;
    reveal(state.provider.id);
  }

  function showResult(state, result) {
    if (result.outcome === 'open') {
      showRecord(state, result.entity, result.records[0]);
    } else if (result.outcome === 'quick_create' && result.entity === 'customer') {
      showQuickCreate(state, { phone: result.phone, ...plain(result.prefill) });
    } else {
      const box = doc.createElement('div');
      box.dataset.testid = 'voice-search-results';
      const heading = doc.createElement('h3');
      heading.textContent = result.records.length
        ? t('{count} matching records', { count: result.records.length })
        : t('No matching records');
      const list = doc.createElement('ul');
      for (const record of result.records) {
        const item = doc.createElement('li');
        const open = doc.createElement('button');
        open.type = 'button';
        open.className = 'button button-small';
        open.textContent = result.entity === 'case' ? `${record.number} ${record.title}` : record.display_name;
        open.addEventListener('click', () => showRecord(state, result.entity, record));
        item.append(open);
        list.append(item);
      }
      box.append(heading, list);
      els.record.replaceChildren(box, closeButton());
      els.record.hidden = false;
      reveal(state.provider.id);
    }
  }

  function showQuickCreate(state, data) {
    const form = doc.createElement('form');
    form.dataset.testid = 'voice-quick-create';
    const heading = doc.createElement('h3');
    heading.textContent = t('New customer');
    form.append(heading);
    const fields = [
      ['display_name', t('Name'), data.display_name && data.display_name !== data.phone ? data.display_name : ''],
      ['phone', t('Phone'), data.phone || ''],
      ['email', t('Email'), data.email || ''],
    ];
    for (const [name, label, value] of fields) {
      const wrap = doc.createElement('label');
      wrap.textContent = label;
      const input = doc.createElement('input');
      input.name = name;
      input.value = value;
      input.required = name === 'display_name';
      wrap.append(input);
      form.append(wrap);
    }
    const error = para('');
    error.className = 'ocif-error';
    error.setAttribute('role', 'alert');
    error.hidden = true;
    const submit = doc.createElement('button');
    submit.type = 'submit';
    submit.className = 'button button-primary';
    submit.textContent = t('Create');
    form.append(error, submit);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = {};
      for (const [name] of fields) {
        const value = form.elements[name].value.trim();
        if (value) body[name] = value;
      }
      try {
        showRecord(state, 'customer', await createRecord('customer', body));
      } catch (e) {
        error.textContent = fromApiError(e).message;
        error.hidden = false;
      }
    });
    els.record.replaceChildren(form, closeButton());
    els.record.hidden = false;
    reveal(state.provider.id);
  }

  function para(text) {
    const p = doc.createElement('p');
    p.textContent = text;
    return p;
  }

  function closeButton() {
    const close = doc.createElement('button');
    close.type = 'button';
    close.className = 'button button-quiet button-small';
    close.textContent = t('Close');
    close.addEventListener('click', () => {
      els.record.hidden = true;
      els.record.replaceChildren();
    });
    return close;
  }

  // -- notifications ------------------------------------------------------------------------------

  function notify(state, input) {
    const given = input.template;
    if (given === undefined || given === null) throw new HostError('invalid', 'name a notification template');
    const template = typeof given === 'string' ? builtIn[given] : plain(given);
    if (!template || (typeof given === 'string' && !Object.hasOwn(builtIn, given))) {
      throw new HostError('template_not_found', `no notification template ${JSON.stringify(given)}`);
    }
    const token = input.cancellationToken ? String(input.cancellationToken) : `note-${Date.now()}-${Math.random()}`;
    if (state.notes.has(token)) throw new HostError('invalid', `a notification with token ${token} is already shown`);
    const waiting = [...states.values()].reduce((n, s) => n + s.notes.size, 0);
    if (waiting >= MAX_NOTIFICATIONS) return { action: 'Reject', reason: 'queue_limit' };
    if (input.autoAccept ?? template.autoAccept) return { action: 'Accept', reason: 'auto_accepted' };

    const seconds = Number(input.timeoutSeconds ?? template.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS);
    if (!(seconds > 0 && seconds <= 600)) throw new HostError('invalid', 'timeoutSeconds must be between 1 and 600');
    if (mode === 'hidden') setMode('minimised'); // a hidden panel still shows what needs an answer
    const params = plain(input.params ?? input.templateParameters);
    return new Promise((resolve) => {
      const item = doc.createElement('li');
      item.className = 'ocif-note';
      item.dataset.testid = 'voice-notification';
      item.dataset.token = token;
      const title = doc.createElement('strong');
      title.textContent = String(params.title || template.title || t('Notification'));
      item.append(title);
      if (providers.length > 1) item.append(para(state.provider.name));
      const list = doc.createElement('dl');
      const labels = plain(template.fields);
      const keys = Object.keys(labels).length ? Object.keys(labels) : Object.keys(params).filter((k) => k !== 'title');
      for (const key of keys) {
        const value = params[key];
        if (value === undefined || value === null || value === '') continue;
        const dt = doc.createElement('dt');
        dt.textContent = labels[key] ? t(labels[key]) : key;
        const dd = doc.createElement('dd');
        dd.textContent = typeof value === 'object' ? Object.entries(value).map(([k, v]) => `${k}: ${v}`).join(', ') : String(value);
        list.append(dt, dd);
      }
      const timer = para('');
      timer.className = 'muted ocif-note-timer';
      const actions = doc.createElement('div');
      actions.className = 'ocif-note-actions';
      const button = (label, cls, action) => {
        const b = doc.createElement('button');
        b.type = 'button';
        b.className = `button ${cls}`;
        b.textContent = t(label);
        b.dataset.action = action;
        b.addEventListener('click', () => finish(action === 'accept' ? { action: 'Accept', reason: 'accepted' } : { action: 'Reject', reason: 'declined' }));
        actions.append(b);
      };
      button(template.accept || 'Accept', 'button-primary', 'accept');
      if (template.reject !== null) button(template.reject || 'Decline', '', 'reject');
      item.append(list, timer, actions);
      els.notes.append(item);

      const ends = Date.now() + seconds * 1000;
      const tick = () => {
        const left = Math.max(0, Math.ceil((ends - Date.now()) / 1000));
        timer.textContent = t('{seconds} s left', { seconds: left });
      };
      tick();
      const ticking = win.setInterval(tick, 1000);
      const timeout = win.setTimeout(() => finish({ action: 'Timeout', reason: 'display_timeout' }), seconds * 1000);
      function finish(outcome) {
        if (!state.notes.has(token)) return;
        state.notes.delete(token);
        win.clearInterval(ticking);
        win.clearTimeout(timeout);
        item.remove();
        resolve(outcome);
      }
      state.notes.set(token, { finish });
      options.onNotification?.({ title: title.textContent, provider: state.provider });
    });
  }

  function dropNotes(state) {
    for (const note of [...state.notes.values()]) note.finish({ action: 'Cancel', reason: 'cancelled' });
  }

  // -- click-to-act ---------------------------------------------------------------------------------

  function onDocumentClick(event) {
    const target = event.target instanceof win.Element ? event.target.closest('a[href^="tel:"], [data-omniroute-phone]') : null;
    if (!target || panel.contains(target)) return; // clicks inside the panel are the panel's own
    const number = target.dataset.omniroutePhone || decodeURIComponent(target.getAttribute('href').slice(4)).split(';')[0];
    if (clickToAct(number, { name: target.dataset.name || target.textContent.trim(), customerId: target.dataset.customerId })) {
      event.preventDefault();
    }
  }

  /** Hand a number to the softphone that asked for click-to-act; false when none did. */
  function clickToAct(number, context = {}) {
    const enabled = [...states.values()].filter((s) => s.clickToAct);
    const state = enabled.find((s) => s.provider.id === active) || enabled[0];
    if (!state || !number) return false;
    reveal(state.provider.id);
    send(state, {
      kind: 'event',
      event: 'clickToAct',
      data: {
        value: String(number).trim(),
        name: context.name || null,
        entity: context.customerId ? { type: 'customer', id: context.customerId } : null,
      },
    });
    return true;
  }

  // -- the methods the SDK calls --------------------------------------------------------------------

  const METHODS = {
    getEnvironment: (state) => environment(state),
    getMode: () => mode,
    setMode: (state, p) => setMode(p.mode),
    getWidth: () => width,
    setWidth: (state, p) => setWidth(p.width),

    searchAndOpenRecords: async (state, p) => {
      const entity = entityOf(p.entity);
      if (!p.searchOnly) requireFeature(state, 'screen_pop', 'Screen pop');
      const result = await search(entity, p.query);
      const opened = p.searchOnly ? false : await screenPop(state, result);
      return { outcome: result.outcome, records: result.records, phone: result.phone ?? null, opened };
    },
    renderSearchPage: async (state, p) => {
      requireFeature(state, 'screen_pop', 'Screen pop');
      const result = await search(entityOf(p.entity), p.searchText);
      await screenPop(state, { ...result, outcome: 'search' });
      return true;
    },
    openForm: async (state, p) => {
      const entity = entityOf(p.entity);
      if (p.id) {
        const record = await api.request('GET', RECORD_PATHS[entity](p.id));
        if (typeof options.openRecord === 'function') await options.openRecord({ entity, id: p.id, record }, state.provider);
        else showRecord(state, entity, record);
        return true;
      }
      if (typeof options.openForm === 'function') {
        await options.openForm({ entity, data: plain(p.data) }, state.provider);
        return true;
      }
      if (entity !== 'customer') throw notSupported(`A ${entity} form`);
      showQuickCreate(state, plain(p.data));
      return true;
    },
    createRecord: (state, p) => createRecord(entityOf(p.entity), plain(p.data)),
    retrieveRecord: (state, p) => api.request('GET', RECORD_PATHS[entityOf(p.entity)](p.id)),
    updateRecord: (state, p) => updateRecord(entityOf(p.entity), p.id, plain(p.data)),

    notifyEvent: (state, p) => notify(state, p),
    cancelEvent: (state, p) => {
      const note = state.notes.get(String(p.cancellationToken));
      if (note) note.finish({ action: 'Cancel', reason: 'cancelled' });
      return Boolean(note);
    },

    canCreateSession: async (state, p) => (typeof sessions.canCreate === 'function' ? Boolean(await sessions.canCreate(p, state.provider)) : typeof sessions.create === 'function'),
    createSession: delegate(sessions, 'create', 'Creating a session'),
    getSession: delegate(sessions, 'get', 'Reading a session'),
    getAllSessions: delegate(sessions, 'getAll', 'Listing sessions'),
    getFocusedSession: delegate(sessions, 'getFocused', 'Reading the focused session'),
    focusSession: delegate(sessions, 'focus', 'Focusing a session'),
    setSessionTitle: delegate(sessions, 'setTitle', 'Setting a session title'),
    createTab: delegate(tabs, 'create', 'Creating a tab'),
    focusTab: delegate(tabs, 'focus', 'Focusing a tab'),
    closeTab: delegate(tabs, 'close', 'Closing a tab'),
    getFocusedTab: delegate(tabs, 'getFocused', 'Reading the focused tab'),

    getPresence: async () => {
      const me = await api.request('GET', '/api/v1/me');
      return { presence: me.presence, custom_presence: me.custom_presence ?? null };
    },
    setPresence: async (state, p) => {
      if (typeof p.presence !== 'string' || !p.presence) throw new HostError('invalid', 'name a presence');
      const out = await api.request('PUT', '/api/v1/me/presence', { presence: p.presence });
      return { presence: out.presence, custom_presence: out.custom_presence ?? null };
    },

    getClickToAct: (state) => state.clickToAct,
    setClickToAct: (state, p) => {
      if (p.enabled) requireFeature(state, 'click_to_dial', 'Click-to-dial');
      state.clickToAct = Boolean(p.enabled);
      return state.clickToAct;
    },
  };

  // -- what the workspace calls -----------------------------------------------------------------

  return {
    element: panel,
    providers,
    frame: (providerId) => states.get(providerId)?.frame ?? null,
    getMode: () => mode,
    setMode: (next) => setMode(next, true),
    getWidth: () => width,
    setWidth,
    /** Forward the agent socket's presence.changed frame. */
    presenceChanged: (frame) => broadcast('presenceChanged', { presence: frame.presence, custom_presence: frame.custom_presence ?? null }),
    /** The workspace's selected session changed: { previous, current } session ids. */
    sessionSwitched: (change) => broadcast('sessionSwitched', plain(change)),
    sessionClosed: (sessionId) => broadcast('sessionClosed', { sessionId }),
    clickToAct,
    /** How many protocol messages were refused: not from a provider frame or its trusted origin. */
    get ignoredMessages() {
      return ignored;
    },
    destroy() {
      destroyed = true;
      win.removeEventListener('message', onMessage);
      doc.removeEventListener('click', onDocumentClick, true);
      for (const state of states.values()) dropNotes(state);
      element.replaceChildren();
    },
  };
}
