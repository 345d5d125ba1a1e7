/*
 * Omniroute web chat widget.
 *
 * Embed it with one tag on any page:
 *   <script src="https://omniroute.example.com/static/widget/omniroute-widget.js"
 *           data-omniroute-key="pk_..." async></script>
 *
 * A classic script, on purpose: no module loader, no build step and no third-party code, so the
 * tag works on any site. The server it talks to is the one the script was loaded from. It draws
 * inside a Shadow DOM so the host page's CSS cannot break it and its CSS cannot leak out.
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
  const KEEP_MESSAGES = 200;
  const PING_EVERY_MS = 25000;
  const SILENCE_LIMIT_MS = 60000;
  const AGENT_TYPING_TIMEOUT_MS = 8000;
  const CLOSE_UNAUTHORIZED = 4401;
  const CLOSE_RESYNC = 4000;
  const ENDED_STATES = ['wrap_up', 'closed'];

  /** The server root: the script's URL up to /static/widget/ (which allows a path prefix). */
  function serverBase(src) {
    const url = new URL(src, window.location.href);
    const at = url.pathname.lastIndexOf('/static/widget/');
    return url.origin + (at >= 0 ? url.pathname.slice(0, at) : '');
  }

  // -- persistence ---------------------------------------------------------------------------

  /** localStorage can be disabled or full; the widget then just forgets on reload. */
  const store = {
    read() {
      try {
        return JSON.parse(window.localStorage.getItem(STORE_KEY)) || {};
      } catch {
        return {};
      }
    },
    write(value) {
      try {
        window.localStorage.setItem(STORE_KEY, JSON.stringify(value));
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
    chat: null, // { token, conversationId, customerName, state, cursor, messages: Map(seq -> m) }
    agentName: '',
    connection: 'idle', // idle | connecting | live | reconnecting
    unread: 0,
    place: null, // { position, queue_length, estimated_wait_seconds } while the chat waits in the queue
  };
  if (saved.chat && typeof saved.chat.token === 'string') {
    const chat = saved.chat;
    state.chat = {
      token: chat.token,
      conversationId: chat.conversationId,
      customerName: chat.customerName || '',
      state: chat.state || 'open',
      cursor: Number.isInteger(chat.lastSeq) ? chat.lastSeq : 0,
      messages: new Map((chat.messages || []).map((m) => [m.seq, m])),
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
        state: state.chat.state,
        lastSeq: state.chat.cursor,
        messages,
      };
    }
    store.write(value);
  }

  // -- HTTP ----------------------------------------------------------------------------------

  class WidgetError extends Error {
    constructor(status, detail) {
      super(detail || 'Something went wrong. Please try again.');
      this.status = status;
    }

    get retryable() {
      return this.status === 0 || this.status >= 500 || this.status === 429;
    }
  }

  /** JSON over fetch. No cookies: the chat token is the customer's only credential. */
  async function request(method, path, body, token = null) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = `Bearer ${token}`;
    let response;
    try {
      response = await fetch(API + path, {
        method,
        headers,
        mode: 'cors',
        credentials: 'omit',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new WidgetError(0, 'Cannot reach the chat service. Check your connection.');
    }
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
    :host { all: initial; }
    * { box-sizing: border-box; }
    .root { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
      font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2937;
      display: flex; flex-direction: column; align-items: flex-end; gap: 12px; }
    [hidden] { display: none !important; }
    button, input, select, textarea { font: inherit; color: inherit; }
    .launcher { display: inline-flex; align-items: center; gap: 8px; border: 0; cursor: pointer;
      background: #0f766e; color: #fff; padding: 12px 18px; border-radius: 999px;
      box-shadow: 0 6px 20px rgba(15, 23, 42, .25); font-weight: 600; position: relative; }
    .launcher:hover { background: #115e59; }
    .launcher svg { width: 20px; height: 20px; fill: currentColor; }
    .badge { position: absolute; top: -4px; right: -4px; min-width: 20px; height: 20px;
      padding: 0 6px; border-radius: 10px; background: #dc2626; color: #fff; font-size: 12px;
      line-height: 20px; text-align: center; }
    .panel { width: min(370px, calc(100vw - 40px)); height: min(560px, calc(100vh - 110px));
      background: #fff; border-radius: 14px; overflow: hidden; display: flex;
      flex-direction: column; box-shadow: 0 12px 40px rgba(15, 23, 42, .28); }
    .head { background: #0f766e; color: #fff; padding: 14px 16px; display: flex;
      align-items: center; justify-content: space-between; gap: 8px; }
    .head h2 { margin: 0; font-size: 16px; font-weight: 600; }
    .head p { margin: 2px 0 0; font-size: 12px; opacity: .85; }
    .icon-button { background: transparent; border: 0; color: inherit; cursor: pointer;
      font-size: 22px; line-height: 1; width: 32px; height: 32px; border-radius: 6px; }
    .icon-button:hover { background: rgba(255, 255, 255, .15); }
    .body { flex: 1; display: flex; flex-direction: column; min-height: 0; }
    .prechat { padding: 16px; overflow-y: auto; display: flex; flex-direction: column; gap: 12px; }
    .prechat p.intro { margin: 0; color: #4b5563; }
    .field { display: flex; flex-direction: column; gap: 4px; }
    .field label { font-weight: 600; font-size: 13px; }
    .field input, .field select, .field textarea, .composer textarea { width: 100%;
      border: 1px solid #d1d5db; border-radius: 8px; padding: 8px 10px; background: #fff; }
    .field textarea { resize: vertical; min-height: 70px; }
    input:focus, select:focus, textarea:focus, button:focus-visible {
      outline: 2px solid #14b8a6; outline-offset: 1px; }
    .primary { background: #0f766e; color: #fff; border: 0; border-radius: 8px;
      padding: 10px 14px; font-weight: 600; cursor: pointer; }
    .primary:hover { background: #115e59; }
    .primary:disabled { opacity: .6; cursor: default; }
    .error { color: #b91c1c; margin: 0; font-size: 13px; }
    .status { margin: 0; padding: 8px 16px; background: #f0fdfa; color: #115e59;
      border-bottom: 1px solid #ccfbf1; font-size: 13px; }
    .status[data-tone="ended"] { background: #f3f4f6; color: #374151; border-color: #e5e7eb; }
    .status[data-tone="offline"] { background: #fef3c7; color: #92400e; border-color: #fde68a; }
    .log { list-style: none; margin: 0; padding: 12px 16px; flex: 1; overflow-y: auto;
      display: flex; flex-direction: column; gap: 8px; background: #fafafa; }
    .msg { max-width: 82%; display: flex; flex-direction: column; gap: 2px; }
    .msg .text { margin: 0; padding: 8px 12px; border-radius: 14px; white-space: pre-wrap;
      overflow-wrap: anywhere; }
    .msg .meta { font-size: 11px; color: #6b7280; padding: 0 4px; }
    .msg-customer { align-self: flex-end; align-items: flex-end; }
    .msg-customer .text { background: #0f766e; color: #fff; border-bottom-right-radius: 4px; }
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
      flex-direction: column; gap: 8px; align-items: stretch; }
    .ended p { margin: 0; color: #374151; }
    .composer { display: flex; gap: 8px; padding: 10px 12px; border-top: 1px solid #e5e7eb; }
    .composer textarea { resize: none; height: 42px; }
    .foot { display: flex; justify-content: flex-end; padding: 0 12px 8px; }
    .link { background: none; border: 0; color: #6b7280; cursor: pointer; font-size: 12px;
      text-decoration: underline; padding: 2px; }
    .link:hover { color: #b91c1c; }
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

  function buildUi() {
    const host = h('div', { id: 'omniroute-widget', 'data-testid': 'omniroute-widget' });
    const shadow = host.attachShadow({ mode: 'open' });
    applyStyles(shadow);

    ui.title = h('h2', { id: 'om-title', text: 'Chat with us' });
    ui.subtitle = h('p', { text: 'We usually reply in a few minutes.' });
    ui.minimise = h('button', {
      type: 'button', class: 'icon-button', 'aria-label': 'Minimise chat', text: '–',
    });
    ui.prechat = buildPrechat();
    ui.chat = buildChat();
    ui.panel = h(
      'section',
      { class: 'panel', id: 'om-panel', role: 'dialog', 'aria-labelledby': 'om-title',
        'data-testid': 'widget-panel', hidden: true },
      h('header', { class: 'head' }, h('div', {}, ui.title, ui.subtitle), ui.minimise),
      h('div', { class: 'body' }, ui.prechat, ui.chat),
    );
    ui.badge = h('span', { class: 'badge', 'aria-hidden': 'true', hidden: true });
    ui.launcher = h(
      'button',
      { type: 'button', class: 'launcher', 'aria-controls': 'om-panel', 'aria-expanded': 'false',
        'data-testid': 'widget-launcher' },
      chatIcon(), h('span', { class: 'launcher-label', text: 'Chat with us' }), ui.badge,
    );
    shadow.append(h('div', { class: 'root' }, ui.panel, ui.launcher));

    ui.launcher.addEventListener('click', () => setOpen(!state.open, { focus: true }));
    ui.minimise.addEventListener('click', () => setOpen(false, { focus: true }));
    ui.panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') setOpen(false, { focus: true });
    });
    document.body.append(host);
  }

  function field(id, label, control) {
    control.id = id;
    return h('div', { class: 'field' }, h('label', { for: id, text: label }), control);
  }

  function buildPrechat() {
    ui.name = h('input', { name: 'name', type: 'text', required: true, maxlength: '200',
      autocomplete: 'name' });
    ui.email = h('input', { name: 'email', type: 'email', maxlength: '254',
      autocomplete: 'email' });
    ui.question = h('textarea', { name: 'question', maxlength: '4000', rows: '3' });
    ui.queue = h('select', { name: 'queue' });
    ui.queueField = field('om-queue', 'Topic', ui.queue);
    ui.queueField.hidden = true;
    ui.prechatError = h('p', { class: 'error', role: 'alert', hidden: true });
    ui.start = h('button', { type: 'submit', class: 'primary', 'data-testid': 'widget-start',
      text: 'Start chat' });
    const form = h(
      'form',
      { class: 'prechat', 'data-testid': 'widget-prechat', novalidate: false },
      h('p', { class: 'intro', text: 'Tell us a little about you and we will connect you.' }),
      field('om-name', 'Name', ui.name),
      field('om-email', 'Email (optional)', ui.email),
      ui.queueField,
      field('om-question', 'How can we help?', ui.question),
      ui.prechatError,
      ui.start,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      startChat();
    });
    return form;
  }

  function buildChat() {
    ui.status = h('p', { class: 'status', role: 'status', 'data-testid': 'widget-status' });
    ui.log = h('ol', { class: 'log', role: 'log', 'aria-live': 'polite',
      'aria-label': 'Messages', 'data-testid': 'widget-messages' });
    ui.typing = h('p', { class: 'typing', 'data-testid': 'widget-typing', hidden: true,
      text: 'Agent is typing…' });
    ui.newChat = h('button', { type: 'button', class: 'primary', 'data-testid': 'widget-new-chat',
      text: 'Start a new chat' });
    ui.ended = h(
      'div',
      { class: 'ended', 'data-testid': 'widget-ended', hidden: true },
      h('p', { text: 'This chat has ended. Thanks for getting in touch!' }),
      ui.newChat,
    );
    ui.input = h('textarea', { id: 'om-input', rows: '1', maxlength: '4000',
      placeholder: 'Type a message…', 'data-testid': 'widget-input' });
    ui.send = h('button', { type: 'submit', class: 'primary', 'data-testid': 'widget-send',
      text: 'Send' });
    ui.composer = h(
      'form',
      { class: 'composer' },
      h('label', { for: 'om-input', class: 'sr-only', text: 'Message' }),
      ui.input,
      ui.send,
    );
    ui.chatError = h('p', { class: 'error', role: 'alert', hidden: true });
    ui.end = h('button', { type: 'button', class: 'link', 'data-testid': 'widget-end',
      text: 'End chat' });
    ui.foot = h('div', { class: 'foot' }, ui.end);

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
      ui.name.focus();
    });
    return h('div', { class: 'body', 'data-testid': 'widget-chat', hidden: true },
      ui.status, ui.log, ui.typing, ui.chatError, ui.ended, ui.composer, ui.foot);
  }

  function showError(el, error) {
    el.textContent = error ? error.message : '';
    el.hidden = !error;
  }

  // -- views ---------------------------------------------------------------------------------

  /** Focus moves only on a visitor's click: a widget must not steal focus on page load. */
  function setOpen(open, { focus = false } = {}) {
    state.open = open;
    ui.panel.hidden = !open;
    ui.launcher.setAttribute('aria-expanded', String(open));
    if (open) {
      state.unread = 0;
      renderBadge();
      scrollToEnd();
      if (focus) (state.chat && !isEnded() ? ui.input : ui.name).focus();
    } else if (focus) {
      ui.launcher.focus();
    }
    persist();
  }

  function renderBadge() {
    ui.badge.hidden = state.unread === 0;
    ui.badge.textContent = String(state.unread);
    // The badge is drawn for the eye; the button's name tells screen readers the same.
    const label = state.unread === 0 ? 'Chat with us'
      : `Chat with us (${state.unread} new message${state.unread === 1 ? '' : 's'})`;
    ui.launcher.setAttribute('aria-label', label);
  }

  function showView() {
    ui.prechat.hidden = Boolean(state.chat);
    ui.chat.hidden = !state.chat;
    if (state.chat) renderStatus();
  }

  function isEnded() {
    return Boolean(state.chat) && ENDED_STATES.includes(state.chat.state);
  }

  function statusText() {
    if (isEnded()) return ['This chat has ended.', 'ended'];
    if (state.connection === 'reconnecting') return ['Connection lost — reconnecting…', 'offline'];
    if (state.connection === 'connecting') return ['Connecting…', ''];
    switch (state.chat.state) {
      case 'open':
        return [placeText(), ''];
      case 'waiting':
        return ['Your agent will be right back.', ''];
      default:
        return [state.agentName ? `You are chatting with ${state.agentName}.`
          : 'An agent has joined the chat.', ''];
    }
  }

  function renderStatus() {
    const [text, tone] = statusText();
    ui.status.textContent = text;
    ui.status.dataset.tone = tone;
    const ended = isEnded();
    ui.ended.hidden = !ended;
    ui.composer.hidden = ended;
    ui.foot.hidden = ended;
    if (ended) showTyping(false);
  }

  // -- messages ------------------------------------------------------------------------------

  function timeOf(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime())
      ? ''
      : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function messageElement(message) {
    const li = h('li', { class: `msg msg-${message.sender_kind}`, 'data-testid': 'widget-message',
      'data-sender-kind': message.sender_kind });
    if (message.seq !== undefined) li.dataset.seq = String(message.seq);
    li.append(h('p', { class: 'text', text: message.text }));
    if (message.sender_kind !== 'system') {
      const who = message.sender_kind === 'customer' ? 'You' : message.sender_name;
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
    ui.log.scrollTop = ui.log.scrollHeight;
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

  /** The socket may bring our own message before the POST reply: retire the pending copy. */
  function dropEchoedPending(text) {
    const pending = [...ui.log.querySelectorAll('.msg-pending')].find(
      (el) => el.dataset.text === text,
    );
    if (pending) pending.remove();
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
    try {
      state.config = await request('GET', '/config');
    } catch {
      return; // the form still works: the server picks the widget's default queue
    }
    const queues = state.config.queues || [];
    // No preference (empty) by default: the server then uses the widget's own queue.
    ui.queue.replaceChildren(
      h('option', { value: '', text: 'No preference' }),
      ...queues.map((q) => h('option', { value: q.id, text: q.name })),
    );
    ui.queueField.hidden = queues.length < 2;
  }

  async function startChat() {
    const name = ui.name.value.trim();
    if (!name) {
      showError(ui.prechatError, new Error('Please tell us your name.'));
      ui.name.focus();
      return;
    }
    ui.start.disabled = true;
    showError(ui.prechatError, null);
    try {
      const reply = await request('POST', '/conversations', {
        name,
        email: ui.email.value.trim() || null,
        question: ui.question.value.trim(),
        queue: ui.queue.value || null,
        visitor_id: state.visitorId,
      });
      state.chat = {
        token: reply.token,
        conversationId: reply.conversation.id,
        customerName: reply.customer_name,
        state: reply.conversation.state,
        cursor: 0,
        messages: new Map(),
      };
      state.agentName = '';
      ui.log.replaceChildren();
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
    if (!text || !state.chat || isEnded()) return;
    ui.input.value = '';
    typing.stop();
    postMessage(text, randomId());
  }

  // Posts go out one at a time: two in flight at once could be stored in the wrong order.
  let outbox = Promise.resolve();

  /** Show the message as pending, then queue its post; a retry reuses its client_message_id. */
  function postMessage(text, clientMessageId, pending = null) {
    const item = pending || messageElement({ sender_kind: 'customer', sender_name: 'You', text });
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
    outbox = outbox.then(() => deliver(chat, text, clientMessageId, item));
  }

  async function deliver(chat, text, clientMessageId, item) {
    try {
      const body = { text, client_message_id: clientMessageId };
      const message = await withRetries(() =>
        request('POST', '/conversation/messages', body, chat.token),
      );
      item.remove();
      if (state.chat === chat) addMessage(message);
      showError(ui.chatError, null);
    } catch (error) {
      if (!item.isConnected || state.chat !== chat) return; // delivered meanwhile, or a new chat
      item.classList.add('msg-failed');
      const retry = h('button', { type: 'button', class: 'retry', text: 'Not sent — retry' });
      retry.addEventListener('click', () => postMessage(text, clientMessageId, item));
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
    ui.log.replaceChildren();
    ui.question.value = '';
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
    if (!place || !place.position) return 'Waiting for an agent… you are in the queue.';
    const ahead = place.position === 1 ? 'You are next in the queue.'
      : `You are number ${place.position} in the queue.`;
    const seconds = place.estimated_wait_seconds;
    if (seconds === null || seconds === undefined) return `${ahead} Waiting for an agent to sign in…`;
    const minutes = Math.max(1, Math.round(seconds / 60));
    return `${ahead} Estimated wait: about ${minutes} minute${minutes === 1 ? '' : 's'}.`;
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
    link.retryTimer = setTimeout(connect, delay);
  }

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
        break;
      case 'message.posted':
        addMessage(frame.message);
        break;
      case 'typing.changed':
        if (frame.sender_kind !== 'customer') showTyping(Boolean(frame.is_typing));
        break;
      case 'conversation.state_changed':
        setChatState(frame.state);
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

  function init() {
    buildUi();
    if (state.chat) renderStoredMessages();
    showView();
    setOpen(state.open);
    loadConfig();
    if (state.chat && !isEnded()) connect();
  }

  if (document.body) init();
  else document.addEventListener('DOMContentLoaded', init);
})();
