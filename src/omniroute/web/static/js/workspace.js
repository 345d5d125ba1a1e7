// The agent workspace: presence, offers as toasts, up to ten conversation sessions as tabs (plus
// customer sessions opened by screen pops), and the voice providers' softphones beside them.
//
// All live state arrives over /ws/agent (a snapshot, then events). REST is used for commands
// (accept, post, end, close, transfer, consult, notes) and their replies are applied at once; the
// socket echoes the same facts later and the transcripts drop what they already hold, so nothing
// shows twice. Modules under ./workspace/ hold the parts; this file wires them together.

import { ApiClient, LiveSocket, socketUrl } from './omniroute-client.js';
import { CaseListSession, CaseSession } from './workspace/case-sessions.js';
import { ConversationView } from './workspace/conversation.js';
import { CustomerSession } from './workspace/customer-session.js';
import { csrfToken, page } from './workspace/data.js';
import {
  CaseDialog, ConsultDialog, ResolveDialog, TransferDialog,
} from './workspace/dialogs.js';
import { announce } from './workspace/dom.js';
import { Directory, Features } from './workspace/features.js';
import { LocationDialog } from './workspace/location.js';
import { t } from './workspace/i18n.js';
import { beep, unlockAudioOnGesture, wanted } from './workspace/notify.js';
import { Offers } from './workspace/offers.js';
import { PresenceControl } from './workspace/presence.js';
import { SaveReplyDialog } from './workspace/save-reply.js';
import { SettingsDialog } from './workspace/settings.js';
import { installShortcuts, renderHelp, shortcutTable } from './workspace/shortcuts.js';
import { Drafts, SettingsStore, TabMemory } from './workspace/storage.js';
import { lendSessions, mountVoice } from './workspace/voice.js';

const STATUS_TEXT = {
  connecting: t('Connecting…'),
  live: t('Live'),
  reconnecting: t('Reconnecting…'),
  failed: t('Disconnected'),
};

const els = {
  status: document.getElementById('connection-status'),
  sessionList: document.getElementById('session-list'),
  sessionsEmpty: document.getElementById('sessions-empty'),
  sessionCount: document.getElementById('session-count'),
  placeholder: document.getElementById('no-conversation'),
  help: document.getElementById('help-dialog'),
  voice: document.getElementById('voice-panel'),
  caseList: document.getElementById('case-list-button'),
};

const api = new ApiClient({ csrfToken, onUnauthorized: () => toLogin() });
const features = new Features(api);
const directory = new Directory(api, features);
const drafts = new Drafts(page.userId);
const memory = new TabMemory(page.userId);
const settingsStore = new SettingsStore(page.userId);

/** conversation_id -> ConversationView, in tab order */
const views = new Map();
/** session id -> CustomerSession: customer records opened beside the conversations */
const records = new Map();
/** session id -> CaseListSession or CaseSession: case work beside the conversations */
const caseSessions = new Map();
/** The voice panel (cif-host.js), once mounted. */
let voice = null;
/** Conversations we closed or lost: late frames for them must not bring a tab back. */
const finished = new Set();
/** conversation_id -> highest seq the agent has looked at (survives reloads of this tab). */
const seenSeqs = memory.read('seen', {});
let activeId = null;
let firstSnapshot = true;

// -- sessions ------------------------------------------------------------------------------

const desk = {
  api,
  socket: null,
  drafts,
  features,
  directory,
  isActive: (id) => id === activeId,
  select: (id, options) => select(id, options),
  skewMs: () => offers.skewMs,
  seen(view) {
    seenSeqs[view.id] = view.seenSeq;
    memory.write('seen', seenSeqs);
  },
  removed(view) {
    if (view.kind === 'customer') {
      records.delete(view.id);
      rememberRecords();
    } else if (view.kind === 'case' || view.kind === 'case-list') {
      caseSessions.delete(view.id);
      rememberCases();
    } else {
      views.delete(view.id);
      finished.add(view.id);
      delete seenSeqs[view.id];
      memory.write('seen', seenSeqs);
    }
    voice?.sessionClosed(view.id);
    if (activeId === view.id) {
      activeId = null;
      const next = ordered()[0];
      if (next) select(next.id);
      else memory.write('active', null);
    }
    refresh();
  },
  /** A customer session now shows another customer (created, chosen): remember it. */
  changed: () => {
    rememberRecords();
    sendFollows();
  },
  /** The records a session shows changed (its cases were read): follow them. */
  followsChanged: () => sendFollows(),
  openTransfer: (view, note) => transferDialog.open(view, note),
  openConsult: (view) => consultDialog.open(view),
  openSaveReply: (view) => saveReplyDialog.open(view),
  openLocation: (view) => locationDialog.open(view),
  openCase: (view) => caseDialog.open(view),
  openResolve: (panel, data) => resolveDialog.open(panel, data),
  openCaseSession: (caseId) => openCaseSession(caseId),
  /** The agent's conversation sessions, for linking a case to one of them. */
  conversations: () => [...views.values()].map((v) => ({
    id: v.id, name: v.tab.querySelector('.tab-name').textContent, holder: v.role === 'holder',
  })),
  /** A case changed in one place: the other places showing it read it again. */
  caseChanged(caseId, conversationId = null) {
    caseSessions.get(`case-${caseId}`)?.load();
    for (const view of views.values()) {
      if (view.id === conversationId || view.cases.cards.has(caseId)) view.cases.load();
    }
  },
};

/**
 * The view of a conversation, made if needed. `role` says what the agent is to it now: "holder"
 * (snapshot, accept, assignment), "consultant", or null when the caller does not know (a message).
 */
function ensureView(id, { conv = null, role = null, live = false } = {}) {
  let view = views.get(id);
  if (!view) {
    finished.delete(id);
    let seenSeq = seenSeqs[id];
    // Seen for the first time in a snapshot: what is already there is old news. Assigned live:
    // everything in it is new to the agent.
    if (seenSeq === undefined) seenSeq = !live && conv ? conv.last_seq : 0;
    view = new ConversationView(id, desk, { role: role || 'holder', seenSeq });
    views.set(id, view);
    if (conv) view.update(conv);
    view.load({ fetch: !conv });
    if (activeId === null && views.has(id)) select(id);
    refresh();
    return view;
  }
  if (role === 'holder' && view.role === 'consultant') becomeHolder(view);
  if (conv) view.update(conv);
  return view;
}

/** A consultant who was promoted: same tab, now with the holder's controls (if it is theirs). */
function becomeHolder(view) {
  view.role = 'holder';
  view.applyRole();
  view.load();
  refresh();
}

/** A conversation's view, a customer session or a case session, by its session id. */
function sessionById(id) {
  return views.get(id) || records.get(id) || caseSessions.get(id) || null;
}

function select(id, { focus = null } = {}) {
  const session = sessionById(id);
  if (!session) return;
  const previous = activeId;
  activeId = id;
  memory.write('active', id);
  for (const view of views.values()) view.select(view.id === id);
  for (const record of records.values()) record.select(record.id === id);
  for (const session of caseSessions.values()) session.select(session.id === id);
  refresh();
  if (focus === 'reply') focusReply();
  else if (focus === 'tab') session.tab.focus();
  if (previous !== id) voice?.sessionSwitched({ previous, current: id });
}

function ordered() {
  return [...els.sessionList.querySelectorAll('[role="tab"]')]
    .map((tab) => sessionById(tab.dataset.sessionId || tab.dataset.conversationId))
    .filter(Boolean);
}

function step(delta, focus = 'reply') {
  const list = ordered();
  if (!list.length) return;
  const index = list.findIndex((v) => v.id === activeId);
  const next = list[(index + delta + list.length) % list.length];
  select(next.id, { focus });
  announce(t('Session {n} of {total}: {name}', {
    n: list.indexOf(next) + 1, total: list.length, name: next.tab.querySelector('.tab-name').textContent,
  }));
}

/** Arrow keys, Home and End move between tabs, as the ARIA tabs pattern expects. */
els.sessionList.addEventListener('keydown', (event) => {
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const list = ordered();
  if (!list.length || !(event.target instanceof Element) || !event.target.closest('[role="tab"]')) {
    return;
  }
  const moves = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 };
  let target = null;
  if (event.key in moves) {
    const index = list.findIndex((v) => v.id === activeId);
    target = list[(index + moves[event.key] + list.length) % list.length];
  } else if (event.key === 'Home') target = list[0];
  else if (event.key === 'End') target = list[list.length - 1];
  if (!target) return;
  event.preventDefault();
  select(target.id, { focus: 'tab' });
});

function sessionCount() {
  return views.size;
}

function refresh() {
  els.sessionsEmpty.hidden = views.size + records.size + caseSessions.size > 0;
  els.caseList.hidden = !features.has('caseList');
  els.placeholder.hidden = activeId !== null;
  els.sessionCount.textContent = t('{count} of {max}', { count: sessionCount(), max: page.maxSessions });
  presence.showLoad(views.values());
  offers.tickAll();
  sendFollows();
}

/** The conversation open now (null when a customer session or nothing is). */
function activeView() {
  return (activeId && views.get(activeId)) || null;
}

function focusReply() {
  const view = activeView();
  if (!view) {
    sessionById(activeId)?.tab.focus();
    return;
  }
  if (!view.q('.composer').hidden) view.input.focus();
  else view.tab.focus();
}

// -- customer sessions ---------------------------------------------------------------------

function rememberRecords() {
  memory.write('customers', [...records.values()].map((r) => r.customerId).filter(Boolean));
}

function newRecord() {
  const record = new CustomerSession(desk);
  records.set(record.id, record);
  refresh();
  return record;
}

/** Show a customer: their open customer session if there is one, else a new one. */
async function openCustomer(customerId, { focus = true } = {}) {
  let record = [...records.values()].find((r) => r.customerId === customerId);
  if (!record) {
    record = newRecord();
    const shown = record.showCustomer(customerId);
    rememberRecords();
    if (focus) select(record.id);
    await shown;
  } else if (focus) {
    select(record.id);
  }
  return record;
}

function openCreate(prefill, { focus = true } = {}) {
  const record = newRecord();
  if (focus) select(record.id);
  record.showCreate(prefill);
  return record;
}

function openChoice(choices, { focus = true } = {}) {
  const record = newRecord();
  if (focus) select(record.id);
  record.showChoice(choices);
  return record;
}

/** What a provider's screen pop found (cif-host.js): one record, none, or several. */
async function screenPop(result) {
  const records_ = result.records || [];
  const customerOf = (record) => (result.entity === 'case' ? record.customer_id : record.id);
  if (result.outcome === 'open' && records_.length) {
    await openCustomer(customerOf(records_[0]));
  } else if (result.outcome === 'quick_create' && result.entity === 'customer') {
    openCreate({ phone: result.phone, ...(result.prefill || {}) });
  } else if (records_.length) {
    openChoice(records_.map((r) => ({
      label: result.entity === 'case' ? `${r.number} ${r.title}` : r.display_name,
      detail: result.entity === 'case' ? '' : [r.phone, r.email].filter(Boolean).join(' · '),
      customerId: customerOf(r),
    })));
  } else {
    announce(t('No matching records'));
  }
}

// -- case sessions -------------------------------------------------------------------------

function rememberCases() {
  memory.write('cases', [...caseSessions.values()].filter((s) => s.kind === 'case').map((s) => s.caseId));
}

/** The case list as a session (made once), focused on its search box. */
function openCaseList() {
  let list = caseSessions.get('case-list');
  if (!list) {
    list = new CaseListSession(desk);
    caseSessions.set(list.id, list);
  }
  select(list.id);
  list.focus();
  return list;
}

/** A case as its own session: the open one if there is one, else a new one. */
function openCaseSession(caseId, { focus = true } = {}) {
  let session = caseSessions.get(`case-${caseId}`);
  if (!session) {
    session = new CaseSession(desk, caseId);
    caseSessions.set(session.id, session);
    session.load();
    rememberCases();
  }
  if (focus) select(session.id, { focus: 'tab' });
  else refresh();
  return session;
}

els.caseList.addEventListener('click', () => openCaseList());

// -- parts ---------------------------------------------------------------------------------

const presence = new PresenceControl({ api });
const settings = new SettingsDialog({
  store: settingsStore, features, api, onChange: () => {},
});
const offers = new Offers({
  api,
  canAccept: () => sessionCount() < page.maxSessions,
  onAccepted: (conv) => {
    ensureView(conv.id, { conv, role: 'holder', live: true });
    select(conv.id, { focus: 'reply' });
  },
  settings: () => settings.current(),
});
const transferDialog = new TransferDialog({ api, directory });
const consultDialog = new ConsultDialog({ api, directory, features });
const caseDialog = new CaseDialog({ api });
const resolveDialog = new ResolveDialog({ api });
const saveReplyDialog = new SaveReplyDialog({ api, features });
const locationDialog = new LocationDialog();

const table = shortcutTable({
  step: (delta) => step(delta),
  acceptNewest: () => {
    const id = offers.newest();
    if (id) offers.accept(id);
    else announce(t('No offer to accept.'));
  },
  rejectNewest: () => {
    const id = offers.newest();
    if (id) offers.reject(id);
  },
  focusReply,
  transfer: () => transferDialog.open(activeView()),
  consult: () => consultDialog.open(activeView()),
  focusNote: () => {
    const view = activeView();
    if (!view || view.q('[data-side="notes"]').hidden || view.q('.note-form').hidden) return;
    view.showSide('notes');
    view.noteInput.focus();
  },
  focusKnowledge: () => {
    const view = activeView();
    if (!view || view.q('[data-side="knowledge"]').hidden) return;
    view.showSide('knowledge');
    view.knowledge.focus();
  },
  focusPresence: () => presence.focus(),
  quickReplies: () => activeView()?.quickReplies.start(),
  focusCustomer: () => {
    const view = activeView();
    if (!view || view.q('[data-side="customer"]').hidden) return;
    view.showSide('customer');
    view.q('[data-side="customer"]').focus();
  },
  help: () => els.help.showModal(),
});
renderHelp(table, document.getElementById('shortcut-rows'));
installShortcuts(table);
document.getElementById('help-button').addEventListener('click', () => els.help.showModal());
document.getElementById('settings-button').addEventListener('click', () => settings.open());
features.addEventListener('change', () => {
  for (const view of views.values()) view.refreshFeatures();
});
document.addEventListener('visibilitychange', () => activeView()?.markSeen());
setInterval(() => {
  for (const view of views.values()) view.tickTimers();
}, 1000);
unlockAudioOnGesture();

// -- the socket ----------------------------------------------------------------------------

function onSnapshot(frame) {
  presence.show(frame.presence, frame.custom_presence);
  if (frame.capacity) presence.setCapacity(frame.capacity);
  offers.replaceAll(frame.offers);
  const mine = new Set(frame.conversations.map((c) => c.id));
  const consulting = frame.consulting || [];
  const watched = new Set(consulting.map((c) => c.id));
  for (const view of [...views.values()]) {
    if (!(view.role === 'holder' ? mine : watched).has(view.id)) view.remove();
  }
  // Views that survive a reconnect re-read their notes and consults (state, not a stream).
  for (const view of views.values()) view.loadExtras();
  for (const conv of frame.conversations) ensureView(conv.id, { conv, role: 'holder' });
  for (const conv of consulting) ensureView(conv.id, { conv, role: 'consultant' });
  if (firstSnapshot) {
    firstSnapshot = false;
    presence.serverLoad = null;
    const remembered = memory.read('active', null);
    if (remembered && sessionById(remembered)) select(remembered);
  }
  refresh();
}

const handlers = {
  snapshot: onSnapshot,
  'message.posted': (f) => {
    if (finished.has(f.conversation_id)) return;
    ensureView(f.conversation_id).addMessage(f.message);
  },
  'message.delivery_changed': (f) => views.get(f.conversation_id)?.deliveryChanged(f),
  'typing.changed': (f) => views.get(f.conversation_id)?.showTyping(f.is_typing),
  'conversation.state_changed': (f) => views.get(f.conversation_id)?.setState(f.to_state),
  'offer.created': (f) => {
    offers.learnSkew(f.occurred_at);
    offers.add(f, { live: true });
  },
  'offer.closed': (f) => offers.closed(f.session_id, f.reason),
  'conversation.assigned': (f) => {
    offers.remove(f.session_id);
    ensureView(f.conversation_id, { role: 'holder', live: true });
  },
  'session.closed': (f) => {
    // Transferred or promoted away: ask the server whether it is still ours (load drops it).
    const view = views.get(f.conversation_id);
    if (view && view.role === 'holder' && f.reason !== 'ended') view.load();
  },
  'presence.changed': (f) => {
    presence.show(f.presence, f.custom_presence);
    voice?.presenceChanged(f);
  },
  'voice.call_changed': (f) => {
    if (f.conversation_id) views.get(f.conversation_id)?.callChanged();
  },
  'consult.started': (f) => {
    if (f.agent_id === page.userId) {
      ensureView(f.conversation_id, { role: 'consultant', live: true });
      announce(t('You were invited to consult on a conversation.'));
    } else {
      views.get(f.conversation_id)?.consultStarted(f.agent_id, f.agent_name);
    }
  },
  'consult.ended': (f) => {
    const view = views.get(f.conversation_id);
    if (!view) return;
    if (f.agent_id !== page.userId) view.consultEnded(f.agent_id);
    else if (view.role === 'consultant' && f.reason === 'promoted') becomeHolder(view);
    else if (view.role === 'consultant') view.remove();
  },
  'note.added': (f) => views.get(f.conversation_id)?.addNoteItem(f.note || f),
  'record.changed': (f) => recordChanged(f),
  error: (f) => console.warn('omniroute:', f.detail),
};

function cursors() {
  const out = {};
  for (const [id, view] of views) out[id] = view.transcript.cursor;
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
    const me = await api.get('/api/v1/me'); // a 401 sends us to the sign-in page
    if (me && me.capacity) presence.setCapacity(me.capacity);
    // The socket's snapshot, once in, is the live truth about sessions; /me only fills in before.
    if (me) presence.setServerLoad(firstSnapshot ? me.load : null, me.capacity_profile);
    refresh();
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

// -- records changed elsewhere -------------------------------------------------------------

/** The customers and cases this page shows: the socket follows them (docs/WORKSPACE.md). */
function followed() {
  const customers = new Set();
  const cases = new Set();
  for (const record of records.values()) if (record.customerId) customers.add(record.customerId);
  for (const view of views.values()) {
    if (view.data && view.data.customer_id) customers.add(view.data.customer_id);
    for (const caseId of view.cases.cards.keys()) cases.add(caseId);
  }
  for (const session of caseSessions.values()) if (session.caseId) cases.add(session.caseId);
  return { customers: [...customers].sort(), cases: [...cases].sort() };
}

let lastFollow = '';
/** Tell the socket what the page shows now, when that changed (the hello repeats it). */
function sendFollows() {
  if (!desk.socket) return;
  const follow = followed();
  const text = JSON.stringify(follow);
  if (text === lastFollow) return;
  lastFollow = text;
  desk.socket.send({ type: 'follow', ...follow });
}

/** Record changes arrive in bursts (a merge, a case and its note): read each target once. */
const pendingChanges = { customers: new Set(), cases: new Map(), merged: new Map() };
let changeTimer = null;
function recordChanged(frame) {
  // This page re-reads what its agent changes as soon as the change is saved; the echo would
  // only re-draw it again, under the agent's hands.
  if (frame.actor_id && frame.actor_id === page.userId) return;
  if (frame.case_id) pendingChanges.cases.set(frame.case_id, frame.conversation_id || null);
  if (frame.customer_id) pendingChanges.customers.add(frame.customer_id);
  if (frame.merged_id) pendingChanges.merged.set(frame.merged_id, frame.customer_id);
  clearTimeout(changeTimer);
  changeTimer = setTimeout(applyRecordChanges, 150);
}

function applyRecordChanges() {
  const { customers, cases, merged } = pendingChanges;
  for (const record of records.values()) {
    const survivor = merged.get(record.customerId);
    if (survivor) record.showCustomer(survivor).then(() => rememberRecords());
    else if (customers.has(record.customerId)) record.c360?.liveRefresh();
  }
  for (const view of views.values()) {
    const id = view.data && view.data.customer_id;
    if (id && (customers.has(id) || merged.has(id))) view.customerChanged();
  }
  for (const [caseId, conversationId] of cases) desk.caseChanged(caseId, conversationId);
  customers.clear();
  cases.clear();
  merged.clear();
}

const socket = new LiveSocket(socketUrl('/ws/agent'), {
  hello: () => {
    const follow = followed();
    lastFollow = JSON.stringify(follow);
    return { type: 'hello', cursors: cursors(), follow };
  },
  onFrame: (frame) => handlers[frame.type]?.(frame),
  onStatus,
  shouldRetry: (code) => code !== 4401 && code !== 4403,
});
desk.socket = socket;

// The language came from ?lang=: store it on the user (it then wins on every device), and keep
// the address clean (a cookie carries it where the user record cannot be updated).
if (new URL(window.location.href).searchParams.has('lang')) {
  const url = new URL(window.location.href);
  url.searchParams.delete('lang');
  history.replaceState(null, '', url.pathname + url.search + url.hash);
  if (page.userLocale !== page.locale && features.has('locale')) {
    api.put('/api/v1/me/locale', { locale: page.locale }).catch((error) => features.noteFailure('locale', error));
  }
}

// Customer sessions survive a reload of this browser tab, like drafts; so do case sessions.
for (const customerId of memory.read('customers', [])) openCustomer(customerId, { focus: false });
for (const caseId of memory.read('cases', [])) openCaseSession(caseId, { focus: false });

refresh();
checkSession();
socket.start();

mountVoice(els.voice, {
  api,
  features,
  // Sessions and tabs for the SDK, on the workspace's own sessions (workspace/voice.js).
  ...lendSessions({
    api, views, records, select, openCustomer, openCreate, openChoice, newRecord, active: () => activeId,
  }),
  onScreenPop: (result) => screenPop(result),
  openForm: ({ entity, data }) => {
    if (entity !== 'customer') throw new Error(t('Only customer forms open in this workspace.'));
    openCreate(data);
  },
  openRecord: async ({ entity, id, record }) => {
    const customerId = entity === 'customer' ? id : record && record.customer_id;
    if (!customerId) throw new Error(t('This record has no customer to show.'));
    await openCustomer(customerId);
  },
  onNotification: () => {
    if (wanted(settings.current().sound)) beep();
  },
}).then((handle) => {
  voice = handle;
}).catch((error) => console.warn('omniroute: the voice panel did not load', error));
