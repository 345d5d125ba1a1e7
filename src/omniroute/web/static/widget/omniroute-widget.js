/*
 * Omniroute web chat widget.
 *
 * Embed it with one tag on any page:
 *   <script src="https://omniroute.example.com/static/widget/omniroute-widget.js"
 *           data-omniroute-key="pk_..." async></script>
 * Optional attributes: data-omniroute-lang="es" (the visitor's language when the widget's setting
 * is "auto"), data-identity-token="<JWT signed by the host site>" (authenticated chat; the host
 * can also call window.OmnirouteWidget.setIdentityToken(jwt) later). See docs/WIDGET.md.
 *
 * A classic script, on purpose: no module loader, no build step and no third-party code, so the
 * tag works on any site (a module split would need CORS on static files for cross-site hosts).
 * The server it talks to is the one the script was loaded from. It draws inside a Shadow DOM so
 * the host page's CSS cannot break it and its CSS cannot leak out.
 *
 * No UI text lives here: every string comes from the widget's config endpoint, in the visitor's
 * language, together with the theme, the pre-chat questions, the invitations and whether chat is
 * open right now. The widget therefore draws nothing until that config has arrived.
 *
 * Protocol notes: messages carry a per-conversation seq. They can arrive twice (REST reply and
 * socket, or a replay after reconnecting), so we keep them by seq and render each once, in order.
 * The conversation (token, seq cursor, recent messages) lives in localStorage so a page reload or
 * a new page on the same site resumes the chat instead of starting over.
 */
(() => {
  'use strict';

  const script = document.currentScript;
  const publicKey = script && script.getAttribute('data-omniroute-key');
  if (!publicKey) {
    console.warn('Omniroute widget: the script tag needs a data-omniroute-key attribute.');
    return;
  }
  if (window.__omnirouteWidgetLoaded) return; // a page that embeds the tag twice gets one widget
  window.__omnirouteWidgetLoaded = true;

  const BASE = serverBase(script.src);
  const API = `${BASE}/api/webchat/v1/widgets/${encodeURIComponent(publicKey)}`;
  const SOCKET_URL = `${BASE.replace(/^http/, 'ws')}/ws/webchat/${encodeURIComponent(publicKey)}`;
  const STORE_KEY = `omniroute.widget.${publicKey}`;
  const INVITED_KEY = `omniroute.invited.${publicKey}`;
  const KEEP_MESSAGES = 200;
  const PING_EVERY_MS = 25000;
  const SILENCE_LIMIT_MS = 60000;
  const AGENT_TYPING_TIMEOUT_MS = 8000;
  const CONFIG_STALE_MS = 60000;
  const CLOSE_UNAUTHORIZED = 4401;
  const CLOSE_RESYNC = 4000;
  const CLOSE_OFFLINE = 4002;
  const ENDED_STATES = ['wrap_up', 'closed'];
  let identityToken = script.getAttribute('data-identity-token') || null;
  const requestedLanguage = script.getAttribute('data-omniroute-lang')
    || (navigator.languages && navigator.languages.join(',')) || navigator.language || '';

  /** The server root: the script's URL up to /static/widget/ (which allows a path prefix). */
  function serverBase(src) {
    const url = new URL(src, window.location.href);
    const at = url.pathname.lastIndexOf('/static/widget/');
    return url.origin + (at >= 0 ? url.pathname.slice(0, at) : '');
  }

  // -- persistence ---------------------------------------------------------------------------

  /** localStorage can be disabled or full; the widget then just forgets on reload. */
  const store = {
    read(area = window.localStorage, key = STORE_KEY) {
      try {
        return JSON.parse(area.getItem(key)) || {};
      } catch {
        return {};
      }
    },
    write(value, area = window.localStorage, key = STORE_KEY) {
      try {
        area.setItem(key, JSON.stringify(value));
      } catch {
        /* storage unavailable: keep working in memory */
      }
    },
  };

  function randomId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // -- state ---------------------------------------------------------------------------------

  const saved = store.read();
  const state = {
    visitorId: typeof saved.visitorId === 'string' ? saved.visitorId : randomId(),
    open: Boolean(saved.open),
    config: null,
    configAt: 0,
    // { token, conversationId, customerName, email, state, cursor, messages: Map(seq -> m), rated }
    chat: null,
    agentName: '',
    connection: 'idle', // idle | connecting | live | reconnecting
    unread: 0,
    place: null, // { position, queue_length, estimated_wait_seconds } while the chat waits in the queue
    bot: { holding: false, name: '', choices: [] }, // while a bot answers: its name, quick replies
    offlineSent: false,
  };
  if (saved.chat && typeof saved.chat.token === 'string') {
    const chat = saved.chat;
    state.chat = {
      token: chat.token,
      conversationId: chat.conversationId,
      customerName: chat.customerName || '',
      email: chat.email || '',
      state: chat.state || 'open',
      cursor: Number.isInteger(chat.lastSeq) ? chat.lastSeq : 0,
      messages: new Map((chat.messages || []).map((m) => [m.seq, m])),
      rated: Boolean(chat.rated),
    };
  }

  function persist() {
    const value = { visitorId: state.visitorId, open: state.open };
    if (state.chat) {
      const messages = [...state.chat.messages.values()]
        .sort((a, b) => a.seq - b.seq)
        .slice(-KEEP_MESSAGES);
      value.chat = {
        token: state.chat.token,
        conversationId: state.chat.conversationId,
        customerName: state.chat.customerName,
        email: state.chat.email,
        state: state.chat.state,
        lastSeq: state.chat.cursor,
        messages,
        rated: state.chat.rated,
      };
    }
    store.write(value);
  }

  // -- words ---------------------------------------------------------------------------------

  /** A catalogue string with {placeholders} filled in. */
  function t(key, vars) {
    const strings = (state.config && state.config.strings) || {};
    const text = Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : key;
    return text.replace(/\{(\w+)\}/g, (whole, name) => (
      vars && vars[name] !== undefined ? String(vars[name]) : whole));
  }

  function language() {
    return (state.config && state.config.language) || 'en';
  }

  // -- HTTP ----------------------------------------------------------------------------------

  class WidgetError extends Error {
    constructor(status, detail) {
      super(detail || t('error_generic'));
      this.status = status;
    }

    get retryable() {
      return this.status === 0 || this.status >= 500 || this.status === 429;
    }
  }

  async function fetchApi(method, path, body, token) {
    const headers = { Accept: 'application/json' };
    const form = typeof FormData !== 'undefined' && body instanceof FormData;
    if (body !== undefined && !form) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = `Bearer ${token}`;
    try {
      return await fetch(API + path, {
        method,
        headers,
        mode: 'cors',
        credentials: 'omit',
        body: body === undefined || form ? body : JSON.stringify(body),
      });
    } catch {
      throw new WidgetError(0, t('error_network'));
    }
  }

  /** JSON over fetch. No cookies: the chat token is the customer's only credential. */
  async function request(method, path, body, token = null) {
    const response = await fetchApi(method, path, body, token);
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw new WidgetError(response.status, data && data.detail);
    return data;
  }

  /** Retry network and server failures; safe for posts because they carry an idempotency key. */
  async function withRetries(task, attempts = 3) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await task();
      } catch (error) {
        if (!(error instanceof WidgetError) || !error.retryable || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** (attempt - 1)));
      }
    }
  }

  // -- DOM -----------------------------------------------------------------------------------

  /** Build an element. Text goes in through textContent only, never as HTML. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (name === 'class') el.className = value;
      else if (name === 'text') el.textContent = value;
      else el.setAttribute(name, value === true ? '' : value);
    }
    el.append(...children.filter(Boolean));
    return el;
  }

  function chatIcon() {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d',
      'M4 4h16a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z');
    svg.append(path);
    return svg;
  }

  const CSS = `
    :host { all: initial; --om-primary: #0f766e; --om-on-primary: #ffffff; --om-bg: #ffffff; }
    * { box-sizing: border-box; }
    .root { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
      font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2937;
      display: flex; flex-direction: column; align-items: flex-end; gap: 12px; }
    .root.left { right: auto; left: 20px; align-items: flex-start; }
    [hidden] { display: none !important; }
    button, input, select, textarea { font: inherit; color: inherit; }
    .launcher { display: inline-flex; align-items: center; gap: 8px; border: 0; cursor: pointer;
      background: var(--om-primary); color: var(--om-on-primary); padding: 12px 18px;
      border-radius: 999px; box-shadow: 0 6px 20px rgba(15, 23, 42, .25); font-weight: 600;
      position: relative; }
    .launcher:hover, .primary:hover { filter: brightness(.92); }
    .launcher svg { width: 20px; height: 20px; fill: currentColor; }
    .badge { position: absolute; top: -4px; right: -4px; min-width: 20px; height: 20px;
      padding: 0 6px; border-radius: 10px; background: #dc2626; color: #fff; font-size: 12px;
      line-height: 20px; text-align: center; }
    .panel { width: min(370px, calc(100vw - 40px)); height: min(580px, calc(100vh - 110px));
      background: var(--om-bg); border-radius: 14px; overflow: hidden; display: flex;
      flex-direction: column; box-shadow: 0 12px 40px rgba(15, 23, 42, .28); }
    .head { background: var(--om-primary); color: var(--om-on-primary); padding: 14px 16px;
      display: flex; align-items: center; justify-content: space-between; gap: 8px; }
    .brand { display: flex; align-items: center; gap: 10px; min-width: 0; }
    .logo { width: 32px; height: 32px; border-radius: 6px; object-fit: contain;
      background: rgba(255, 255, 255, .9); }
    .head h2 { margin: 0; font-size: 16px; font-weight: 600; }
    .head p { margin: 2px 0 0; font-size: 12px; opacity: .85; }
    .icon-button { background: transparent; border: 0; color: inherit; cursor: pointer;
      font-size: 22px; line-height: 1; width: 32px; height: 32px; border-radius: 6px; }
    .icon-button:hover { background: rgba(255, 255, 255, .15); }
    .body { flex: 1; display: flex; flex-direction: column; min-height: 0; }
    .form { padding: 16px; overflow-y: auto; display: flex; flex-direction: column; gap: 12px; }
    .form p.intro { margin: 0; color: #4b5563; }
    .form.inner { padding: 0; overflow: visible; }
    .form h3 { margin: 0; font-size: 15px; }
    .mailer-status { padding: 0 12px; }
    .field { display: flex; flex-direction: column; gap: 4px; border: 0; padding: 0; margin: 0; }
    .field label, .field legend { font-weight: 600; font-size: 13px; padding: 0; }
    .field input[type="text"], .field input[type="email"], .field select, .field textarea,
    .composer textarea { width: 100%; border: 1px solid #d1d5db; border-radius: 8px;
      padding: 8px 10px; background: #fff; }
    .field textarea { resize: vertical; min-height: 70px; }
    .check { display: flex; gap: 8px; align-items: flex-start; font-weight: 400 !important; }
    .check input { margin-top: 3px; }
    [aria-invalid="true"] { border-color: #b91c1c !important; }
    input:focus, select:focus, textarea:focus, button:focus-visible, a:focus-visible {
      outline: 2px solid var(--om-primary); outline-offset: 1px; }
    .primary { background: var(--om-primary); color: var(--om-on-primary); border: 0;
      border-radius: 8px; padding: 10px 14px; font-weight: 600; cursor: pointer; }
    .primary:disabled { opacity: .6; cursor: default; }
    .secondary { background: transparent; color: #374151; border: 1px solid #d1d5db;
      border-radius: 8px; padding: 8px 12px; cursor: pointer; }
    .error { color: #b91c1c; margin: 0; font-size: 13px; }
    .note { margin: 0; color: #374151; }
    .status { margin: 0; padding: 8px 16px; background: #f0fdfa; color: #115e59;
      border-bottom: 1px solid #ccfbf1; font-size: 13px; }
    .status[data-tone="ended"] { background: #f3f4f6; color: #374151; border-color: #e5e7eb; }
    .status[data-tone="bot"] { background: #f5f3ff; color: #4c1d95; border-color: #ddd6fe; }
    .choices { display: flex; flex-wrap: wrap; gap: 6px; padding: 6px 12px 0; }
    .choices[hidden] { display: none; }
    .choice { border: 1px solid #a78bfa; background: #fff; color: #4c1d95; border-radius: 999px;
      padding: 4px 12px; font: inherit; cursor: pointer; }
    .choice:hover, .choice:focus-visible { background: #f5f3ff; }
    .status[data-tone="offline"] { background: #fef3c7; color: #92400e; border-color: #fde68a; }
    .log { list-style: none; margin: 0; padding: 12px 16px; flex: 1; overflow-y: auto;
      display: flex; flex-direction: column; gap: 8px; background: #fafafa; }
    .msg { max-width: 82%; display: flex; flex-direction: column; gap: 2px; }
    .msg .text { margin: 0; padding: 8px 12px; border-radius: 14px; white-space: pre-wrap;
      overflow-wrap: anywhere; }
    .msg .meta { font-size: 11px; color: #6b7280; padding: 0 4px; }
    .msg-customer { align-self: flex-end; align-items: flex-end; }
    .msg-customer .text { background: var(--om-primary); color: var(--om-on-primary);
      border-bottom-right-radius: 4px; }
    .msg-agent, .msg-bot { align-self: flex-start; }
    .msg-agent .text, .msg-bot .text { background: #fff; border: 1px solid #e5e7eb;
      border-bottom-left-radius: 4px; }
    .msg-system { align-self: center; max-width: 100%; }
    .msg-system .text { background: transparent; color: #6b7280; font-size: 12px; padding: 2px; }
    .msg-pending .text { opacity: .6; }
    .msg-failed .text { background: #fee2e2; color: #991b1b; }
    .retry { background: none; border: 0; color: #b91c1c; cursor: pointer; font-size: 12px;
      text-decoration: underline; padding: 0 4px; }
    .typing { margin: 0; padding: 4px 16px; font-size: 12px; color: #6b7280; font-style: italic;
      background: #fafafa; }
    .ended { padding: 12px 16px; border-top: 1px solid #e5e7eb; display: flex;
      flex-direction: column; gap: 10px; align-items: stretch; overflow-y: auto; max-height: 60%; }
    .ended p { margin: 0; color: #374151; }
    .stars { display: flex; gap: 4px; }
    .stars label { cursor: pointer; font-size: 22px; line-height: 1; color: #9ca3af;
      padding: 2px; border-radius: 4px; }
    .stars input { position: absolute; opacity: 0; width: 1px; height: 1px; }
    .stars label.lit { color: #f59e0b; }
    .stars input:focus-visible + span { outline: 2px solid var(--om-primary); }
    .composer { display: flex; flex-wrap: wrap; gap: 8px; padding: 10px 12px;
      border-top: 1px solid #e5e7eb; }
    .composer textarea { flex: 1; width: auto; }
    .composer.drop { outline: 2px dashed var(--om-primary); outline-offset: -4px; }
    .attach { background: none; border: 1px solid #d1d5db; border-radius: 8px; cursor: pointer;
      padding: 0 10px; font: inherit; color: #374151; }
    .files { list-style: none; margin: 0; padding: 0; flex-basis: 100%; font-size: 12px; }
    .files[hidden] { display: none; }
    .files li { display: flex; gap: 6px; align-items: baseline; }
    .files li[data-state="failed"] .state { color: #b91c1c; }
    .files button { background: none; border: 0; cursor: pointer; color: #4b5563; font: inherit; }
    .msg-files { list-style: none; margin: 4px 0 0; padding: 0; display: flex; flex-wrap: wrap;
      gap: 6px; }
    .msg-customer .msg-files { justify-content: flex-end; }
    .msg-files img { display: block; max-width: 180px; max-height: 140px; border-radius: 8px;
      border: 1px solid #e5e7eb; }
    .msg-files button { background: #fff; border: 1px solid #d1d5db; border-radius: 999px;
      padding: 3px 10px; cursor: pointer; font: inherit; font-size: 12px; color: #111827; }
    .msg-files .preview { padding: 0; border: 0; background: none; border-radius: 8px; }
    .place { margin: 4px 0 0; font-size: 13px; overflow-wrap: anywhere; }
    .place a { color: inherit; }
    .composer textarea { resize: none; height: 42px; }
    .foot { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 4px 10px;
      padding: 0 12px 8px; align-items: center; }
    .foot .group { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
    .link { background: none; border: 0; color: #4b5563; cursor: pointer; font-size: 12px;
      text-decoration: underline; padding: 2px; }
    .link.danger:hover { color: #b91c1c; }
    .mailer { display: flex; gap: 6px; padding: 0 12px 8px; align-items: flex-end; }
    .mailer .field { flex: 1; }
    .invite { max-width: 300px; background: #fff; border-radius: 12px; padding: 12px 14px;
      box-shadow: 0 8px 28px rgba(15, 23, 42, .22); display: flex; flex-direction: column;
      gap: 10px; border-top: 4px solid var(--om-primary); }
    .invite p { margin: 0; }
    .invite .actions { display: flex; gap: 8px; justify-content: flex-end; }
    .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden;
      clip: rect(0 0 0 0); white-space: nowrap; }
  `;

  /** Constructed stylesheets also work on sites whose CSP forbids inline <style>. */
  function applyStyles(shadow) {
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      shadow.adoptedStyleSheets = [sheet];
    } catch {
      shadow.append(h('style', { text: CSS }));
    }
  }

  const ui = {};

  // -- theme ---------------------------------------------------------------------------------

  /** Logo paths are on the Omniroute server; the settings allow only https or a server path. */
  function logoSource(url) {
    if (!url) return null;
    return url.startsWith('/') ? BASE + url : url;
  }

  function applyTheme() {
    const theme = state.config.theme;
    ui.host.style.setProperty('--om-primary', theme.primary_color);
    ui.host.style.setProperty('--om-on-primary', theme.on_primary_color);
    ui.host.style.setProperty('--om-bg', theme.background_color);
    ui.root.classList.toggle('left', theme.position === 'left');
    ui.root.dataset.position = theme.position;
    ui.title.textContent = theme.title;
    const logo = logoSource(theme.logo_url);
    ui.logo.hidden = !logo;
    if (logo) ui.logo.src = logo;
  }

  // -- the frame -----------------------------------------------------------------------------

  function buildUi() {
    ui.host = h('div', { id: 'omniroute-widget', 'data-testid': 'omniroute-widget',
      lang: language() });
    const shadow = ui.host.attachShadow({ mode: 'open' });
    applyStyles(shadow);
    ui.shadow = shadow;

    ui.logo = h('img', { class: 'logo', alt: '', 'data-testid': 'widget-logo', hidden: true });
    ui.title = h('h2', { id: 'om-title', 'data-testid': 'widget-title' });
    ui.subtitle = h('p', { text: t('subtitle') });
    ui.minimise = h('button', {
      type: 'button', class: 'icon-button', 'aria-label': t('minimise'), text: '–',
    });
    ui.views = h('div', { class: 'body' });
    ui.panel = h(
      'section',
      { class: 'panel', id: 'om-panel', role: 'dialog', 'aria-labelledby': 'om-title',
        'data-testid': 'widget-panel', hidden: true },
      h('header', { class: 'head' },
        h('div', { class: 'brand' }, ui.logo, h('div', {}, ui.title, ui.subtitle)), ui.minimise),
      ui.views,
    );
    ui.badge = h('span', { class: 'badge', 'aria-hidden': 'true', hidden: true });
    ui.launcher = h(
      'button',
      { type: 'button', class: 'launcher', 'aria-controls': 'om-panel', 'aria-expanded': 'false',
        'data-testid': 'widget-launcher' },
      chatIcon(), h('span', { class: 'launcher-label', text: t('launcher') }), ui.badge,
    );
    ui.invite = buildInvite();
    // Announcements for things that appear without the visitor asking (invitations).
    ui.announce = h('p', { class: 'sr-only', 'aria-live': 'polite' });
    ui.root = h('div', { class: 'root', 'data-testid': 'widget-root' },
      ui.panel, ui.invite, ui.announce, ui.launcher);
    shadow.append(ui.root);

    ui.prechat = buildPrechat();
    ui.offline = buildOffline();
    ui.chat = buildChat();
    ui.views.append(ui.prechat);

    ui.launcher.addEventListener('click', () => setOpen(!state.open, { focus: true }));
    ui.minimise.addEventListener('click', () => setOpen(false, { focus: true }));
    ui.panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') setOpen(false, { focus: true });
    });
    applyTheme();
    document.body.append(ui.host);
  }

  // -- forms ---------------------------------------------------------------------------------

  let fieldCount = 0;

  /** A labelled control with its own error line (announced, and tied to the control). */
  function field(label, control, { required = false } = {}) {
    fieldCount += 1;
    const id = `om-f${fieldCount}`;
    control.id = id;
    const error = h('p', { class: 'error', id: `${id}-error`, hidden: true });
    control.setAttribute('aria-describedby', error.id);
    if (required) control.setAttribute('aria-required', 'true');
    const wrapper = h('div', { class: 'field' }, h('label', { for: id, text: label }), control, error);
    wrapper.control = control;
    wrapper.error = error;
    return wrapper;
  }

  function setFieldError(wrapper, message) {
    wrapper.error.textContent = message || '';
    wrapper.error.hidden = !message;
    const target = wrapper.control;
    if (message) target.setAttribute('aria-invalid', 'true');
    else target.removeAttribute('aria-invalid');
  }

  function showError(el, error) {
    el.textContent = error ? error.message : '';
    el.hidden = !error;
  }

  /** The host's identity token's claims, for display only: the server verifies the token. */
  function identityClaims() {
    if (!identityToken || state.config.identity.mode === 'off') return null;
    try {
      const part = identityToken.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const json = decodeURIComponent(Array.from(atob(part),
        (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''));
      return JSON.parse(json);
    } catch {
      return null;
    }
  }

  function questionControl(q) {
    if (q.type === 'multiline') {
      return h('textarea', { name: q.id, rows: '3', maxlength: String(q.max_length) });
    }
    if (q.type === 'choice') {
      return h('select', { name: q.id },
        h('option', { value: '', text: t('choose_option') }),
        ...q.options.map((o) => h('option', { value: o.value, text: o.label })));
    }
    if (q.type === 'consent') return h('input', { type: 'checkbox', name: q.id });
    return h('input', { type: 'text', name: q.id, maxlength: String(q.max_length) });
  }

  function questionField(q) {
    const control = questionControl(q);
    if (q.type !== 'consent') {
      const label = q.required ? q.label : `${q.label} ${t('optional_suffix')}`;
      const wrapper = field(label, control, { required: q.required });
      wrapper.question = q;
      return wrapper;
    }
    fieldCount += 1;
    control.id = `om-f${fieldCount}`;
    const error = h('p', { class: 'error', id: `${control.id}-error`, hidden: true });
    control.setAttribute('aria-describedby', error.id);
    if (q.required) control.setAttribute('aria-required', 'true');
    const wrapper = h('div', { class: 'field' },
      h('label', { class: 'check', for: control.id }, control, h('span', { text: q.label })), error);
    wrapper.control = control;
    wrapper.error = error;
    wrapper.question = q;
    return wrapper;
  }

  function questionValue(wrapper) {
    const { control, question } = wrapper;
    if (question.type === 'consent') return control.checked;
    return control.value.trim();
  }

  function buildPrechat() {
    const config = state.config;
    ui.nameField = field(t('name'), h('input', { name: 'name', type: 'text', maxlength: '200',
      autocomplete: 'name' }), { required: true });
    const emailPolicy = config.prechat.email;
    ui.emailField = field(emailPolicy === 'required' ? t('email') : t('email_optional'),
      h('input', { name: 'email', type: 'email', maxlength: '254', autocomplete: 'email' }),
      { required: emailPolicy === 'required' });
    const queues = config.queues || [];
    ui.queue = h('select', { name: 'queue' },
      h('option', { value: '', text: t('no_preference') }),
      ...queues.map((q) => h('option', { value: q.id, text: q.name })));
    // No preference (empty) by default: the server then uses the widget's own queue.
    ui.queueField = field(t('topic'), ui.queue);
    ui.queueField.hidden = queues.length < 2;
    ui.questionFields = config.prechat.questions.map(questionField);
    ui.questionField = field(t('question'), h('textarea', { name: 'question', maxlength: '4000',
      rows: '3' }));
    ui.questionField.hidden = !config.prechat.ask_question;
    ui.signedIn = h('p', { class: 'note', 'data-testid': 'widget-signed-in', hidden: true });
    ui.prechatError = h('p', { class: 'error', role: 'alert', hidden: true });
    ui.start = h('button', { type: 'submit', class: 'primary', 'data-testid': 'widget-start',
      text: t('start') });
    const form = h(
      'form',
      { class: 'form', 'data-testid': 'widget-prechat', novalidate: true },
      h('p', { class: 'intro', text: t('prechat_intro') }),
      ui.signedIn,
      ui.nameField,
      ui.emailField,
      ui.queueField,
      ...ui.questionFields,
      ui.questionField,
      ui.prechatError,
      ui.start,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      startChat();
    });
    ui.prechatForm = form;
    applyIdentity();
    return form;
  }

  /** The host vouches for who this is (identity token): what it told us is not asked again. */
  function applyIdentity() {
    const claims = identityClaims() || {};
    ui.nameField.hidden = Boolean(claims.name);
    ui.emailField.hidden = Boolean(claims.email) || state.config.prechat.email === 'hidden';
    ui.signedIn.hidden = !claims.name;
    ui.signedIn.textContent = claims.name ? t('signed_in_as', { name: claims.name }) : '';
  }

  /** Client-side checks mirror the server's (which decides): first problem gets the focus. */
  function checkPrechat() {
    const problems = [];
    const name = ui.nameField.control.value.trim();
    const email = ui.emailField.control.value.trim();
    setFieldError(ui.nameField, null);
    setFieldError(ui.emailField, null);
    if (!ui.nameField.hidden && !name) problems.push([ui.nameField, t('name_required')]);
    if (!ui.emailField.hidden && state.config.prechat.email === 'required' && !email) {
      problems.push([ui.emailField, t('email_required')]);
    }
    const answers = {};
    for (const wrapper of ui.questionFields) {
      setFieldError(wrapper, null);
      const value = questionValue(wrapper);
      const { question } = wrapper;
      if (question.required && (value === '' || value === false)) {
        problems.push([wrapper, t('answer_required', { label: question.label })]);
      }
      if (value !== '' && !(question.type === 'consent' && value === false && !question.required)) {
        answers[question.id] = value;
      }
    }
    for (const [wrapper, message] of problems) setFieldError(wrapper, message);
    if (problems.length) {
      problems[0][0].control.focus();
      return null;
    }
    return { name, email, answers };
  }

  // -- the offline form ----------------------------------------------------------------------

  function buildOffline() {
    ui.offlineName = field(t('name'), h('input', { type: 'text', name: 'name', maxlength: '200',
      autocomplete: 'name' }), { required: true });
    ui.offlineEmail = field(t('email'), h('input', { type: 'email', name: 'email',
      maxlength: '254', autocomplete: 'email' }), { required: true });
    ui.offlineMessage = field(t('offline_message'), h('textarea', { name: 'message', rows: '4',
      maxlength: '4000' }), { required: true });
    ui.offlineError = h('p', { class: 'error', role: 'alert', hidden: true });
    ui.offlineSend = h('button', { type: 'submit', class: 'primary',
      'data-testid': 'widget-offline-send', text: t('offline_send') });
    ui.offlineWhen = h('p', { class: 'note', 'data-testid': 'widget-offline-when', hidden: true });
    ui.offlineForm = h('form', { class: 'form inner', novalidate: true },
      ui.offlineName, ui.offlineEmail, ui.offlineMessage, ui.offlineError, ui.offlineSend);
    ui.offlineThanks = h('p', { class: 'note', role: 'status', tabindex: '-1',
      'data-testid': 'widget-offline-thanks', hidden: true, text: t('offline_thanks') });
    ui.offlineClosed = h('p', { class: 'note', hidden: true, text: t('offline_unavailable') });
    ui.offlineForm.addEventListener('submit', (event) => {
      event.preventDefault();
      sendOffline();
    });
    ui.offlineHeading = h('h3', { id: 'om-offline-title', tabindex: '-1', text: t('offline_title') });
    return h('section', { class: 'form', 'data-testid': 'widget-offline',
      'aria-labelledby': 'om-offline-title', hidden: true },
    ui.offlineHeading, ui.offlineWhen,
    h('p', { class: 'intro', text: t('offline_intro') }), ui.offlineClosed, ui.offlineForm,
    ui.offlineThanks);
  }

  function nextOpeningText() {
    const when = state.config.availability.next_opening;
    if (!when) return '';
    const date = new Date(when);
    if (Number.isNaN(date.getTime())) return '';
    const format = new Intl.DateTimeFormat(language(),
      { weekday: 'long', hour: '2-digit', minute: '2-digit' });
    return t('offline_next_opening', { when: format.format(date) });
  }

  async function sendOffline() {
    const fields = [ui.offlineName, ui.offlineEmail, ui.offlineMessage];
    let first = null;
    for (const wrapper of fields) {
      const empty = !wrapper.control.value.trim();
      setFieldError(wrapper, empty
        ? (wrapper === ui.offlineEmail ? t('email_required') : t('answer_required',
          { label: wrapper.querySelector('label').textContent })) : null);
      if (empty && !first) first = wrapper;
    }
    if (first) {
      first.control.focus();
      return;
    }
    ui.offlineSend.disabled = true;
    showError(ui.offlineError, null);
    try {
      await withRetries(() => request('POST', '/offline-messages', {
        name: ui.offlineName.control.value.trim(),
        email: ui.offlineEmail.control.value.trim(),
        message: ui.offlineMessage.control.value.trim(),
        visitor_id: state.visitorId,
        language: language(),
      }));
      state.offlineSent = true;
      showView();
      ui.offlineThanks.focus();
    } catch (error) {
      showError(ui.offlineError, error);
    } finally {
      ui.offlineSend.disabled = false;
    }
  }

  // -- the chat ------------------------------------------------------------------------------

  function buildChat() {
    ui.status = h('p', { class: 'status', role: 'status', 'data-testid': 'widget-status' });
    ui.log = h('ol', { class: 'log', role: 'log', 'aria-live': 'polite',
      'aria-label': t('messages_label'), 'data-testid': 'widget-messages', tabindex: '0' });
    ui.typing = h('p', { class: 'typing', 'data-testid': 'widget-typing', hidden: true,
      text: t('agent_typing') });
    ui.newChat = h('button', { type: 'button', class: 'primary', 'data-testid': 'widget-new-chat',
      text: t('new_chat') });
    ui.endedText = h('p', { tabindex: '-1', text: t('ended_thanks') });
    ui.csat = buildCsat();
    ui.ended = h('div', { class: 'ended', 'data-testid': 'widget-ended', hidden: true },
      ui.endedText, ui.csat, ui.newChat);
    ui.input = h('textarea', { id: 'om-input', rows: '1', maxlength: '4000',
      placeholder: t('input_placeholder'), 'data-testid': 'widget-input' });
    ui.send = h('button', { type: 'submit', class: 'primary', 'data-testid': 'widget-send',
      text: t('send') });
    ui.files = h('ul', { class: 'files', 'data-testid': 'widget-files', hidden: true,
      'aria-label': t('attach') });
    ui.fileInput = h('input', { type: 'file', multiple: true, hidden: true, id: 'om-files',
      'data-testid': 'widget-file-input' });
    ui.attach = h('button', { type: 'button', class: 'attach', 'data-testid': 'widget-attach',
      'aria-label': t('attach'), 'aria-controls': 'om-files', title: t('attach'), text: '📎' });
    const files = attachmentsConfig();
    ui.composer = h('form', { class: 'composer' }, ui.files,
      h('label', { for: 'om-input', class: 'sr-only', text: t('input_label') }), ui.input,
      files.enabled ? ui.attach : null, ui.send, files.enabled ? ui.fileInput : null);
    if (files.enabled) wireAttachments();
    ui.chatError = h('p', { class: 'error', role: 'alert', hidden: true });
    ui.end = h('button', { type: 'button', class: 'link danger', 'data-testid': 'widget-end',
      text: t('end') });
    ui.downloadHtml = h('button', { type: 'button', class: 'link',
      'data-testid': 'widget-transcript-download', text: t('transcript_download') });
    ui.downloadText = h('button', { type: 'button', class: 'link',
      'data-testid': 'widget-transcript-download-text', text: t('transcript_download_text') });
    ui.emailToggle = h('button', { type: 'button', class: 'link', 'aria-expanded': 'false',
      'aria-controls': 'om-mailer', 'data-testid': 'widget-transcript-email',
      text: t('transcript_email') });
    const transcript = config().transcript;
    ui.transcriptGroup = h('div', { class: 'group', role: 'group',
      'aria-label': t('transcript_actions') },
    transcript.download ? ui.downloadHtml : null, transcript.download ? ui.downloadText : null,
    transcript.email ? ui.emailToggle : null);
    ui.foot = h('div', { class: 'foot' }, ui.transcriptGroup, ui.end);
    ui.mailer = buildMailer();

    ui.composer.addEventListener('submit', (event) => {
      event.preventDefault();
      sendDraft();
    });
    ui.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        sendDraft();
      }
    });
    ui.input.addEventListener('input', () => {
      if (ui.input.value.trim()) typing.poke();
      else typing.stop();
    });
    ui.end.addEventListener('click', endChat);
    ui.newChat.addEventListener('click', () => {
      newChat();
      focusFirstField();
    });
    ui.downloadHtml.addEventListener('click', () => downloadTranscript('html'));
    ui.downloadText.addEventListener('click', () => downloadTranscript('text'));
    ui.emailToggle.addEventListener('click', () => toggleMailer());
    return h('div', { class: 'body', 'data-testid': 'widget-chat', hidden: true },
      ui.status, ui.log, ui.typing, ui.chatError, ui.ended, buildChoices(), ui.composer, ui.foot,
      ui.mailer);
  }

  function config() {
    return state.config;
  }

  // -- CSAT ----------------------------------------------------------------------------------

  function buildCsat() {
    const legend = h('legend', { text: t('csat_legend') });
    ui.stars = [];
    const stars = h('div', { class: 'stars' });
    for (let score = 1; score <= 5; score += 1) {
      const input = h('input', { type: 'radio', name: 'om-rating', value: String(score),
        'aria-label': t(`csat_rating_${score}`), 'data-testid': `widget-csat-${score}` });
      const label = h('label', { title: t(`csat_rating_${score}`) }, input,
        h('span', { 'aria-hidden': 'true', text: '★' }));
      input.addEventListener('change', () => paintStars(score));
      ui.stars.push(label);
      stars.append(label);
    }
    ui.csatComment = field(t('csat_comment'), h('textarea', { name: 'comment', rows: '2',
      maxlength: '2000' }));
    ui.csatComment.hidden = !config().csat.ask_comment;
    ui.csatError = h('p', { class: 'error', role: 'alert', hidden: true });
    ui.csatSubmit = h('button', { type: 'submit', class: 'primary',
      'data-testid': 'widget-csat-submit', text: t('csat_submit') });
    ui.csatForm = h('form', { class: 'form inner', novalidate: true, 'data-testid': 'widget-csat' },
    h('fieldset', { class: 'field' }, legend, stars), ui.csatComment, ui.csatError, ui.csatSubmit);
    ui.csatThanks = h('p', { role: 'status', tabindex: '-1', 'data-testid': 'widget-csat-thanks',
      hidden: true, text: t('csat_thanks') });
    ui.csatForm.addEventListener('submit', (event) => {
      event.preventDefault();
      submitCsat();
    });
    return h('div', {}, ui.csatForm, ui.csatThanks);
  }

  function paintStars(score) {
    ui.stars.forEach((label, index) => label.classList.toggle('lit', index < score));
  }

  function chosenRating() {
    const checked = ui.csatForm.querySelector('input[name="om-rating"]:checked');
    return checked ? Number(checked.value) : 0;
  }

  async function submitCsat() {
    const rating = chosenRating();
    if (!rating) {
      showError(ui.csatError, new Error(t('csat_choose')));
      ui.csatForm.querySelector('input[name="om-rating"]').focus();
      return;
    }
    const chat = state.chat;
    ui.csatSubmit.disabled = true;
    showError(ui.csatError, null);
    try {
      await withRetries(() => request('POST', '/conversation/csat',
        { rating, comment: ui.csatComment.control.value.trim() }, chat.token));
      chat.rated = true;
      persist();
      renderCsat();
      ui.csatThanks.focus();
    } catch (error) {
      showError(ui.csatError, error);
    } finally {
      ui.csatSubmit.disabled = false;
    }
  }

  function renderCsat() {
    const enabled = config().csat.enabled;
    const rated = Boolean(state.chat && state.chat.rated);
    ui.csatForm.hidden = !enabled || rated;
    ui.csatThanks.hidden = !enabled || !rated;
  }

  // -- transcripts ---------------------------------------------------------------------------

  async function downloadTranscript(format) {
    const chat = state.chat;
    if (!chat) return;
    showError(ui.chatError, null);
    try {
      const query = `?format=${format}&lang=${encodeURIComponent(language())}`;
      const response = await fetchApi('GET', `/conversation/transcript${query}`, undefined,
        chat.token);
      if (!response.ok) {
        const data = await response.json().catch(() => null);
        throw new WidgetError(response.status, data && data.detail);
      }
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const suffix = format === 'html' ? 'html' : 'txt';
      const link = h('a', { href: url, download:
        `chat-transcript-${chat.conversationId.slice(-8)}.${suffix}`, hidden: true });
      ui.shadow.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (error) {
      showError(ui.chatError, error);
    }
  }

  function buildMailer() {
    ui.mailerField = field(t('transcript_email_label'), h('input', { type: 'email',
      name: 'transcript_email', maxlength: '254', autocomplete: 'email' }), { required: true });
    ui.mailerSend = h('button', { type: 'submit', class: 'secondary',
      'data-testid': 'widget-transcript-email-send', text: t('transcript_email_send') });
    ui.mailerStatus = h('p', { class: 'note', role: 'status',
      'data-testid': 'widget-transcript-email-status' });
    const form = h('form', { class: 'mailer', id: 'om-mailer', novalidate: true, hidden: true },
      ui.mailerField, ui.mailerSend);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      emailTranscript();
    });
    ui.mailerForm = form;
    return h('div', {}, form, h('div', { class: 'mailer-status' }, ui.mailerStatus));
  }

  function toggleMailer(show = ui.mailerForm.hidden) {
    ui.mailerForm.hidden = !show;
    ui.emailToggle.setAttribute('aria-expanded', String(show));
    if (show) {
      if (!ui.mailerField.control.value && state.chat) {
        ui.mailerField.control.value = state.chat.email || '';
      }
      ui.mailerField.control.focus();
    }
  }

  async function emailTranscript() {
    const email = ui.mailerField.control.value.trim();
    setFieldError(ui.mailerField, email ? null : t('email_required'));
    if (!email) {
      ui.mailerField.control.focus();
      return;
    }
    ui.mailerSend.disabled = true;
    try {
      const reply = await withRetries(() => request('POST', '/conversation/transcript/email',
        { email, language: language() }, state.chat.token));
      ui.mailerStatus.textContent = t('transcript_sent', { email: reply.email });
      toggleMailer(false);
      ui.emailToggle.focus();
    } catch (error) {
      setFieldError(ui.mailerField, error.message);
    } finally {
      ui.mailerSend.disabled = false;
    }
  }

  // -- proactive invitations -----------------------------------------------------------------

  function buildInvite() {
    ui.inviteText = h('p', { 'data-testid': 'widget-invite-text' });
    ui.inviteAccept = h('button', { type: 'button', class: 'primary',
      'data-testid': 'widget-invite-accept', text: t('invite_accept') });
    ui.inviteDismiss = h('button', { type: 'button', class: 'secondary',
      'data-testid': 'widget-invite-dismiss', text: t('invite_dismiss') });
    const box = h('aside', { class: 'invite', 'aria-label': t('invite_label'),
      'data-testid': 'widget-invite', hidden: true },
    ui.inviteText, h('div', { class: 'actions' }, ui.inviteDismiss, ui.inviteAccept));
    ui.inviteAccept.addEventListener('click', () => {
      hideInvite();
      setOpen(true, { focus: true });
    });
    ui.inviteDismiss.addEventListener('click', () => {
      hideInvite();
      ui.launcher.focus();
    });
    return box;
  }

  function hideInvite() {
    ui.invite.hidden = true;
  }

  /** '*' matches anything; the rest is literal. Path (plus query when the pattern has '?'),
   * or the whole address when the pattern starts with http. */
  function urlMatches(pattern) {
    if (!pattern) return true;
    const here = window.location;
    let target = here.pathname;
    if (/^https?:/i.test(pattern)) target = here.href.split('#')[0];
    else if (pattern.includes('?')) target = here.pathname + here.search;
    const source = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    return new RegExp(`^${source}$`, 'i').test(target);
  }

  /** At most one invitation per visitor session, never over a chat or an open panel. */
  function scheduleInvitations() {
    const session = store.read(window.sessionStorage, INVITED_KEY);
    if (session.invited) return;
    for (const rule of config().proactive || []) {
      if (!urlMatches(rule.url_pattern)) continue;
      const wait = Math.max(0, rule.min_seconds_on_page * 1000 - performance.now());
      setTimeout(() => invite(rule), wait);
    }
  }

  function invite(rule) {
    const session = store.read(window.sessionStorage, INVITED_KEY);
    if (session.invited || state.open || state.chat) return;
    store.write({ invited: rule.id }, window.sessionStorage, INVITED_KEY);
    ui.inviteText.textContent = rule.message;
    ui.invite.hidden = false;
    ui.announce.textContent = rule.message;
  }

  // -- views ---------------------------------------------------------------------------------

  /** Focus moves only on a visitor's action: a widget must not steal focus on page load. */
  function setOpen(open, { focus = false } = {}) {
    state.open = open;
    ui.panel.hidden = !open;
    ui.launcher.setAttribute('aria-expanded', String(open));
    if (open) {
      hideInvite();
      state.unread = 0;
      renderBadge();
      scrollToEnd();
      if (!state.chat && Date.now() - state.configAt > CONFIG_STALE_MS) refreshAvailability();
      if (focus) focusFirstField();
    } else if (focus) {
      ui.launcher.focus();
    }
    persist();
  }

  function focusFirstField() {
    if (state.chat) {
      (isEnded() ? ui.endedText : ui.input).focus();
      return;
    }
    if (!ui.offline.hidden) {
      const first = [ui.offlineName, ui.offlineEmail, ui.offlineMessage]
        .find((w) => !w.hidden && !ui.offlineForm.hidden);
      (first ? first.control : ui.offlineHeading).focus();
      return;
    }
    const first = [ui.nameField, ui.emailField, ui.queueField, ...ui.questionFields,
      ui.questionField].find((w) => !w.hidden);
    (first ? first.control : ui.start).focus();
  }

  function renderBadge() {
    ui.badge.hidden = state.unread === 0;
    ui.badge.textContent = state.unread ? String(state.unread) : '';
    // The badge is drawn for the eye; the button's name tells screen readers the same.
    let label = t('launcher');
    if (state.unread === 1) label = t('launcher_unread_one');
    else if (state.unread > 1) label = t('launcher_unread_many', { count: state.unread });
    ui.launcher.setAttribute('aria-label', label);
  }

  function chatIsClosed() {
    return !config().availability.open;
  }

  /** Only the current view is in the document, so labels and tab order never reach the others. */
  function showView() {
    const chat = Boolean(state.chat);
    const closed = !chat && chatIsClosed();
    let view = ui.prechat;
    if (chat) view = ui.chat;
    else if (closed) view = ui.offline;
    for (const other of [ui.prechat, ui.offline, ui.chat]) other.hidden = other !== view;
    if (view.parentNode !== ui.views) ui.views.replaceChildren(view);
    if (closed) {
      const formOn = config().offline.enabled;
      ui.offlineClosed.hidden = formOn;
      ui.offlineForm.hidden = !formOn || state.offlineSent;
      ui.offlineThanks.hidden = !state.offlineSent;
      const when = nextOpeningText();
      ui.offlineWhen.textContent = when;
      ui.offlineWhen.hidden = !when;
    }
    if (chat) renderStatus();
  }

  function isEnded() {
    return Boolean(state.chat) && ENDED_STATES.includes(state.chat.state);
  }

  function statusText() {
    if (isEnded()) return [t('status_ended'), 'ended'];
    if (state.connection === 'reconnecting') return [t('status_reconnecting'), 'offline'];
    if (state.connection === 'connecting') return [t('status_connecting'), ''];
    switch (state.chat.state) {
      case 'open':
        return [placeText(), ''];
      case 'waiting':
        return [t('status_waiting'), ''];
      default:
        if (state.bot.holding) {
          return [t('status_with_bot', { name: state.bot.name || t('bot_default_name') }), 'bot'];
        }
        return [state.agentName ? t('status_with_agent', { name: state.agentName })
          : t('status_agent_joined'), ''];
    }
  }

  function renderStatus() {
    const [text, tone] = statusText();
    ui.status.textContent = text;
    ui.status.dataset.tone = tone;
    const ended = isEnded();
    const wasComposing = ui.shadow.activeElement === ui.input;
    ui.ended.hidden = !ended;
    ui.composer.hidden = ended;
    ui.end.hidden = ended;
    renderChoices();
    if (ended) {
      showTyping(false);
      renderCsat();
      // The composer just disappeared under the visitor's cursor: keep their place.
      if (wasComposing) ui.endedText.focus();
    }
  }

  // -- messages ------------------------------------------------------------------------------

  function timeOf(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime())
      ? ''
      : date.toLocaleTimeString(language(), { hour: '2-digit', minute: '2-digit' });
  }

  function messageElement(message) {
    const li = h('li', { class: `msg msg-${message.sender_kind}`, 'data-testid': 'widget-message',
      'data-sender-kind': message.sender_kind });
    if (message.seq !== undefined) li.dataset.seq = String(message.seq);
    const files = message.attachments || [];
    if (message.text || (!files.length && !message.location)) {
      li.append(h('p', { class: 'text', text: message.text }));
    }
    if (files.length) li.append(filesElement(files));
    const place = message.location ? placeElement(message.location) : null;
    if (place) li.append(place);
    if (message.sender_kind !== 'system') {
      const who = message.sender_kind === 'customer' ? t('you') : message.sender_name;
      const when = message.created_at ? ` · ${timeOf(message.created_at)}` : '';
      li.append(h('span', { class: 'meta', text: who + when }));
    }
    return li;
  }

  function insertInOrder(li, seq) {
    // Unsent messages (no seq yet) stay last; everything else by seq.
    const later = [...ui.log.children].find(
      (el) => el.dataset.seq === undefined || Number(el.dataset.seq) > seq,
    );
    ui.log.insertBefore(li, later || null);
  }

  function scrollToEnd() {
    if (ui.log) ui.log.scrollTop = ui.log.scrollHeight;
  }

  /** Store and show a message once; returns false for a duplicate. */
  function addMessage(message, { live = true } = {}) {
    const chat = state.chat;
    if (!chat || !Number.isInteger(message.seq)) return false;
    if (live && chat.messages.has(message.seq)) return false;
    chat.messages.set(message.seq, message);
    // The cursor only moves over an unbroken run, so resuming never skips a missing message.
    while (chat.messages.has(chat.cursor + 1)) chat.cursor += 1;
    if (message.sender_kind === 'agent') {
      state.agentName = message.sender_name;
      showTyping(false);
      if (live && !state.open) {
        state.unread += 1;
        renderBadge();
      }
    }
    if (message.sender_kind === 'customer') dropEchoedPending(message.text);
    insertInOrder(messageElement(message), message.seq);
    scrollToEnd();
    if (live) {
      persist();
      renderStatus();
    }
    return true;
  }

  /** The socket may bring our own message before the POST reply: retire the pending copy.
   * Masking can change what we sent (card numbers), so any one pending copy may be the one. */
  function dropEchoedPending(text) {
    const pending = [...ui.log.querySelectorAll('.msg-pending')];
    const same = pending.find((el) => el.dataset.text === text);
    if (same) same.remove();
  }

  function renderStoredMessages() {
    ui.log.replaceChildren();
    const stored = [...state.chat.messages.values()].sort((a, b) => a.seq - b.seq);
    for (const message of stored) addMessage(message, { live: false });
  }

  let typingTimer = null;
  function showTyping(on) {
    clearTimeout(typingTimer);
    ui.typing.hidden = !on || isEnded();
    // A lost "stopped typing" frame must not leave the indicator on for good.
    if (on) typingTimer = setTimeout(() => showTyping(false), AGENT_TYPING_TIMEOUT_MS);
  }

  /** Typing on/off for the agent, at most one "on" every 3 s and "off" after a pause. */
  const typing = {
    lastOn: 0,
    idleTimer: null,
    poke() {
      if (Date.now() - this.lastOn > 3000) {
        this.lastOn = Date.now();
        socketSend({ type: 'typing', is_typing: true });
      }
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => this.stop(), 4000);
    },
    stop() {
      clearTimeout(this.idleTimer);
      if (this.lastOn) {
        this.lastOn = 0;
        socketSend({ type: 'typing', is_typing: false });
      }
    },
  };

  // -- commands ------------------------------------------------------------------------------

  async function loadConfig() {
    const query = `?lang=${encodeURIComponent(requestedLanguage)}`;
    state.config = await request('GET', `/config${query}`);
    state.configAt = Date.now();
  }

  /** Opening hours move on while a page stays open: ask again before showing the start form. */
  async function refreshAvailability() {
    try {
      await loadConfig();
    } catch {
      return; // keep what we knew
    }
    if (!state.chat) showView();
  }

  async function startChat() {
    const checked = checkPrechat();
    if (!checked) return;
    ui.start.disabled = true;
    showError(ui.prechatError, null);
    try {
      const reply = await request('POST', '/conversations', {
        name: checked.name,
        email: checked.email || null,
        question: ui.questionField.hidden ? '' : ui.questionField.control.value.trim(),
        queue: ui.queue.value || null,
        visitor_id: state.visitorId,
        answers: checked.answers,
        language: language(),
        identity_token: identityToken,
      });
      state.chat = {
        token: reply.token,
        conversationId: reply.conversation.id,
        customerName: reply.customer_name,
        email: (reply.conversation.prechat && reply.conversation.prechat.email) || checked.email,
        state: reply.conversation.state,
        cursor: 0,
        messages: new Map(),
        rated: false,
      };
      state.agentName = '';
      ui.log.replaceChildren();
      hideInvite();
      persist();
      showView();
      connect();
      ui.input.focus();
    } catch (error) {
      showError(ui.prechatError, error);
    } finally {
      ui.start.disabled = false;
    }
  }

  function sendDraft() {
    const text = ui.input.value.trim();
    if (!state.chat || isEnded()) return;
    if (chosen.some((f) => f.state === 'uploading')) {
      showError(ui.chatError, new WidgetError(0, t('attach_wait')));
      return;
    }
    const ready = chosen.filter((f) => f.state === 'ready');
    if (!text && !ready.length) return;
    ui.input.value = '';
    typing.stop();
    for (const f of ready) f.element.remove();
    chosen = chosen.filter((f) => f.state !== 'ready');
    ui.files.hidden = chosen.length === 0;
    postMessage(text, randomId(), null, ready.map((f) => f.stored));
  }

  // -- attachments ---------------------------------------------------------------------------

  const PREVIEW_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
  let chosen = []; // files in the composer: { file, state, stored, element }

  function attachmentsConfig() {
    const c = config().attachments;
    return c || { enabled: false, max_bytes: 0, blocked_extensions: [] };
  }

  function sizeText(bytes) {
    if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
    if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
    return `${bytes} B`;
  }

  function wireAttachments() {
    ui.attach.addEventListener('click', () => ui.fileInput.click());
    ui.fileInput.addEventListener('change', () => {
      addFiles([...ui.fileInput.files]);
      ui.fileInput.value = '';
    });
    ui.composer.addEventListener('dragover', (event) => {
      if (![...(event.dataTransfer ? event.dataTransfer.types : [])].includes('Files')) return;
      event.preventDefault();
      ui.composer.classList.add('drop');
    });
    ui.composer.addEventListener('dragleave', () => ui.composer.classList.remove('drop'));
    ui.composer.addEventListener('drop', (event) => {
      ui.composer.classList.remove('drop');
      const files = [...(event.dataTransfer ? event.dataTransfer.files : [])];
      if (!files.length) return;
      event.preventDefault();
      addFiles(files);
    });
    ui.input.addEventListener('paste', (event) => {
      const files = [...(event.clipboardData ? event.clipboardData.files : [])];
      if (!files.length) return;
      event.preventDefault();
      addFiles(files);
    });
  }

  /** Checks the widget's limits first (the server checks them again), then uploads each file. */
  function addFiles(files) {
    const limits = attachmentsConfig();
    for (const file of files) {
      const entry = { file, state: 'uploading', stored: null };
      const dot = file.name.lastIndexOf('.');
      const ext = dot > 0 ? file.name.slice(dot + 1).toLowerCase() : '';
      let problem = '';
      if (file.size > limits.max_bytes) {
        problem = t('attach_too_big', { name: file.name, size: sizeText(limits.max_bytes) });
      } else if (limits.blocked_extensions.includes(ext)) {
        problem = t('attach_blocked', { name: file.name });
      }
      entry.element = fileRow(entry);
      chosen.push(entry);
      ui.files.append(entry.element);
      if (problem) setFileState(entry, 'failed', problem);
      else uploadFile(entry);
    }
    ui.files.hidden = chosen.length === 0;
  }

  function fileRow(entry) {
    const remove = h('button', { type: 'button', 'data-testid': 'widget-file-remove',
      'aria-label': t('attach_remove', { name: entry.file.name }), text: '×' });
    const li = h('li', { 'data-testid': 'widget-file' },
      h('span', { text: entry.file.name }), h('span', { text: sizeText(entry.file.size) }),
      h('span', { class: 'state', role: 'status', 'data-testid': 'widget-file-state' }), remove);
    remove.addEventListener('click', () => {
      chosen = chosen.filter((x) => x !== entry);
      li.remove();
      ui.files.hidden = chosen.length === 0;
      ui.input.focus();
    });
    return li;
  }

  function setFileState(entry, state, text = '') {
    entry.state = state;
    entry.element.dataset.state = state;
    const label = entry.element.querySelector('.state');
    if (state === 'uploading') label.textContent = t('attach_uploading');
    else if (state === 'ready') label.textContent = t('attach_ready');
    else label.textContent = text;
  }

  async function uploadFile(entry) {
    const chat = state.chat;
    setFileState(entry, 'uploading');
    const body = new FormData();
    body.append('file', entry.file, entry.file.name);
    try {
      entry.stored = await request('POST', '/conversation/attachments', body, chat.token);
      setFileState(entry, 'ready');
    } catch (error) {
      setFileState(entry, 'failed', error.message);
    }
  }

  /** A file of the chat, fetched with the chat token (links cannot carry it). */
  async function fetchFile(file) {
    const chat = state.chat;
    const response = await fetchApi('GET',
      `/conversation/attachments/${encodeURIComponent(file.id)}`, undefined, chat.token);
    if (!response.ok) throw new WidgetError(response.status);
    return response.blob();
  }

  function readAsDataUrl(blob) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    });
  }

  async function saveFile(file) {
    try {
      const url = URL.createObjectURL(await fetchFile(file));
      const link = h('a', { href: url, download: file.filename, hidden: true });
      ui.shadow.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (error) {
      showError(ui.chatError, error);
    }
  }

  /** Images preview inline (a data: URL, allowed by strict page policies); files download. */
  function filesElement(files) {
    const list = h('ul', { class: 'msg-files', 'data-testid': 'widget-message-files' });
    for (const file of files) {
      if (!file.id) continue; // provider links never reach web chat customers
      if (PREVIEW_TYPES.includes(file.content_type)) {
        const img = h('img', { alt: file.filename, 'data-testid': 'widget-image-preview' });
        const open = h('button', { type: 'button', class: 'preview',
          'aria-label': t('attach_open', { name: file.filename }) }, img);
        open.addEventListener('click', () => saveFile(file));
        fetchFile(file).then(readAsDataUrl).then((src) => { img.src = src; }).catch(() => {
          img.replaceWith(document.createTextNode(file.filename));
        });
        list.append(h('li', null, open));
      } else {
        const chip = h('button', { type: 'button', 'data-testid': 'widget-file-link',
          'aria-label': t('attach_download', { name: file.filename }),
          text: `${file.filename} · ${sizeText(file.size || 0)}` });
        chip.addEventListener('click', () => saveFile(file));
        list.append(h('li', null, chip));
      }
    }
    return list;
  }

  /** Degrees as the server writes them: at most six decimals, no trailing zeros. */
  function degrees(value) {
    const text = String(Number(Number(value).toFixed(6)));
    return text === '-0' ? '0' : text;
  }

  /** A place the agent shared: "📍 name, address (lat, lon)", linked to OpenStreetMap. The link is
   * built from the numbers, never taken from the message. */
  function placeElement(location) {
    if (!Number.isFinite(location.latitude) || !Number.isFinite(location.longitude)) return null;
    const lat = degrees(location.latitude);
    const lon = degrees(location.longitude);
    const label = [location.name, location.address].filter(Boolean).join(', ');
    const coordinates = `${lat}, ${lon}`;
    return h('p', { class: 'place' }, h('a', {
      href: `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`,
      target: '_blank',
      rel: 'noopener noreferrer',
      'data-testid': 'widget-message-location',
      'aria-label': t('location_open', { place: label || coordinates }),
      text: `📍 ${label ? `${label} (${coordinates})` : coordinates}`,
    }));
  }

  // Posts go out one at a time: two in flight at once could be stored in the wrong order.
  let outbox = Promise.resolve();

  /** Show the message as pending, then queue its post; a retry reuses its client_message_id. */
  function postMessage(text, clientMessageId, pending = null, files = []) {
    const item = pending || messageElement({ sender_kind: 'customer', sender_name: t('you'), text,
      attachments: files });
    item.classList.add('msg-pending');
    item.classList.remove('msg-failed');
    item.dataset.text = text;
    const oldRetry = item.querySelector('.retry');
    if (oldRetry) oldRetry.remove();
    if (!pending) {
      ui.log.append(item);
      scrollToEnd();
    }
    const chat = state.chat;
    outbox = outbox.then(() => deliver(chat, text, clientMessageId, item, files));
  }

  async function deliver(chat, text, clientMessageId, item, files = []) {
    try {
      const body = { text, client_message_id: clientMessageId };
      if (files.length) body.attachment_ids = files.map((f) => f.id);
      const message = await withRetries(() =>
        request('POST', '/conversation/messages', body, chat.token),
      );
      item.remove();
      if (state.chat === chat) addMessage(message);
      showError(ui.chatError, null);
    } catch (error) {
      if (!item.isConnected || state.chat !== chat) return; // delivered meanwhile, or a new chat
      item.classList.add('msg-failed');
      const retry = h('button', { type: 'button', class: 'retry', text: t('retry') });
      retry.addEventListener('click', () => postMessage(text, clientMessageId, item, files));
      item.append(retry);
      showError(ui.chatError, error);
    }
  }

  async function endChat() {
    ui.end.disabled = true;
    const token = state.chat.token;
    try {
      const reply = await withRetries(() => request('POST', '/conversation/end', undefined, token));
      if (state.chat && state.chat.token === token) setChatState(reply.state);
      showError(ui.chatError, null);
      if (state.chat && isEnded()) ui.endedText.focus();
    } catch (error) {
      showError(ui.chatError, error);
    } finally {
      ui.end.disabled = false;
    }
  }

  function newChat() {
    disconnect();
    state.chat = null;
    state.agentName = '';
    state.bot = { holding: false, name: '', choices: [] };
    ui.log.replaceChildren();
    ui.questionField.control.value = '';
    ui.csatForm.reset();
    paintStars(0);
    ui.mailerStatus.textContent = '';
    toggleMailer(false);
    persist();
    showView();
  }

  function setChatState(next) {
    if (!state.chat || !next) return;
    state.chat.state = next;
    persist();
    renderStatus();
    watchPlace();
  }

  // -- place in the queue ----------------------------------------------------------------------

  const PLACE_REFRESH_MS = 15000;
  let placeTimer = null;

  /** While the chat waits in the queue, ask now and then where it stands (position, estimate). */
  function watchPlace() {
    const waiting = Boolean(state.chat) && state.chat.state === 'open';
    if (!waiting) {
      state.place = null;
      if (placeTimer) clearTimeout(placeTimer);
      placeTimer = null;
      return;
    }
    if (!placeTimer) refreshPlace();
  }

  async function refreshPlace() {
    const chat = state.chat;
    if (!chat || chat.state !== 'open') {
      placeTimer = null;
      return;
    }
    try {
      const place = await request('GET', '/conversation/position', undefined, chat.token);
      state.place = place && place.waiting ? place : null;
      renderStatus();
    } catch {
      // Keep the last known place; the next refresh tries again.
    }
    placeTimer = setTimeout(refreshPlace, PLACE_REFRESH_MS);
  }

  function placeText() {
    const place = state.place;
    if (!place || !place.position) return t('place_unknown');
    const ahead = place.position === 1 ? t('place_next')
      : t('place_number', { position: place.position });
    const seconds = place.estimated_wait_seconds;
    if (seconds === null || seconds === undefined) return `${ahead} ${t('place_no_agents')}`;
    const minutes = Math.max(1, Math.round(seconds / 60));
    return `${ahead} ${minutes === 1 ? t('wait_one') : t('wait_many', { minutes })}`;
  }

  // -- a bot answering first ------------------------------------------------------------------

  let botAsking = null; // the request in flight
  let botAgain = false; // something changed while it was in flight: ask once more

  /** Ask whether a bot holds the chat (its name) and which quick replies it waits for. */
  async function refreshBot() {
    const chat = state.chat;
    if (!chat) return;
    if (botAsking) {
      botAgain = true;
      return;
    }
    botAgain = false;
    botAsking = (async () => {
      try {
        const found = isEnded() || chat.state !== 'active'
          ? null : await request('GET', '/conversation/bot', undefined, chat.token);
        if (state.chat !== chat) return;
        state.bot = found && found.holding
          ? { holding: true, name: found.name || '', choices: found.choices || [] }
          : { holding: false, name: '', choices: [] };
        renderStatus();
      } catch {
        // An older server without the route, or a blip: the status stays as it was.
      }
    })();
    await botAsking;
    botAsking = null;
    if (botAgain) refreshBot();
  }

  function buildChoices() {
    ui.choices = h('div', { class: 'choices', role: 'group', hidden: true,
      'aria-label': t('quick_replies_label'), 'data-testid': 'widget-quick-replies' });
    return ui.choices;
  }

  /** The bot's quick replies as buttons; a tap sends its text like a typed message. */
  function renderChoices() {
    if (!ui.choices) return;
    const choices = state.bot.holding && !isEnded() ? state.bot.choices : [];
    const same = ui.choices.dataset.choices === JSON.stringify(choices);
    ui.choices.hidden = choices.length === 0;
    if (same) return;
    ui.choices.dataset.choices = JSON.stringify(choices);
    ui.choices.replaceChildren(...choices.map((choice) => {
      const button = h('button', { type: 'button', class: 'choice', text: choice,
        'data-testid': 'widget-quick-reply' });
      button.addEventListener('click', () => {
        if (!state.chat || isEnded()) return;
        state.bot = { ...state.bot, choices: [] };
        renderChoices();
        postMessage(choice, randomId());
        ui.input.focus();
      });
      return button;
    }));
  }

  // -- the socket ----------------------------------------------------------------------------

  const link = { ws: null, retryTimer: null, pingTimer: null, attempt: 0, lastHeard: 0 };

  function socketSend(frame) {
    if (link.ws && link.ws.readyState === WebSocket.OPEN) link.ws.send(JSON.stringify(frame));
  }

  function setConnection(value) {
    state.connection = value;
    if (state.chat) renderStatus();
  }

  function connect() {
    if (!state.chat || link.ws) return;
    clearTimeout(link.retryTimer);
    setConnection(link.attempt === 0 ? 'connecting' : 'reconnecting');
    const ws = new WebSocket(SOCKET_URL);
    const chat = state.chat;
    link.ws = ws;
    ws.addEventListener('open', () => {
      link.lastHeard = Date.now();
      ws.send(JSON.stringify({ type: 'hello', token: chat.token, last_seq: chat.cursor }));
      link.pingTimer = setInterval(() => keepAlive(ws, chat), PING_EVERY_MS);
    });
    ws.addEventListener('message', (event) => {
      if (link.ws !== ws) return; // frames from an abandoned socket are stale
      link.lastHeard = Date.now();
      onFrame(event.data);
    });
    ws.addEventListener('close', (event) => onClose(ws, chat, event));
  }

  /** Ping so idle proxies keep the socket; no answer for a minute means the link is dead. */
  function keepAlive(ws, chat) {
    if (Date.now() - link.lastHeard < SILENCE_LIMIT_MS) {
      socketSend({ type: 'ping' });
      return;
    }
    onClose(ws, chat, { code: 4001 }); // reconnect now: a dead link's close event can take minutes
    ws.close(4001, 'silent');
  }

  function disconnect() {
    clearTimeout(link.retryTimer);
    clearInterval(link.pingTimer);
    const ws = link.ws;
    link.ws = null;
    link.attempt = 0;
    if (ws) ws.close(1000);
    state.connection = 'idle';
  }

  function onClose(ws, chat, event) {
    if (link.ws !== ws) return; // an old socket, replaced on purpose
    clearInterval(link.pingTimer);
    link.ws = null;
    if (state.chat !== chat) return;
    if (event.code === CLOSE_UNAUTHORIZED) {
      // The server no longer knows this chat (expired or deleted): start afresh.
      newChat();
      return;
    }
    if (isEnded()) {
      setConnection('idle'); // nothing more will happen in an ended chat
      return;
    }
    // Exponential backoff with jitter; a resync request reconnects at once.
    const ceiling = Math.min(30000, 1000 * 2 ** link.attempt);
    const delay = event.code === CLOSE_RESYNC ? 0 : ceiling / 2 + Math.random() * (ceiling / 2);
    link.attempt += 1;
    setConnection('reconnecting');
    // Offline, a new socket would only fail: the browser's 'online' event reconnects at once,
    // and a slow retry stays in case the browser is wrong about being offline.
    link.retryTimer = setTimeout(connect, navigator.onLine === false ? 30000 : delay);
  }

  /** The browser says the network is gone: a socket can linger half-open for minutes, so drop
   * it now (the status says so) and reconnect as soon as the network is back, resuming from the
   * last message seen: nothing is lost, nothing shown twice. */
  window.addEventListener('offline', () => {
    const ws = link.ws;
    if (!ws || !state.chat) return;
    onClose(ws, state.chat, { code: CLOSE_OFFLINE });
    ws.close(CLOSE_OFFLINE, 'offline');
  });
  window.addEventListener('online', () => {
    if (!ui.root || !state.chat || isEnded() || link.ws) return; // not started, or connected
    clearTimeout(link.retryTimer);
    link.attempt = Math.max(1, link.attempt); // the status says "reconnecting", not "connecting"
    connect();
  });

  function onFrame(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    switch (frame.type) {
      case 'snapshot':
        link.attempt = 0;
        state.connection = 'live';
        setChatState(frame.conversation && frame.conversation.state);
        refreshBot();
        break;
      case 'message.posted':
        addMessage(frame.message);
        if (frame.message && frame.message.sender_kind !== 'customer') refreshBot();
        break;
      case 'typing.changed':
        if (frame.sender_kind !== 'customer') showTyping(Boolean(frame.is_typing));
        break;
      case 'conversation.state_changed':
        setChatState(frame.state);
        refreshBot();
        break;
      case 'resync': {
        // Reconnect at once for a fresh snapshot; the old socket's close event is then ignored.
        const old = link.ws;
        if (!old) break;
        onClose(old, state.chat, { code: CLOSE_RESYNC });
        old.close(CLOSE_RESYNC, 'resync');
        break;
      }
      default:
        break; // pong, error and future frame types need no action
    }
  }

  // -- start ---------------------------------------------------------------------------------

  /** What the host page may call (e.g. after its visitor signs in). */
  window.OmnirouteWidget = Object.freeze({
    setIdentityToken(token) {
      identityToken = typeof token === 'string' && token ? token : null;
      if (ui.prechatForm) applyIdentity();
    },
    open() {
      if (ui.panel) setOpen(true, { focus: true });
    },
  });

  async function init() {
    // No config, no words to show: try again with a growing pause rather than draw a blank widget.
    for (let attempt = 0; ; attempt += 1) {
      try {
        await loadConfig();
        break;
      } catch (error) {
        if (error instanceof WidgetError && !error.retryable) {
          console.warn(`Omniroute widget: ${error.message}`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(60000, 2000 * 2 ** attempt)));
      }
    }
    buildUi();
    renderBadge();
    if (state.chat) renderStoredMessages();
    showView();
    setOpen(state.open);
    if (state.chat && !isEnded()) connect();
    if (!state.chat) scheduleInvitations();
  }

  if (document.body) init();
  else document.addEventListener('DOMContentLoaded', init);
})();
