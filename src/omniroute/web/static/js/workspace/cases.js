// The cases of a conversation (docs/CASES.md): the ones linked to it, a new one from the chat,
// and the status changes an agent makes from the conversation (start, hold, resolve, reopen).
// Case events are not sent over the agent socket, so the list is read when the panel is shown,
// after a reconnect, and from the answers to the agent's own changes.

import { ApiError } from '../omniroute-client.js';
import { announce, fromTemplate, path, showError } from './dom.js';
import { format, locale, t } from './i18n.js';

export const CASE_STATUS_LABELS = {
  new: t('New'),
  active: t('In progress'),
  on_hold: t('On hold'),
  resolved: t('Resolved'),
  cancelled: t('Cancelled'),
};

const PRIORITY_LABELS = {
  low: t('Low'), normal: t('Normal'), high: t('High'), urgent: t('Urgent'),
};

const SLA_LABELS = {
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
    } catch (error) {
      if (!this.view.desk.features.noteFailure('cases', error)) showError(this.error, error);
    }
  }

  refreshFeatures() {
    const { features } = this.view.desk;
    this.root.querySelector('[data-action="new-case"]').hidden =
      !(features.has('createCase') && this.view.role === 'holder' && this.view.state !== 'closed');
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
    this.root.querySelector('.cases-empty').hidden = this.cards.size > 0;
  }

  async act(caseId, action) {
    const entry = this.cards.get(caseId);
    if (!entry) return;
    if (action === 'resolve') {
      this.view.desk.openResolve(this, entry.data);
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
