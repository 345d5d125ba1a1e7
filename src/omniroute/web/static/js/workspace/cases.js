// The cases of a conversation (docs/CASES.md): the ones linked to it, a new one from the chat,
// an existing case found by number or title and linked, unlinking, opening a case as its own
// session (case-sessions.js), and the status changes an agent makes from the conversation
// (start, hold, resolve, reopen).
// Case events are not sent over the agent socket, so the list is read when the panel is shown,
// after a reconnect, and from the answers to the agent's own changes.

import { ApiError } from '../omniroute-client.js';
import { announce, el, fromTemplate, path, showError } from './dom.js';
import { format, locale, t } from './i18n.js';

export const CASE_STATUS_LABELS = {
  new: t('New'),
  active: t('In progress'),
  on_hold: t('On hold'),
  resolved: t('Resolved'),
  cancelled: t('Cancelled'),
};

export const PRIORITY_LABELS = {
  low: t('Low'), normal: t('Normal'), high: t('High'), urgent: t('Urgent'),
};

export const SLA_LABELS = {
  running: t('due {time}'),
  paused: t('on hold; was due {time}'),
  breached: t('overdue since {time}'),
  met: t('resolved within its target'),
  cancelled: t('cancelled'),
};

function when(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? ''
    : date.toLocaleString(locale, { dateStyle: 'short', timeStyle: 'short' });
}

export class CasesPanel {
  /** @param {import('./conversation.js').ConversationView} view */
  constructor(view) {
    this.view = view;
    this.root = view.q('.cases');
    this.list = this.root.querySelector('.case-list');
    this.error = this.root.querySelector('.cases-error');
    this.cards = new Map(); // case id -> { data, el }
    this.root.querySelector('[data-action="new-case"]').addEventListener('click', () =>
      view.desk.openCase(view),
    );
    this.finder = this.root.querySelector('.case-find');
    this.found = this.root.querySelector('.case-find-results');
    const input = this.finder.querySelector('input');
    input.id = `case-find-${view.id}`;
    this.finder.querySelector('label').htmlFor = input.id;
    this.finder.addEventListener('submit', (event) => {
      event.preventDefault();
      this.find(input.value.trim());
    });
  }

  /** Cases whose number or title matches, to link to this conversation. */
  async find(text) {
    if (!text) return;
    try {
      const params = new URLSearchParams({ q: text, limit: '10' });
      const page = await this.view.desk.api.get(`/api/v1/cases?${params}`);
      const results = page.items.filter((c) => !this.cards.has(c.id));
      this.found.replaceChildren(...results.map((c) => el('li', { className: 'case-find-result', dataset: { testid: 'case-find-result', caseId: c.id } },
        el('span', { className: 'case-number' }, c.number), ' ',
        el('span', { className: 'badge case-status', dataset: { status: c.status } },
          CASE_STATUS_LABELS[c.status] || c.status), ' ',
        el('span', {}, c.title), ' ',
        el('button', {
          type: 'button', className: 'button button-small', textContent: t('Link'),
          dataset: { testid: 'case-find-link' },
          attrs: { 'aria-label': t('Link case {number} to this conversation', { number: c.number }) },
          on: { click: () => this.link(c) },
        }))));
      if (!results.length) this.found.append(el('li', { className: 'muted' }, t('No case matches.')));
      showError(this.error, null);
    } catch (error) {
      showError(this.error, error);
    }
  }

  async link(data) {
    try {
      await this.view.desk.api.put(path`/api/v1/cases/${data.id}/conversations/${this.view.id}`, {});
      this.found.replaceChildren();
      this.show(data);
      announce(t('Case {number} linked to this conversation.', { number: data.number }));
      showError(this.error, null);
      this.view.desk.caseChanged?.(data.id, this.view.id);
    } catch (error) {
      showError(this.error, error);
    }
  }

  async unlink(caseId) {
    const entry = this.cards.get(caseId);
    if (!entry) return;
    try {
      await this.view.desk.api.request('DELETE', path`/api/v1/cases/${caseId}/conversations/${this.view.id}`);
      entry.el.remove();
      this.cards.delete(caseId);
      this.root.querySelector('.cases-empty').hidden = this.cards.size > 0;
      announce(t('Case {number} unlinked from this conversation.', { number: entry.data.number }));
      showError(this.error, null);
      this.view.desk.caseChanged?.(caseId, this.view.id);
    } catch (error) {
      showError(this.error, error);
    }
  }

  async load() {
    if (!this.view.desk.features.has('cases')) return;
    try {
      const cases = await this.view.desk.api.get(path`/api/v1/conversations/${this.view.id}/cases`);
      const linked = new Set(cases.map((c) => c.id));
      for (const [id, entry] of [...this.cards]) {
        if (linked.has(id)) continue; // unlinked meanwhile
        entry.el.remove();
        this.cards.delete(id);
      }
      cases.forEach((c) => this.show(c));
      this.root.querySelector('.cases-empty').hidden = this.cards.size > 0;
      showError(this.error, null);
      this.view.desk.followsChanged?.();
    } catch (error) {
      if (!this.view.desk.features.noteFailure('cases', error)) showError(this.error, error);
    }
  }

  refreshFeatures() {
    const { features } = this.view.desk;
    this.root.querySelector('[data-action="new-case"]').hidden =
      !(features.has('createCase') && this.view.role === 'holder' && this.view.state !== 'closed');
    const linking = features.has('linkCase') && features.has('caseList') && this.view.role === 'holder';
    this.finder.hidden = !linking;
    for (const button of this.list.querySelectorAll('[data-case-action="unlink"]')) {
      button.hidden = !(features.has('unlinkCase') && this.view.role === 'holder');
    }
  }

  /** Add or update the card of a CaseOut. */
  show(data) {
    let entry = this.cards.get(data.id);
    if (!entry) {
      const el = fromTemplate('case-template');
      el.dataset.caseId = data.id;
      for (const button of el.querySelectorAll('[data-case-action]')) {
        button.addEventListener('click', () => this.act(data.id, button.dataset.caseAction));
      }
      entry = { data, el };
      this.cards.set(data.id, entry);
      this.list.prepend(el);
    }
    entry.data = data;
    const { el } = entry;
    el.querySelector('.case-number').textContent = data.number;
    el.querySelector('.case-status').textContent = CASE_STATUS_LABELS[data.status] || data.status;
    el.querySelector('.case-status').dataset.status = data.status;
    el.querySelector('.case-priority').textContent = PRIORITY_LABELS[data.priority] || data.priority;
    el.querySelector('.case-priority').dataset.priority = data.priority;
    el.querySelector('.case-title-text').textContent = data.title;
    el.querySelector('.case-sla').textContent =
      format(SLA_LABELS[data.sla_state] || '', { time: when(data.sla_due_at) });
    el.querySelector('.case-sla').dataset.state = data.sla_state;
    const resolution = el.querySelector('.case-resolution');
    resolution.hidden = !data.resolution;
    resolution.textContent = data.resolution || '';
    const next = new Set(data.next_statuses || []);
    const button = (name) => el.querySelector(`[data-case-action="${name}"]`);
    button('activate').hidden = !(next.has('active') && data.status !== 'resolved');
    button('hold').hidden = !next.has('on_hold');
    button('resolve').hidden = !next.has('resolved');
    button('reopen').hidden = data.status !== 'resolved';
    button('open').setAttribute('aria-label', t('Open case {number}', { number: data.number }));
    button('unlink').setAttribute('aria-label', t('Unlink case {number}', { number: data.number }));
    const { features } = this.view.desk;
    button('open').hidden = !this.view.desk.openCaseSession;
    button('unlink').hidden = !(features.has('unlinkCase') && this.view.role === 'holder');
    this.root.querySelector('.cases-empty').hidden = this.cards.size > 0;
  }

  async act(caseId, action) {
    const entry = this.cards.get(caseId);
    if (!entry) return;
    if (action === 'resolve') {
      this.view.desk.openResolve(this, entry.data);
      return;
    }
    if (action === 'open') {
      this.view.desk.openCaseSession?.(caseId);
      return;
    }
    if (action === 'unlink') {
      await this.unlink(caseId);
      return;
    }
    const { api } = this.view.desk;
    const base = path`/api/v1/cases/${caseId}`;
    const version = entry.data.version;
    try {
      let updated;
      if (action === 'reopen') updated = await api.post(`${base}/reopen`, { expected_version: version });
      else {
        const status = action === 'hold' ? 'on_hold' : 'active';
        updated = await api.request('PATCH', base, { status, expected_version: version });
      }
      this.show(updated);
      announce(t('Case {number}: {status}.', {
        number: updated.number, status: CASE_STATUS_LABELS[updated.status] || updated.status,
      }));
      showError(this.error, null);
    } catch (error) {
      showError(this.error, error);
      // Someone changed it meanwhile (409): show what it is now, so the next try starts there.
      if (error instanceof ApiError && error.status === 409) this.load();
    }
  }
}
