// The disposition code at wrap-up: the codes of the conversation's queue (GET …/disposition),
// chosen and saved at once (PUT …/disposition), and checked before Close when the queue requires
// one. The server refuses a close without a required code (409) whatever the page does.

import { ApiError } from '../omniroute-client.js';
import { announce, el, path, showError, userError } from './dom.js';
import { t } from './i18n.js';

export class DispositionForm {
  /** @param {import('./conversation.js').ConversationView} view */
  constructor(view) {
    this.view = view;
    this.root = view.q('.disposition');
    this.select = view.q('.disposition-code');
    this.notes = view.q('.disposition-notes');
    this.error = view.q('.disposition-error');
    this.select.id = `disposition-code-${view.id}`;
    this.notes.id = `disposition-notes-${view.id}`;
    view.q('.disposition-code-label').htmlFor = this.select.id;
    view.q('.disposition-notes-label').htmlFor = this.notes.id;
    this.state = null; // ConversationDispositionOut
    this.saving = Promise.resolve();
    this.select.addEventListener('change', () => this.save());
    this.notes.addEventListener('change', () => {
      if (this.select.value) this.save();
    });
  }

  get required() {
    return Boolean(this.state && this.state.required);
  }

  /** Read the queue's codes when the conversation reaches wrap-up (the holder only). */
  async load() {
    const { view } = this;
    const { features, api } = view.desk;
    if (view.role !== 'holder' || view.state !== 'wrap_up' || !features.has('disposition')) {
      this.root.hidden = true;
      return;
    }
    try {
      this.render(await api.get(path`/api/v1/conversations/${view.id}/disposition`));
      showError(this.error, null);
    } catch (error) {
      if (!features.noteFailure('disposition', error)) showError(this.error, error);
    }
  }

  render(state) {
    this.state = state;
    const chosen = state.chosen ? state.chosen.code : '';
    const placeholder = el('option', { value: '' }, state.required ? t('Choose a code') : t('No code'));
    const options = state.codes.map((c) => el('option', { value: c.code }, c.label));
    // A code removed from the queue since it was chosen still shows what was chosen.
    if (chosen && !state.codes.some((c) => c.code === chosen)) {
      options.push(el('option', { value: chosen }, state.chosen.label));
    }
    this.select.replaceChildren(placeholder, ...options);
    this.select.value = chosen;
    this.select.required = state.required;
    if (document.activeElement !== this.notes) this.notes.value = state.chosen ? state.chosen.notes : '';
    this.view.q('.disposition-required').hidden = !state.required;
    this.root.hidden = state.codes.length === 0 && !state.chosen;
    this.select.disabled = !this.view.desk.features.has('chooseDisposition');
  }

  save() {
    this.saving = this.saving.then(() => this.put());
    return this.saving;
  }

  async put() {
    const code = this.select.value;
    const notes = this.notes.value.trim();
    const chosen = this.state && this.state.chosen;
    if (!code || (chosen && chosen.code === code && chosen.notes === notes)) return;
    try {
      const saved = await this.view.desk.api.request(
        'PUT', path`/api/v1/conversations/${this.view.id}/disposition`, { code, notes },
      );
      this.state = { ...this.state, chosen: saved };
      announce(t('Disposition saved: {label}', { label: saved.label }));
      showError(this.error, null);
      showError(this.view.errorLine, null); // a "choose a code first" from Close is answered
    } catch (error) {
      showError(this.error, error);
      if (error instanceof ApiError && error.status === 409) this.load();
    }
  }

  /** Before Close: the latest choice is saved, and a required code is there. */
  async beforeClose() {
    if (this.root.hidden || !this.state) return;
    await this.save();
    if (this.required && !(this.state.chosen && this.select.value === this.state.chosen.code)) {
      this.select.focus();
      throw userError(t('Choose a disposition code before closing.'));
    }
  }
}
