// One session: its tab (name, state, unread count, timers) and its panel (transcript, composer,
// consultants, internal notes). The agent either holds the conversation or consults on it
// (read-only: notes, no replies).

import {
  ApiError, Transcript, TypingSignal, newClientMessageId, withRetries,
} from '../omniroute-client.js';
import { page, queueById } from './data.js';
import {
  announce, announcePolitely, formatDuration, fromTemplate, path, showError, slaLevel, timeOf, userError,
} from './dom.js';
import { AttachmentTray } from './attachments.js';
import { BotContextPanel } from './bot-context.js';
import { CallDetails } from './call.js';
import { CasesPanel } from './cases.js';
import { Customer360 } from './customer360.js';
import { DispositionForm } from './disposition.js';
import { t } from './i18n.js';
import { KnowledgePanel } from './knowledge.js';
import { STATE_LABELS, channelLabel } from './labels.js';
import { messageElement, noteElement, setDelivery } from './messages.js';
import { renderPrechat } from './prechat.js';
import { QuickReplyPicker } from './quick-replies.js';
import { WhatsAppTemplates } from './whatsapp-templates.js';

export { STATE_LABELS };

const CUSTOMER_TYPING_TIMEOUT_MS = 6000;
/** Without a queue setting, a customer waiting this long for a reply breaches the target. */
const DEFAULT_REPLY_TARGET_SECONDS = 60;
const PAGE_SIZE = 500;

/**
 * @typedef {object} Desk  what a session needs from the workspace around it
 * @property {import('../omniroute-client.js').ApiClient} api
 * @property {import('../omniroute-client.js').LiveSocket} socket
 * @property {import('./storage.js').Drafts} drafts
 * @property {import('./features.js').Features} features
 * @property {import('./features.js').Directory} directory
 * @property {(id: string) => boolean} isActive
 * @property {(id: string, opts?: object) => void} select
 * @property {(view: ConversationView) => void} removed
 * @property {(view: ConversationView) => void} seen
 * @property {(view: ConversationView, note?: string) => void} openTransfer
 * @property {(view: ConversationView) => void} openConsult
 * @property {() => number} skewMs
 */

export class ConversationView {
  /**
   * @param {string} id
   * @param {Desk} desk
   * @param {{role?: 'holder'|'consultant', seenSeq: number}} options
   */
  constructor(id, desk, { role = 'holder', seenSeq = 0 } = {}) {
    this.id = id;
    this.desk = desk;
    this.role = role;
    this.data = null;
    this.state = null;
    this.transcript = new Transcript();
    this.seenSeq = seenSeq;
    this.unread = 0;
    this.waitingSince = null; // when the customer's unanswered message arrived
    this.consultants = new Map(); // agent id -> list item
    this.notes = new Set();
    this.typingTimer = null;
    // Posts go out one at a time: two in flight at once could be stored in the wrong order.
    this.outbox = Promise.resolve();
    this.typing = new TypingSignal((isTyping) =>
      desk.socket.send({ type: 'typing', conversation_id: id, is_typing: isTyping }),
    );
    this.buildTab();
    this.buildPanel();
    this.cases = new CasesPanel(this);
    this.knowledge = new KnowledgePanel(this);
    this.call = new CallDetails(this);
    this.botContext = new BotContextPanel(this);
    this.disposition = new DispositionForm(this);
    this.quickReplies = new QuickReplyPicker(this);
    this.files = new AttachmentTray(this);
    this.waTemplates = new WhatsAppTemplates(this); // WhatsApp's 24-hour window and templates
    this.c360 = null; // made when the Customer tab is first shown
    this.customerName = null; // the customer record's name, when the pre-chat form gave none
    this.applyRole();
    this.refreshFeatures();
  }

  // -- construction --------------------------------------------------------------------------

  buildTab() {
    this.tabItem = fromTemplate('tab-template');
    this.tab = this.tabItem.querySelector('[role="tab"]');
    this.tab.id = `tab-${this.id}`;
    this.tab.dataset.conversationId = this.id;
    this.tab.setAttribute('aria-controls', `panel-${this.id}`);
    this.tab.tabIndex = -1;
    this.tab.querySelector('.tab-name').textContent = t('Customer');
    this.tab.addEventListener('click', () => this.desk.select(this.id));
    document.getElementById('session-list').append(this.tabItem);
  }

  buildPanel() {
    const panel = fromTemplate('conversation-template');
    this.panel = panel;
    panel.id = `panel-${this.id}`;
    panel.dataset.conversationId = this.id;
    panel.setAttribute('aria-labelledby', `tab-${this.id}`);
    this.q = (selector) => panel.querySelector(selector);
    this.log = this.q('.transcript');
    this.input = this.q('.composer textarea');
    this.input.id = `reply-${this.id}`;
    this.q('.composer label').htmlFor = this.input.id;
    this.noteInput = this.q('.note-form textarea');
    this.noteInput.id = `note-${this.id}`;
    this.q('.note-form label').htmlFor = this.noteInput.id;
    this.buildSideTabs();
    this.errorLine = this.q('.conversation-error');
    this.input.value = this.desk.drafts.get(this.id);

    this.q('.composer').addEventListener('submit', (event) => {
      event.preventDefault();
      this.sendDraft();
    });
    this.q('[data-action="save-quick-reply"]').addEventListener('click', () => this.desk.openSaveReply(this));
    this.q('[data-action="share-location"]').addEventListener('click', () => this.desk.openLocation(this));
    this.input.addEventListener('keydown', (event) => {
      // Enter sends; Shift+Enter adds a line; never interrupt an IME composition.
      if (event.key === 'Enter' && !event.shiftKey && !event.altKey && !event.isComposing) {
        event.preventDefault();
        this.sendDraft();
      }
    });
    this.input.addEventListener('input', () => {
      this.desk.drafts.set(this.id, this.input.value);
      if (this.input.value.trim() && !this.input.value.startsWith('/')) this.typing.poke();
      else this.typing.stop();
    });
    this.q('.note-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.addNote(this.noteInput.value);
    });
    this.noteInput.addEventListener('input', () => {
      this.pendingNoteKey = null; // edited text is a new note
    });
    this.noteInput.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.addNote(this.noteInput.value);
      }
    });
    this.q('[data-action="end"]').addEventListener('click', () => this.end());
    this.q('[data-action="close"]').addEventListener('click', () => this.close());
    this.q('[data-action="transfer"]').addEventListener('click', () => this.desk.openTransfer(this));
    this.q('[data-action="consult"]').addEventListener('click', () => this.desk.openConsult(this));
    this.q('[data-action="leave-consult"]').addEventListener('click', () =>
      this.consultCommand(page.userId, 'end'),
    );
    document.getElementById('conversation-area').append(panel);
  }

  /** Notes, cases and knowledge beside the transcript, as ARIA tabs (arrow keys move). */
  buildSideTabs() {
    this.sideTabs = [...this.panel.querySelectorAll('.side-tab')];
    for (const tab of this.sideTabs) {
      const name = tab.dataset.side;
      const panel = this.q(`[data-side-panel="${name}"]`);
      tab.id = `side-${name}-${this.id}`;
      panel.id = `side-panel-${name}-${this.id}`;
      tab.setAttribute('aria-controls', panel.id);
      panel.setAttribute('aria-labelledby', tab.id);
      tab.addEventListener('click', () => this.showSide(name));
      tab.addEventListener('keydown', (event) => {
        const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
        if (!step || event.altKey) return;
        event.preventDefault();
        const shown = this.sideTabs.filter((candidate) => !candidate.hidden);
        const next = shown[(shown.indexOf(tab) + step + shown.length) % shown.length];
        this.showSide(next.dataset.side);
        next.focus();
      });
    }
  }

  showSide(name) {
    for (const tab of this.sideTabs) {
      const selected = tab.dataset.side === name;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
      this.q(`[data-side-panel="${tab.dataset.side}"]`).hidden = !selected;
    }
    if (name === 'cases') this.cases.load();
    if (name === 'customer') this.loadCustomer();
  }

  /** The Customer tab: the 360 of this conversation's customer, read afresh each time it shows. */
  async loadCustomer() {
    if (!this.data || !this.desk.features.has('customer')) return;
    if (!this.c360) {
      this.c360 = new Customer360(this.q('.customer-mount'), {
        api: this.desk.api,
        features: this.desk.features,
        level: 4,
        currentConversation: this.id,
      });
    }
    await this.c360.show(this.data.customer_id);
  }

  /** The customer changed on another desk (profile, notes, merge): the 360, if shown, re-reads. */
  customerChanged() {
    this.c360?.liveRefresh();
  }

  /** Replies (and articles) go to the customer only from the holder of a live conversation. */
  canReply() {
    return this.role === 'holder' && (this.state === 'active' || this.state === 'waiting')
      && !this.isCall();
  }

  /** A phone call mirrored from the CCaaS: the agent talks in the softphone, not the composer. */
  isCall() {
    return Boolean(this.data && this.data.channel === 'voice');
  }

  applyRole() {
    const consulting = this.role === 'consultant';
    this.panel.dataset.role = this.role;
    this.tab.dataset.role = this.role;
    this.q('.consult-badge').hidden = !consulting;
    this.tab.querySelector('.tab-consult').hidden = !consulting;
    if (this.state) this.setState(this.state);
  }

  /** Show or hide the controls whose endpoints this server has (features.js). */
  refreshFeatures() {
    const { features } = this.desk;
    const holder = this.role === 'holder';
    const live = this.state === 'active' || this.state === 'waiting';
    this.q('[data-action="consult"]').hidden = !(holder && live && features.has('consult'));
    this.q('[data-action="leave-consult"]').hidden = holder || !features.has('endConsult');
    this.q('.note-form').hidden = !features.has('addNote');
    this.q('[data-action="save-quick-reply"]').hidden = !features.has('saveQuickReply');
    const sides = { notes: features.has('notes'), cases: features.has('cases'),
      knowledge: features.has('knowledge'), customer: features.has('customer') };
    for (const tab of this.sideTabs) tab.hidden = !sides[tab.dataset.side];
    this.q('.side').hidden = !Object.values(sides).some(Boolean);
    const current = this.sideTabs.find((tab) => tab.getAttribute('aria-selected') === 'true');
    if (current && current.hidden) {
      const first = this.sideTabs.find((tab) => !tab.hidden);
      if (first) this.showSide(first.dataset.side);
    }
    for (const item of this.consultants.values()) this.fillConsultantActions(item);
    this.cases?.refreshFeatures();
    this.knowledge?.refreshFeatures();
  }

  // -- loading -------------------------------------------------------------------------------

  /** Fetch the conversation (unless a snapshot just gave it), then its notes and consultants. */
  async load({ fetch = true } = {}) {
    if (!this.panel.isConnected) return; // removed before it loaded (closed, handed on)
    if (fetch) {
      try {
        this.update(await this.desk.api.get(path`/api/v1/conversations/${this.id}`));
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) this.remove();
        else showError(this.errorLine, error);
        return;
      }
      if (!this.panel.isConnected) return;
    }
    if (this.role === 'consultant') await this.fillFromRest();
    await this.loadExtras();
  }

  /** Notes and consults are state, not a stream: after a (re)connect, read them again. */
  async loadExtras() {
    await Promise.all([
      this.loadNotes(), this.loadConsultants(), this.cases.load(), this.botContext.load(),
    ]);
  }

  /** A consultant's socket may not stream this conversation: read what is missing over REST. */
  async fillFromRest() {
    for (;;) {
      const after = this.transcript.cursor;
      let batch;
      try {
        batch = await this.desk.api.get(
          `${path`/api/v1/conversations/${this.id}/messages`}?after_seq=${after}&limit=${PAGE_SIZE}`,
        );
      } catch (error) {
        showError(this.errorLine, error);
        return;
      }
      batch.forEach((m) => this.addMessage(m));
      if (batch.length < PAGE_SIZE) return;
    }
  }

  async loadNotes() {
    if (!this.desk.features.has('notes')) return;
    try {
      const notes = await this.desk.api.get(path`/api/v1/conversations/${this.id}/notes`);
      notes.forEach((n) => this.addNoteItem(n));
    } catch (error) {
      if (!this.desk.features.noteFailure('notes', error)) showError(this.errorLine, error);
    }
  }

  async loadConsultants() {
    if (!this.desk.features.has('consults')) return;
    try {
      this.syncConsultants(await this.desk.api.get(path`/api/v1/conversations/${this.id}/consults`));
    } catch (error) {
      if (!this.desk.features.noteFailure('consults', error)) showError(this.errorLine, error);
    }
  }

  /** Apply the full list of consults (ConsultOut[]) the server returned. */
  syncConsultants(consults) {
    const now = new Set(consults.map((c) => c.agent_id));
    for (const agentId of [...this.consultants.keys()]) if (!now.has(agentId)) this.consultEnded(agentId);
    for (const c of consults) this.consultStarted(c.agent_id, c.agent_name);
  }

  /** Apply a ConversationOut (from a snapshot or a REST reply). */
  update(conv) {
    const first = !this.data;
    this.data = conv;
    const prechat = conv.prechat || {};
    const name = prechat.name || this.customerName || t('Customer');
    this.q('.conversation-title').textContent = name;
    this.tab.querySelector('.tab-name').textContent = name;
    this.tab.querySelector('.tab-channel').textContent = channelLabel(conv.channel);
    const queue = queueById(conv.queue_id);
    this.q('.conversation-sub').textContent = [
      channelLabel(conv.channel),
      queue ? queue.name : null,
      t('started {time}', { time: timeOf(conv.created_at) }),
    ].filter(Boolean).join(' · ');
    renderPrechat(this.q('.prechat'), prechat);
    if (this.role === 'holder' && conv.agent_id && conv.agent_id !== page.userId) {
      this.remove(); // handed on (transfer, promotion): no longer ours to work on
      return;
    }
    this.setState(conv.state);
    this.tickTimers();
    if (first) {
      if (!prechat.name) this.loadCustomerName();
      this.call.load();
    }
  }

  /** Calls and provider channels have no pre-chat name: the customer record names the tab. */
  async loadCustomerName() {
    if (!this.desk.features.has('customer')) return;
    try {
      const profile = await this.desk.api.get(path`/api/v1/customers/${this.data.customer_id}`);
      this.customerName = profile.display_name;
      if (!this.panel.isConnected || (this.data.prechat || {}).name) return;
      this.q('.conversation-title').textContent = profile.display_name;
      this.tab.querySelector('.tab-name').textContent = profile.display_name;
    } catch (error) {
      this.desk.features.noteFailure('customer', error); // the tab keeps its generic name
    }
  }

  /** A voice.call_changed frame for this conversation: read the call again. */
  callChanged() {
    this.call.load();
  }

  setState(state) {
    if (state === 'closed' || (state === 'open' && this.role === 'holder')) {
      // Closed, or handed back to the queue: either way it is no longer ours to work on.
      this.remove();
      return;
    }
    this.state = state;
    const holder = this.role === 'holder';
    const live = state === 'active' || state === 'waiting';
    const label = STATE_LABELS[state] || state;
    this.q('.state-badge').textContent = label;
    this.q('.state-badge').dataset.state = state;
    this.tab.querySelector('.tab-state').textContent = label;
    this.tab.dataset.state = state;
    this.q('[data-action="end"]').hidden = !(holder && live);
    this.q('[data-action="transfer"]').hidden = !(holder && live);
    this.q('[data-action="close"]').hidden = !(holder && state === 'wrap_up');
    this.q('.wrapup-note').hidden = !(holder && state === 'wrap_up');
    this.q('.consult-note').hidden = holder;
    this.q('.composer').hidden = !(holder && live) || this.isCall();
    this.q('.call-note').hidden = !(holder && live && this.isCall());
    if (holder && state === 'wrap_up') this.disposition.load();
    else this.q('.disposition').hidden = true;
    if (this.q('.composer').hidden) this.quickReplies.close();
    this.waTemplates?.stateChanged();
    this.refreshFeatures();
    if (!live || !holder) {
      this.typing.stop();
      this.showTyping(false);
    }
  }

  // -- transcript ----------------------------------------------------------------------------

  addMessage(message) {
    if (!this.transcript.add(message)) return;
    this.dropEchoedPending(message);
    const li = messageElement({ conversation_id: this.id, ...message });
    // Keep seq order even when a replay or a REST reply lands out of order; unsent messages
    // (no seq yet) always stay last.
    const later = [...this.log.children].find(
      (el) => el.dataset.seq === undefined || Number(el.dataset.seq) > message.seq,
    );
    this.log.insertBefore(li, later || null);
    this.trackWaiting();
    if (message.sender_kind === 'customer') {
      this.showTyping(false);
      this.waTemplates?.customerWrote(message);
      if (message.seq > this.seenSeq) this.noticeUnread(message);
    }
    if (this.desk.isActive(this.id)) this.markSeen();
    if (this.isNearBottom() || message.sender_kind === 'agent') li.scrollIntoView({ block: 'end' });
  }

  /** The reply timer runs from the customer's oldest unanswered message to the next reply. */
  trackWaiting() {
    let since = null;
    const seqs = [...this.transcript.bySeq.keys()].sort((a, b) => b - a);
    for (const seq of seqs) {
      const m = this.transcript.bySeq.get(seq);
      if (m.sender_kind === 'agent' || m.sender_kind === 'bot') break;
      if (m.sender_kind === 'customer') since = Date.parse(m.created_at);
    }
    this.waitingSince = Number.isNaN(since) ? null : since;
  }

  noticeUnread(message) {
    if (this.desk.isActive(this.id) && document.visibilityState === 'visible') return;
    this.unread += 1;
    this.renderUnread();
    if (!this.desk.isActive(this.id)) {
      announcePolitely(t('New message from {name}: {text}', {
        name: message.sender_name, text: message.text.slice(0, 140),
      }));
    }
  }

  renderUnread() {
    const badge = this.tab.querySelector('.tab-unread');
    badge.hidden = this.unread === 0;
    badge.querySelector('.tab-unread-count').textContent = String(this.unread);
  }

  /** The agent is looking at this session: everything in it counts as read. */
  markSeen() {
    if (document.visibilityState !== 'visible') return;
    const last = Math.max(this.seenSeq, ...[...this.transcript.bySeq.keys()]);
    this.unread = 0;
    this.renderUnread();
    if (last !== this.seenSeq) {
      this.seenSeq = last;
      this.desk.seen(this);
    }
  }

  isNearBottom() {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 80;
  }

  /** The socket may deliver our own message before the POST reply: retire its pending copy. */
  dropEchoedPending(message) {
    // A shared place is never pending (the location dialog waits for the server).
    if (message.sender_kind !== 'agent' || message.location) return;
    const pending = [...this.log.querySelectorAll('.msg-pending')].find(
      (el) => el.dataset.text === message.text,
    );
    if (pending) pending.remove();
  }

  deliveryChanged(frame) {
    const li = this.log.querySelector(`[data-seq="${Number(frame.seq)}"]`);
    if (li) setDelivery(li, frame.status, frame.error);
  }

  showTyping(isTyping) {
    const line = this.q('.typing');
    clearTimeout(this.typingTimer);
    line.hidden = !isTyping;
    if (!isTyping) return;
    const name = (this.data && this.data.prechat && this.data.prechat.name) || t('The customer');
    line.textContent = t('{name} is typing…', { name });
    // A lost "stopped typing" frame must not leave the indicator on forever.
    this.typingTimer = setTimeout(() => this.showTyping(false), CUSTOMER_TYPING_TIMEOUT_MS);
  }

  // -- timers --------------------------------------------------------------------------------

  replyTargetSeconds() {
    const queue = this.data && queueById(this.data.queue_id);
    return (queue && queue.serviceLevelSeconds) || DEFAULT_REPLY_TARGET_SECONDS;
  }

  tickTimers() {
    if (!this.data) return;
    const now = Date.now() + this.desk.skewMs();
    const age = formatDuration((now - Date.parse(this.data.created_at)) / 1000);
    const live = this.state === 'active' || this.state === 'waiting';
    const waited = live && this.waitingSince !== null ? (now - this.waitingSince) / 1000 : null;
    const level = slaLevel(waited, this.replyTargetSeconds());
    const text = waited === null
      ? t('Open {age}', { age })
      : t('Open {age} · waiting {wait}', { age, wait: formatDuration(waited) });
    for (const el of [this.tab.querySelector('.tab-sla'), this.q('.sla')]) {
      el.textContent = text;
      el.dataset.level = level;
    }
  }

  // -- replies -------------------------------------------------------------------------------

  sendDraft() {
    const raw = this.input.value;
    const text = raw.trim();
    if (this.files.busy()) {
      showError(this.errorLine, userError(t('Wait until the files are uploaded.')));
      return;
    }
    const files = this.files.ready();
    if (!text && !files.length) return;
    if (text && !files.length && this.slashCommand(text)) return;
    this.clearDraft();
    this.files.clearSent();
    this.post(text, newClientMessageId(), null, files);
  }

  clearDraft() {
    this.input.value = '';
    this.desk.drafts.forget(this.id);
    this.typing.stop();
  }

  /**
   * `/t note` opens the transfer dialog, `/c` a consult, `/n text` adds an internal note, and
   * `/q words` searches quick replies (never sent as a message).
   */
  slashCommand(text) {
    const match = /^\/([tcnq])(?:\s+([\s\S]*))?$/.exec(text);
    if (!match) return false;
    const [, command, rest = ''] = match;
    if (command === 'q' && this.quickReplies.available()) {
      this.quickReplies.onInput();
      return true;
    }
    if (command === 't') {
      this.clearDraft();
      this.desk.openTransfer(this, rest);
      return true;
    }
    if (command === 'c' && !this.q('[data-action="consult"]').hidden) {
      this.clearDraft();
      this.desk.openConsult(this);
      return true;
    }
    if (command === 'n' && !this.q('.note-form').hidden && rest.trim()) {
      this.clearDraft();
      this.addNote(rest);
      return true;
    }
    return false;
  }

  /** Show the message as pending, then queue its post; a retry reuses its client_message_id. */
  post(text, clientMessageId, pending = null, files = []) {
    const item = pending || messageElement({
      sender_kind: 'agent', sender_name: t('You'), text, conversation_id: this.id, attachments: files,
    });
    item.classList.add('msg-pending');
    item.classList.remove('msg-failed');
    item.dataset.text = text;
    item.querySelector('.msg-retry')?.remove();
    setDelivery(item, 'sending');
    if (!pending) {
      this.log.append(item);
      item.scrollIntoView({ block: 'end' });
    }
    this.outbox = this.outbox.then(() => this.deliver(text, clientMessageId, item, files));
  }

  async deliver(text, clientMessageId, item, files = []) {
    const target = path`/api/v1/conversations/${this.id}/messages`;
    const body = { text, client_message_id: clientMessageId };
    if (files.length) body.attachment_ids = files.map((f) => f.id);
    try {
      const message = await withRetries(() => this.desk.api.post(target, body));
      item.remove();
      this.addMessage(message);
      showError(this.errorLine, null);
    } catch (error) {
      if (!item.isConnected) return; // the socket already delivered it
      this.markFailed(item, text, clientMessageId, error, files);
    }
  }

  /** Share a place (the location dialog): posted in turn after the replies already on their way,
   * leaving the draft alone. A refusal (422 with the reason) is thrown back to the dialog. */
  async shareLocation(location) {
    const target = path`/api/v1/conversations/${this.id}/messages`;
    const body = { text: '', location, client_message_id: newClientMessageId() };
    const sent = this.outbox.then(() => withRetries(() => this.desk.api.post(target, body)));
    this.outbox = sent.catch(() => {});
    this.addMessage(await sent);
  }

  markFailed(item, text, clientMessageId, error, files = []) {
    item.classList.add('msg-failed');
    const retry = document.createElement('button');
    retry.type = 'button';
    retry.className = 'msg-retry link-button';
    retry.textContent = t('Not sent — retry');
    retry.addEventListener('click', () => this.post(text, clientMessageId, item, files));
    item.append(retry);
    showError(this.errorLine, error);
  }

  // -- commands ------------------------------------------------------------------------------

  async end() {
    await this.command('end', (conv) => this.update(conv));
  }

  async close() {
    try {
      await this.disposition.beforeClose();
    } catch (error) {
      showError(this.errorLine, error);
      return;
    }
    await this.command('close', () => this.remove());
  }

  async command(action, onDone) {
    const button = this.q(`[data-action="${action}"]`);
    button.disabled = true;
    try {
      onDone(await this.desk.api.post(path`/api/v1/conversations/${this.id}/${action}`));
      showError(this.errorLine, null);
    } catch (error) {
      showError(this.errorLine, error);
      // Refused for want of a disposition code (the queue requires one): show the choice.
      if (action === 'close' && error instanceof ApiError && error.status === 409) this.disposition.load();
    } finally {
      button.disabled = false;
    }
  }

  // -- consults ------------------------------------------------------------------------------

  consultStarted(agentId, name = null) {
    if (name) this.desk.directory.names.set(agentId, name);
    if (!agentId || this.consultants.has(agentId) || agentId === page.userId) return;
    const item = fromTemplate('consultant-template');
    item.dataset.agentId = agentId;
    item.querySelector('.consultant-name').textContent = this.consultantName(agentId);
    item.querySelector('[data-action="promote"]').addEventListener('click', () =>
      this.consultCommand(agentId, 'promote'),
    );
    item.querySelector('[data-action="end-consult"]').addEventListener('click', () =>
      this.consultCommand(agentId, 'end'),
    );
    this.consultants.set(agentId, item);
    this.fillConsultantActions(item);
    this.q('.consultant-list').append(item);
    this.q('.consultants').hidden = false;
  }

  consultEnded(agentId) {
    const item = this.consultants.get(agentId);
    if (!item) return;
    item.remove();
    this.consultants.delete(agentId);
    this.q('.consultants').hidden = this.consultants.size === 0;
  }

  fillConsultantActions(item) {
    const holder = this.role === 'holder';
    item.querySelector('[data-action="promote"]').hidden = !(holder && this.desk.features.has('promote'));
    item.querySelector('[data-action="end-consult"]').hidden =
      !(holder && this.desk.features.has('endConsult'));
  }

  async consultCommand(agentId, action) {
    const base = path`/api/v1/conversations/${this.id}/consults/${agentId}`;
    const feature = action === 'promote' ? 'promote' : 'endConsult';
    try {
      if (action === 'promote') {
        const reply = await this.desk.api.post(`${base}/promote`);
        this.consultEnded(agentId);
        announce(reply.assigned
          ? t('{name} now holds the conversation.', { name: this.consultantName(agentId) })
          : t('{name} has no free capacity; the conversation waits for them.', {
            name: this.consultantName(agentId),
          }));
        this.update(reply.conversation);
      } else {
        await this.desk.api.request('DELETE', base);
        if (agentId === page.userId) this.remove();
        else this.consultEnded(agentId);
      }
      showError(this.errorLine, null);
    } catch (error) {
      if (!this.desk.features.noteFailure(feature, error)) showError(this.errorLine, error);
    }
  }

  consultantName(agentId) {
    return this.desk.directory.nameOf(agentId) || t('A colleague');
  }

  // -- internal notes ------------------------------------------------------------------------

  /** A NoteOut from REST, or a note.added frame (the same fields, with note_id for id). */
  addNoteItem(note) {
    const id = note && (note.id || note.note_id);
    if (!id || this.notes.has(id)) return;
    this.notes.add(id);
    const list = this.q('.note-list');
    const li = noteElement({ ...note, id });
    li.dataset.createdAt = note.created_at || '';
    // ISO timestamps in UTC sort as text.
    const later = [...list.children].find((el) => el.dataset.createdAt > li.dataset.createdAt);
    list.insertBefore(li, later || null);
    this.q('.notes-empty').hidden = true;
  }

  async addNote(text) {
    const clean = text.trim();
    if (!clean) return;
    const button = this.q('.note-form button');
    button.disabled = true;
    try {
      // The key makes a retried (double-clicked, re-sent) note land once.
      this.pendingNoteKey ||= newClientMessageId();
      const note = await this.desk.api.post(path`/api/v1/conversations/${this.id}/notes`, {
        text: clean, client_note_id: this.pendingNoteKey,
      });
      this.pendingNoteKey = null;
      this.noteInput.value = '';
      this.addNoteItem(note);
      showError(this.errorLine, null);
    } catch (error) {
      if (!this.desk.features.noteFailure('addNote', error)) showError(this.errorLine, error);
    } finally {
      button.disabled = false;
    }
  }

  // -- selection and removal -----------------------------------------------------------------

  select(selected) {
    this.tab.setAttribute('aria-selected', String(selected));
    this.tab.tabIndex = selected ? 0 : -1;
    this.panel.hidden = !selected;
    if (selected) this.markSeen();
  }

  remove() {
    this.waTemplates?.dispose();
    this.typing.stop();
    clearTimeout(this.typingTimer);
    this.desk.drafts.forget(this.id);
    this.tabItem.remove();
    this.panel.remove();
    this.desk.removed(this);
  }
}
