// The transfer and consult dialogs (native <dialog>: focus stays inside, Escape cancels, and
// focus returns to where the agent was).

import { page } from './data.js';
import { newClientMessageId } from '../omniroute-client.js';
import { CASE_STATUS_LABELS } from './cases.js';
import { announce, path, showError, userError } from './dom.js';
import { t } from './i18n.js';

const PRESENCE_SUFFIX = {
  available: t('available'), busy: t('busy'), busy_dnd: t('do not disturb'), away: t('away'),
  offline: t('offline'), inactive: t('inactive'),
};

function fillPeople(select, people) {
  select.replaceChildren();
  for (const person of people) {
    const option = document.createElement('option');
    option.value = person.id;
    option.textContent = person.presence && PRESENCE_SUFFIX[person.presence]
      ? `${person.name} (${PRESENCE_SUFFIX[person.presence]})`
      : person.name;
    select.append(option);
  }
}

/** Run `action` on submit; close when it succeeds, show why when it fails. */
function bindSubmit(dialog, action) {
  const form = dialog.querySelector('form');
  const error = dialog.querySelector('.form-error');
  const submit = dialog.querySelector('[type="submit"][value="confirm"]');
  form.addEventListener('submit', async (event) => {
    if (event.submitter && event.submitter.value !== 'confirm') return;
    event.preventDefault();
    submit.disabled = true;
    try {
      await action();
      dialog.close('done');
    } catch (error_) {
      showError(error, error_);
    } finally {
      submit.disabled = false;
    }
  });
  dialog.addEventListener('close', () => showError(error, null));
}

export class TransferDialog {
  constructor({ api, directory }) {
    this.api = api;
    this.directory = directory;
    this.dialog = document.getElementById('transfer-dialog');
    this.queue = document.getElementById('transfer-queue');
    this.agent = document.getElementById('transfer-agent');
    this.note = document.getElementById('transfer-note');
    this.view = null;
    for (const q of page.queues) {
      const option = document.createElement('option');
      option.value = q.id;
      option.textContent = q.name;
      this.queue.append(option);
    }
    for (const radio of this.dialog.querySelectorAll('input[name="transfer-kind"]')) {
      radio.addEventListener('change', () => this.showKind());
    }
    bindSubmit(this.dialog, () => this.transfer());
  }

  kind() {
    return this.dialog.querySelector('input[name="transfer-kind"]:checked').value;
  }

  showKind() {
    const kind = this.kind();
    for (const el of this.dialog.querySelectorAll('[data-kind]')) el.hidden = el.dataset.kind !== kind;
  }

  async open(view, note = '') {
    if (!view || view.role !== 'holder' || view.q('[data-action="transfer"]').hidden) return;
    this.view = view;
    this.note.value = note;
    const current = view.data && view.data.queue_id;
    const other = page.queues.find((q) => q.id !== current);
    this.queue.value = other ? other.id : current || '';
    const agentOption = this.dialog.querySelector('input[value="agent"]');
    const canList = this.directory.available();
    agentOption.disabled = !canList;
    this.dialog.querySelector('.transfer-no-agents').hidden = canList;
    this.dialog.querySelector('input[value="queue"]').checked = true;
    this.showKind();
    this.dialog.showModal();
    if (canList) {
      try {
        fillPeople(this.agent, await this.directory.list());
      } catch (error) {
        showError(this.dialog.querySelector('.form-error'), error);
      }
    }
  }

  async transfer() {
    const view = this.view;
    const body = { note: this.note.value.trim() };
    let target;
    if (this.kind() === 'agent') {
      if (!this.agent.value) throw userError(t('Choose a colleague.'));
      body.agent_id = this.agent.value;
      target = this.agent.selectedOptions[0].textContent;
    } else {
      body.queue_id = this.queue.value;
      target = this.queue.selectedOptions[0].textContent;
    }
    const conv = await this.api.post(path`/api/v1/conversations/${view.id}/transfer`, body);
    announce(t('Conversation transferred to {target}.', { target }));
    view.update(conv);
  }
}

export class ConsultDialog {
  constructor({ api, directory, features }) {
    this.api = api;
    this.directory = directory;
    this.features = features;
    this.dialog = document.getElementById('consult-dialog');
    this.agent = document.getElementById('consult-agent');
    this.view = null;
    bindSubmit(this.dialog, () => this.consult());
  }

  async open(view) {
    if (!view || view.q('[data-action="consult"]').hidden) return;
    this.view = view;
    const canList = this.directory.available();
    this.dialog.querySelector('.consult-no-agents').hidden = canList;
    this.dialog.querySelector('[value="confirm"]').disabled = !canList;
    this.dialog.showModal();
    if (canList) {
      try {
        fillPeople(this.agent, await this.directory.list());
      } catch (error) {
        showError(this.dialog.querySelector('.form-error'), error);
      }
    }
  }

  async consult() {
    const view = this.view;
    const agentId = this.agent.value;
    if (!agentId) throw userError(t('Choose a colleague.'));
    let consults;
    try {
      consults = await this.api.post(path`/api/v1/conversations/${view.id}/consults`, {
        agent_id: agentId,
      });
    } catch (error) {
      if (this.features.noteFailure('consult', error)) {
        throw userError(t('Consulting is not available on this server.'));
      }
      throw error;
    }
    view.syncConsultants(consults);
    announce(t('{name} was invited to consult.', { name: this.agent.selectedOptions[0].textContent }));
  }
}

/** A case from the conversation, prefilled by the server (docs/CASES.md); any field typed wins. */
export class CaseDialog {
  constructor({ api }) {
    this.api = api;
    this.dialog = document.getElementById('case-dialog');
    this.title = document.getElementById('case-title-input');
    this.priority = document.getElementById('case-priority');
    this.category = document.getElementById('case-category');
    this.view = null;
    this.requestId = null;
    bindSubmit(this.dialog, () => this.create());
  }

  open(view) {
    if (!view || view.q('[data-action="new-case"]').hidden) return;
    this.view = view;
    // One id per dialog: a double click or a retry after a lost answer makes one case.
    this.requestId = newClientMessageId();
    this.title.value = '';
    this.priority.value = 'normal';
    this.category.value = '';
    this.dialog.showModal();
  }

  async create() {
    const body = {
      priority: this.priority.value,
      category: this.category.value.trim(),
      client_request_id: this.requestId,
    };
    if (this.title.value.trim()) body.title = this.title.value.trim();
    const created = await this.api.post(path`/api/v1/conversations/${this.view.id}/cases`, body);
    this.view.cases.show(created);
    this.view.showSide('cases');
    announce(t('Case {number} created.', { number: created.number }));
  }
}

export class ResolveDialog {
  constructor({ api }) {
    this.api = api;
    this.dialog = document.getElementById('resolve-dialog');
    this.type = document.getElementById('resolve-type');
    this.text = document.getElementById('resolve-text');
    this.panel = null;
    this.case = null;
    bindSubmit(this.dialog, () => this.resolve());
  }

  open(panel, data) {
    this.panel = panel;
    this.case = data;
    this.type.value = 'solved';
    this.text.value = '';
    this.dialog.showModal();
  }

  async resolve() {
    const resolution = this.text.value.trim();
    if (!resolution) throw userError(t('Describe the resolution.'));
    const resolved = await this.api.post(path`/api/v1/cases/${this.case.id}/resolve`, {
      resolution, resolution_type: this.type.value, expected_version: this.case.version,
    });
    this.panel.show(resolved);
    announce(t('Case {number}: {status}.', {
      number: resolved.number, status: CASE_STATUS_LABELS[resolved.status] || resolved.status,
    }));
  }
}
