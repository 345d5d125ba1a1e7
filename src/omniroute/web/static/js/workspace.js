// The agent workspace: presence, incoming offers, and accepted conversations as tabs.
//
// All live state arrives over /ws/agent. REST is used for commands (accept, post, end, close)
// and their replies are applied at once; the socket echoes the same facts later and the
// transcripts drop what they already hold, so nothing shows twice.

const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;

// The shared client comes through its versioned URL (from the page), so a release never pairs a
// new workspace.js with a stale cached copy of the client module.
const {
  ApiClient, ApiError, LiveSocket, Transcript, TypingSignal, newClientMessageId, socketUrl,
  withRetries,
} = await import(meta('omniroute-client'));

const root = document.getElementById('workspace');
const api = new ApiClient({ csrfToken: meta('csrf-token'), onUnauthorized: () => toLogin() });
const OFFER_TIMEOUT_MS = Number(root.dataset.offerTimeout || 60) * 1000;
const CUSTOMER_TYPING_TIMEOUT_MS = 6000;

const els = {
  status: document.getElementById('connection-status'),
  presence: document.getElementById('presence-select'),
  offerList: document.getElementById('offer-list'),
  offersEmpty: document.getElementById('offers-empty'),
  sessionList: document.getElementById('session-list'),
  sessionsEmpty: document.getElementById('sessions-empty'),
  area: document.getElementById('conversation-area'),
  placeholder: document.getElementById('no-conversation'),
  announcer: document.getElementById('announcer'),
};

const STATE_LABELS = {
  open: 'Queued', active: 'Active', waiting: 'On hold', wrap_up: 'Wrap-up', closed: 'Closed',
};
const OFFER_CLOSED_TEXT = {
  rejected: 'Chat offer rejected.', timed_out: 'Chat offer expired.',
  customer_left: 'The customer left before the chat was accepted.',
  withdrawn: 'Chat offer withdrawn.', transferred: 'Chat offer transferred.',
};
const STATUS_TEXT = {
  connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', failed: 'Disconnected',
};

/** session_id -> { offer, el, deadline } */
const offers = new Map();
/** conversation_id -> ConversationView */
const conversations = new Map();
/** Conversations we closed or lost: late frames for them must not bring a tab back. */
const finished = new Set();
let activeId = null;
/** Server clock minus browser clock, learnt from live offers; keeps countdowns honest. */
let clockSkewMs = 0;

// -- small helpers -------------------------------------------------------------------------

function fromTemplate(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

function timeOf(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? ''
    : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** Screen readers announce a change of text; clear first so a repeated text is read again. */
function announce(text) {
  els.announcer.textContent = '';
  requestAnimationFrame(() => {
    els.announcer.textContent = text;
  });
}

function errorText(error) {
  return error instanceof ApiError ? error.message : 'Something went wrong.';
}

function showError(el, error) {
  el.textContent = error ? errorText(error) : '';
  el.hidden = !error;
}

function refreshEmptyNotes() {
  els.offersEmpty.hidden = offers.size > 0;
  els.sessionsEmpty.hidden = conversations.size > 0;
  els.placeholder.hidden = activeId !== null;
}

// -- messages ------------------------------------------------------------------------------

function messageElement(message) {
  const li = document.createElement('li');
  li.className = `msg msg-${message.sender_kind}`;
  li.dataset.testid = 'message';
  li.dataset.senderKind = message.sender_kind;
  if (message.seq !== undefined) li.dataset.seq = String(message.seq);
  const text = document.createElement('p');
  text.className = 'msg-text';
  text.textContent = message.text;
  if (message.sender_kind !== 'system') {
    const head = document.createElement('div');
    head.className = 'msg-meta';
    const who = document.createElement('span');
    who.className = 'msg-sender';
    who.textContent = message.sender_name;
    const when = document.createElement('time');
    when.dateTime = message.created_at || '';
    when.textContent = message.created_at ? timeOf(message.created_at) : '';
    head.append(who, ' ', when);
    li.append(head);
  }
  li.append(text);
  return li;
}

// -- one conversation ----------------------------------------------------------------------

class ConversationView {
  constructor(id) {
    this.id = id;
    this.data = null;
    this.state = null;
    this.transcript = new Transcript();
    this.typingTimer = null;
    // Posts go out one at a time: two in flight at once could be stored in the wrong order.
    this.outbox = Promise.resolve();
    this.typing = new TypingSignal((isTyping) =>
      socket.send({ type: 'typing', conversation_id: id, is_typing: isTyping }),
    );
    this.buildTab();
    this.buildPanel();
  }

  buildTab() {
    this.tabItem = fromTemplate('tab-template');
    this.tab = this.tabItem.querySelector('[role="tab"]');
    this.tab.id = `tab-${this.id}`;
    this.tab.dataset.conversationId = this.id;
    this.tab.setAttribute('aria-controls', `panel-${this.id}`);
    this.tab.tabIndex = -1;
    this.tab.querySelector('.tab-name').textContent = 'Customer';
    this.tab.addEventListener('click', () => select(this.id));
    this.tab.addEventListener('keydown', (event) => moveTabFocus(event, this.id));
    els.sessionList.append(this.tabItem);
  }

  buildPanel() {
    const panel = fromTemplate('conversation-template');
    this.panel = panel;
    panel.id = `panel-${this.id}`;
    panel.dataset.conversationId = this.id;
    panel.setAttribute('aria-labelledby', `tab-${this.id}`);
    this.q = (selector) => panel.querySelector(selector);
    this.log = this.q('.transcript');
    this.input = this.q('textarea');
    this.input.id = `reply-${this.id}`;
    this.q('.composer label').htmlFor = this.input.id;
    this.errorLine = this.q('.conversation-error');

    this.q('.composer').addEventListener('submit', (event) => {
      event.preventDefault();
      this.sendDraft();
    });
    this.input.addEventListener('keydown', (event) => {
      // Enter sends; Shift+Enter adds a line; never interrupt an IME composition.
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.sendDraft();
      }
    });
    this.input.addEventListener('input', () => {
      if (this.input.value.trim()) this.typing.poke();
      else this.typing.stop();
    });
    this.q('[data-action="end"]').addEventListener('click', () => this.end());
    this.q('[data-action="close"]').addEventListener('click', () => this.close());
    els.area.append(panel);
  }

  async load() {
    try {
      this.update(await api.get(`/api/v1/conversations/${encodeURIComponent(this.id)}`));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.remove();
      else showError(this.errorLine, error);
    }
  }

  /** Apply a ConversationOut (from a snapshot or a REST reply). */
  update(conv) {
    this.data = conv;
    const prechat = conv.prechat || {};
    const name = prechat.name || 'Customer';
    this.q('.conversation-title').textContent = name;
    this.tab.querySelector('.tab-name').textContent = name;
    const queue = prechat.queue ? ` · ${prechat.queue}` : '';
    this.q('.conversation-sub').textContent =
      `Web chat${queue} · started ${timeOf(conv.created_at)}`;
    this.renderPrechat(prechat);
    this.setState(conv.state);
  }

  renderPrechat(prechat) {
    const list = this.q('.prechat');
    const rows = [['Name', prechat.name], ['Email', prechat.email], ['Queue', prechat.queue],
      ['Question', prechat.question]];
    list.replaceChildren();
    for (const [label, value] of rows) {
      if (!value) continue;
      const term = document.createElement('dt');
      term.textContent = label;
      const detail = document.createElement('dd');
      detail.textContent = value;
      detail.dataset.field = label.toLowerCase();
      list.append(term, detail);
    }
  }

  setState(state) {
    if (state === 'closed' || state === 'open') {
      // Closed, or handed back to the queue: either way it is no longer ours to work on.
      this.remove();
      return;
    }
    this.state = state;
    const live = state === 'active' || state === 'waiting';
    this.q('.state-badge').textContent = STATE_LABELS[state] || state;
    this.q('.state-badge').dataset.state = state;
    this.tab.querySelector('.tab-state').textContent = STATE_LABELS[state] || state;
    this.tab.dataset.state = state;
    this.q('[data-action="end"]').hidden = !live;
    this.q('[data-action="close"]').hidden = state !== 'wrap_up';
    this.q('.wrapup-note').hidden = state !== 'wrap_up';
    this.q('.composer').hidden = !live;
    if (!live) {
      this.typing.stop();
      this.showTyping(false);
    }
  }

  addMessage(message) {
    if (!this.transcript.add(message)) return;
    this.dropEchoedPending(message);
    const li = messageElement(message);
    // Keep seq order even when a replay or a REST reply lands out of order; unsent messages
    // (no seq yet) always stay last.
    const later = [...this.log.children].find(
      (el) => el.dataset.seq === undefined || Number(el.dataset.seq) > message.seq,
    );
    this.log.insertBefore(li, later || null);
    if (message.sender_kind === 'customer') {
      this.showTyping(false);
      if (activeId !== this.id) this.tab.querySelector('.tab-unread').hidden = false;
    }
    if (this.isNearBottom() || message.sender_kind === 'agent') li.scrollIntoView({ block: 'end' });
  }

  isNearBottom() {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 80;
  }

  /** The socket may deliver our own message before the POST reply: retire its pending copy. */
  dropEchoedPending(message) {
    if (message.sender_kind !== 'agent') return;
    const pending = [...this.log.querySelectorAll('.msg-pending')].find(
      (el) => el.dataset.text === message.text,
    );
    if (pending) pending.remove();
  }

  showTyping(isTyping) {
    const line = this.q('.typing');
    clearTimeout(this.typingTimer);
    line.hidden = !isTyping;
    if (!isTyping) return;
    const name = (this.data && this.data.prechat && this.data.prechat.name) || 'The customer';
    line.textContent = `${name} is typing…`;
    // A lost "stopped typing" frame must not leave the indicator on forever.
    this.typingTimer = setTimeout(() => this.showTyping(false), CUSTOMER_TYPING_TIMEOUT_MS);
  }

  sendDraft() {
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = '';
    this.typing.stop();
    this.post(text, newClientMessageId());
  }

  /** Show the message as pending, then queue its post; a retry reuses its client_message_id. */
  post(text, clientMessageId, pending = null) {
    const item = pending || messageElement({ sender_kind: 'agent', sender_name: 'You', text });
    item.classList.add('msg-pending');
    item.classList.remove('msg-failed');
    item.dataset.text = text;
    item.querySelector('.msg-retry')?.remove();
    if (!pending) {
      this.log.append(item);
      item.scrollIntoView({ block: 'end' });
    }
    this.outbox = this.outbox.then(() => this.deliver(text, clientMessageId, item));
  }

  async deliver(text, clientMessageId, item) {
    const path = `/api/v1/conversations/${encodeURIComponent(this.id)}/messages`;
    try {
      const message = await withRetries(() =>
        api.post(path, { text, client_message_id: clientMessageId }),
      );
      item.remove();
      this.addMessage(message);
      showError(this.errorLine, null);
    } catch (error) {
      if (!item.isConnected) return; // the socket already delivered it
      this.markFailed(item, text, clientMessageId, error);
    }
  }

  markFailed(item, text, clientMessageId, error) {
    item.classList.add('msg-failed');
    const retry = document.createElement('button');
    retry.type = 'button';
    retry.className = 'msg-retry link-button';
    retry.textContent = 'Not sent — retry';
    retry.addEventListener('click', () => this.post(text, clientMessageId, item));
    item.append(retry);
    showError(this.errorLine, error);
  }

  async end() {
    await this.command('end', (conv) => this.update(conv));
  }

  async close() {
    await this.command('close', () => this.remove());
  }

  async command(action, onDone) {
    const button = this.q(`[data-action="${action}"]`);
    button.disabled = true;
    try {
      onDone(await api.post(`/api/v1/conversations/${encodeURIComponent(this.id)}/${action}`));
      showError(this.errorLine, null);
    } catch (error) {
      showError(this.errorLine, error);
    } finally {
      button.disabled = false;
    }
  }

  select(selected) {
    this.tab.setAttribute('aria-selected', String(selected));
    this.tab.tabIndex = selected ? 0 : -1;
    this.panel.hidden = !selected;
    if (selected) this.tab.querySelector('.tab-unread').hidden = true;
  }

  remove() {
    this.typing.stop();
    clearTimeout(this.typingTimer);
    this.tabItem.remove();
    this.panel.remove();
    conversations.delete(this.id);
    finished.add(this.id);
    if (activeId === this.id) {
      activeId = null;
      const next = conversations.keys().next();
      if (!next.done) select(next.value);
    }
    refreshEmptyNotes();
  }
}

function ensureConversation(id, conv = null) {
  let view = conversations.get(id);
  if (!view) {
    view = new ConversationView(id);
    conversations.set(id, view);
    finished.delete(id);
    if (!conv) view.load();
    if (activeId === null) select(id);
    refreshEmptyNotes();
  }
  if (conv) view.update(conv);
  return view;
}

function select(id, { focus = false } = {}) {
  activeId = id;
  for (const view of conversations.values()) view.select(view.id === id);
  refreshEmptyNotes();
  const view = conversations.get(id);
  if (focus && view) view.input.focus();
}

/** Arrow keys move between tabs, as the ARIA tabs pattern expects. */
function moveTabFocus(event, id) {
  const step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
  if (!step) return;
  event.preventDefault();
  const ids = [...conversations.keys()];
  const next = ids[(ids.indexOf(id) + step + ids.length) % ids.length];
  select(next);
  conversations.get(next).tab.focus();
}

// -- offers --------------------------------------------------------------------------------

function addOffer(offer) {
  if (offers.has(offer.session_id)) return;
  const el = fromTemplate('offer-template');
  el.dataset.sessionId = offer.session_id;
  el.querySelector('.offer-customer').textContent = offer.customer_name || 'Customer';
  el.querySelector('.offer-queue').textContent = offer.queue_name;
  el.querySelector('.offer-preview').textContent = offer.preview || '(no question given)';
  el.querySelector('article').setAttribute(
    'aria-label', `Incoming chat from ${offer.customer_name || 'a customer'}`,
  );
  el.querySelector('[data-action="accept"]').addEventListener('click', () =>
    acceptOffer(offer.session_id),
  );
  el.querySelector('[data-action="reject"]').addEventListener('click', () =>
    rejectOffer(offer.session_id),
  );
  const remaining = Math.min(Date.parse(offer.expires_at) - clockSkewMs - Date.now(),
    OFFER_TIMEOUT_MS);
  offers.set(offer.session_id, { offer, el, deadline: Date.now() + remaining });
  els.offerList.append(el);
  tickOffer(offers.get(offer.session_id));
  refreshEmptyNotes();
}

function tickOffer(entry) {
  const left = Math.max(0, entry.deadline - Date.now());
  const seconds = Math.ceil(left / 1000);
  entry.el.querySelector('.offer-countdown').textContent =
    seconds > 0 ? `${seconds}s left` : 'Expiring…';
  entry.el.querySelector('.offer-progress').value = (100 * left) / OFFER_TIMEOUT_MS;
  entry.el.classList.toggle('offer-urgent', seconds <= 10);
  if (seconds === 0) entry.el.querySelector('[data-action="accept"]').disabled = true;
}

function removeOffer(sessionId) {
  const entry = offers.get(sessionId);
  if (!entry) return;
  entry.el.remove();
  offers.delete(sessionId);
  refreshEmptyNotes();
}

function setOfferBusy(entry, busy) {
  for (const button of entry.el.querySelectorAll('button')) button.disabled = busy;
}

async function acceptOffer(sessionId) {
  const entry = offers.get(sessionId);
  if (!entry) return;
  setOfferBusy(entry, true);
  try {
    const conv = await api.post(`/api/v1/offers/${encodeURIComponent(sessionId)}/accept`);
    removeOffer(sessionId);
    ensureConversation(conv.id, conv);
    select(conv.id, { focus: true });
  } catch (error) {
    offerFailed(entry, error);
  }
}

async function rejectOffer(sessionId) {
  const entry = offers.get(sessionId);
  if (!entry) return;
  setOfferBusy(entry, true);
  try {
    await api.post(`/api/v1/offers/${encodeURIComponent(sessionId)}/reject`);
    removeOffer(sessionId);
  } catch (error) {
    offerFailed(entry, error);
  }
}

function offerFailed(entry, error) {
  showError(entry.el.querySelector('.offer-error'), error);
  if (error instanceof ApiError && !error.retryable) {
    // Expired or taken elsewhere: the card is stale; let the agent read why, then drop it.
    setTimeout(() => removeOffer(entry.offer.session_id), 4000);
  } else {
    setOfferBusy(entry, false);
  }
}

setInterval(() => offers.forEach(tickOffer), 500);

// -- presence ------------------------------------------------------------------------------

function setPresence(value) {
  els.presence.value = value;
  els.presence.dataset.current = value;
  els.presence.disabled = false;
}

els.presence.addEventListener('change', async () => {
  const wanted = els.presence.value;
  els.presence.disabled = true;
  try {
    const reply = await api.put('/api/v1/me/presence', { presence: wanted });
    setPresence(reply.presence);
  } catch (error) {
    setPresence(els.presence.dataset.current || 'offline');
    announce(`Presence not changed: ${errorText(error)}`);
  }
});

// -- the socket ----------------------------------------------------------------------------

function onSnapshot(frame) {
  setPresence(frame.presence);
  const liveOffers = new Set(frame.offers.map((o) => o.session_id));
  for (const id of [...offers.keys()]) if (!liveOffers.has(id)) removeOffer(id);
  frame.offers.forEach(addOffer);
  const mine = new Set(frame.conversations.map((c) => c.id));
  for (const view of [...conversations.values()]) if (!mine.has(view.id)) view.remove();
  for (const conv of frame.conversations) ensureConversation(conv.id, conv);
}

const handlers = {
  snapshot: onSnapshot,
  'message.posted': (f) => {
    if (finished.has(f.conversation_id)) return;
    ensureConversation(f.conversation_id).addMessage(f.message);
  },
  'typing.changed': (f) => conversations.get(f.conversation_id)?.showTyping(f.is_typing),
  'conversation.state_changed': (f) => conversations.get(f.conversation_id)?.setState(f.to_state),
  'offer.created': (f) => {
    const occurred = Date.parse(f.occurred_at);
    if (!Number.isNaN(occurred)) clockSkewMs = occurred - Date.now();
    addOffer(f);
    announce(`New chat from ${f.customer_name || 'a customer'} in ${f.queue_name}`);
  },
  'offer.closed': (f) => {
    if (offers.has(f.session_id)) announce(OFFER_CLOSED_TEXT[f.reason] || 'Chat offer closed.');
    removeOffer(f.session_id);
  },
  'conversation.assigned': (f) => {
    removeOffer(f.session_id);
    finished.delete(f.conversation_id);
    ensureConversation(f.conversation_id);
  },
  'presence.changed': (f) => setPresence(f.presence),
  error: (f) => console.warn('omniroute:', f.detail),
};

function cursors() {
  const out = {};
  for (const [id, view] of conversations) out[id] = view.transcript.cursor;
  return out;
}

function toLogin() {
  window.location.assign('/login?next=/workspace');
}

/**
 * A socket refused before the handshake completes only shows the browser code 1006, which looks
 * like a network drop. Ask the REST API whether we are still signed in so an expired session
 * goes to the sign-in page instead of retrying for ever.
 */
let checkingSession = false;
async function checkSession() {
  if (checkingSession) return;
  checkingSession = true;
  try {
    await api.get('/api/v1/me'); // a 401 sends us to the sign-in page (onUnauthorized)
  } catch {
    /* offline or server down: the socket keeps retrying */
  } finally {
    checkingSession = false;
  }
}

function onStatus(status, code) {
  els.status.textContent = STATUS_TEXT[status] || status;
  els.status.dataset.state = status;
  if (status === 'reconnecting') checkSession();
  if (status === 'failed' && code === 4401) toLogin();
}

const socket = new LiveSocket(socketUrl('/ws/agent'), {
  hello: () => ({ type: 'hello', cursors: cursors() }),
  onFrame: (frame) => handlers[frame.type]?.(frame),
  onStatus,
  shouldRetry: (code) => code !== 4401 && code !== 4403,
});

refreshEmptyNotes();
socket.start();
