// Quick replies in the composer: "/q" and a few words search the shared replies and the agent's
// own (GET /api/v1/quick-replies); ↑/↓ choose, Enter or Tab insert, Esc closes. The server fills
// the {slugs} for this conversation ({customerName}, {agentName}, {queue}, pre-chat answers); a
// slug it has no value for stays in the text, selected, for the agent to type over. Nothing is
// sent until the agent sends it.

import { announce, announcePolitely, el, path, showError } from './dom.js';
import { t } from './i18n.js';

const COMMAND = /^\/q(?:\s+([\s\S]*))?$/;
const SEARCH_DELAY_MS = 150;
const RESULTS = 8;
const LANGUAGES = new Set(['en', 'es']);

/** The search words of a "/q …" draft, or null when the draft is not a quick-reply command. */
export function quickReplyQuery(draft) {
  const match = COMMAND.exec(draft);
  return match ? (match[1] || '').trim() : null;
}

export class QuickReplyPicker {
  /** @param {import('./conversation.js').ConversationView} view */
  constructor(view) {
    this.view = view;
    this.input = view.input;
    this.root = view.q('.quick-replies');
    this.list = view.q('.qr-list');
    this.status = view.q('.qr-status');
    this.list.id = `qr-list-${view.id}`;
    this.input.setAttribute('aria-controls', this.list.id);
    this.input.setAttribute('aria-autocomplete', 'list');
    this.replies = [];
    this.active = -1;
    this.timer = null;
    this.searchId = 0;
    this.input.addEventListener('input', () => this.onInput());
    // Capture: at the reply box this runs before the composer's own Enter-sends handler.
    this.input.addEventListener('keydown', (event) => this.onKey(event), { capture: true });
    this.input.addEventListener('blur', () => setTimeout(() => {
      if (document.activeElement !== this.input) this.close();
    }, 150));
  }

  get isOpen() {
    return !this.root.hidden;
  }

  available() {
    return this.view.desk.features.has('quickReplies');
  }

  /** Alt+Q: start a "/q " in the reply box. */
  start() {
    if (!this.available() || this.view.q('.composer').hidden) return;
    if (quickReplyQuery(this.input.value) === null) this.input.value = '/q ';
    this.input.focus();
    this.input.setSelectionRange(this.input.value.length, this.input.value.length);
    this.onInput();
  }

  onInput() {
    const query = quickReplyQuery(this.input.value);
    if (query === null || !this.available()) {
      this.close();
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.search(query), SEARCH_DELAY_MS);
  }

  async search(query) {
    const id = ++this.searchId;
    const params = new URLSearchParams({ q: query, limit: String(RESULTS) });
    const language = this.view.data && this.view.data.prechat && this.view.data.prechat.language;
    if (LANGUAGES.has(language)) params.set('language', language);
    try {
      const found = await this.view.desk.api.get(`/api/v1/quick-replies?${params}`);
      if (id !== this.searchId || quickReplyQuery(this.input.value) === null) return; // overtaken
      this.show(found);
    } catch (error) {
      if (!this.view.desk.features.noteFailure('quickReplies', error)) showError(this.view.errorLine, error);
    }
  }

  show(replies) {
    this.replies = replies;
    this.list.replaceChildren(...replies.map((reply, i) => el('li', {
      id: `qr-${this.view.id}-${i}`,
      className: 'qr-option',
      dataset: { testid: 'quick-reply', replyId: reply.id },
      attrs: { role: 'option', 'aria-selected': 'false' },
      // mousedown, not click: the reply box must keep the focus.
      on: { mousedown: (event) => { event.preventDefault(); this.choose(i); } },
    },
    el('span', { className: 'qr-title' }, reply.title),
    reply.shared ? null : el('span', { className: 'badge qr-mine' }, t('mine')),
    el('span', { className: 'qr-text muted' }, reply.text))));
    this.status.textContent = replies.length
      ? t('Quick replies: {count}. ↑ ↓ to choose, Enter to insert, Esc to close.', { count: replies.length })
      : t('No quick reply matches.');
    this.root.hidden = false;
    this.move(replies.length ? 0 : -1);
    announcePolitely(this.status.textContent);
  }

  move(index) {
    this.active = index;
    [...this.list.children].forEach((item, i) => item.setAttribute('aria-selected', String(i === index)));
    const current = this.list.children[index];
    if (current) {
      this.input.setAttribute('aria-activedescendant', current.id);
      current.scrollIntoView({ block: 'nearest' });
    } else {
      this.input.removeAttribute('aria-activedescendant');
    }
  }

  onKey(event) {
    if (!this.isOpen || event.isComposing || event.altKey || event.ctrlKey || event.metaKey) return;
    const count = this.replies.length;
    let handled = true;
    if (event.key === 'ArrowDown' && count) this.move((this.active + 1) % count);
    else if (event.key === 'ArrowUp' && count) this.move((this.active - 1 + count) % count);
    else if ((event.key === 'Enter' || event.key === 'Tab') && !event.shiftKey && this.active >= 0) {
      this.choose(this.active);
    } else if (event.key === 'Escape') this.close();
    else if (event.key === 'Enter' && !event.shiftKey) {
      // "/q …" with nothing to insert is not a message for the customer.
    } else handled = false;
    if (handled) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }

  close() {
    clearTimeout(this.timer);
    this.searchId += 1;
    this.root.hidden = true;
    this.replies = [];
    this.active = -1;
    this.list.replaceChildren();
    this.input.removeAttribute('aria-activedescendant');
  }

  async choose(index) {
    const reply = this.replies[index];
    if (!reply) return;
    this.close();
    const { api, features } = this.view.desk;
    let text = reply.text;
    let missing = [];
    if (features.has('renderQuickReply')) {
      try {
        const done = await api.get(
          path`/api/v1/conversations/${this.view.id}/quick-replies/${reply.id}/rendered`,
        );
        ({ text, missing } = done);
      } catch (error) {
        if (!features.noteFailure('renderQuickReply', error)) {
          showError(this.view.errorLine, error);
          return;
        }
      }
    }
    this.insert(text, missing);
  }

  /** Put the text in the reply box and select the first slug left to fill in, if any. */
  insert(text, missing) {
    this.input.value = text;
    this.view.desk.drafts.set(this.view.id, text);
    this.input.focus();
    const first = missing.length ? text.indexOf(`{${missing[0]}}`) : -1;
    if (first >= 0) {
      this.input.setSelectionRange(first, first + missing[0].length + 2);
      announce(t('Fill in: {slugs}', { slugs: missing.join(', ') }));
    } else {
      this.input.setSelectionRange(text.length, text.length);
    }
  }
}
