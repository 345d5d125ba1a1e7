// "Save as quick reply": the composer's text (with its {slugs}, filled in again each time it is
// used) becomes a quick reply of the agent's own (POST /api/v1/quick-replies without `shared`),
// found with /q beside the shared ones. The same dialog lists the agent's own replies
// (GET /api/v1/me/quick-replies) to delete them; shared ones are managed on /admin/desk.

import { announce, el, path, showError, userError } from './dom.js';
import { t } from './i18n.js';

const LANGUAGES = new Set(['en', 'es']);

export class SaveReplyDialog {
  constructor({ api, features }) {
    this.api = api;
    this.features = features;
    this.dialog = document.getElementById('save-reply-dialog');
    this.form = this.dialog.querySelector('form');
    this.text = document.getElementById('save-reply-text');
    this.title = document.getElementById('save-reply-title-input');
    this.language = document.getElementById('save-reply-language');
    this.error = this.dialog.querySelector('.form-error');
    this.submit = this.dialog.querySelector('[value="confirm"]');
    this.own = this.dialog.querySelector('.own-replies');
    this.list = this.dialog.querySelector('.own-replies-list');
    this.empty = this.dialog.querySelector('.own-replies-empty');
    this.view = null;
    this.form.addEventListener('submit', async (event) => {
      if (!event.submitter || event.submitter.value !== 'confirm') return;
      event.preventDefault();
      this.submit.disabled = true;
      try {
        await this.save();
        this.dialog.close('done');
      } catch (error) {
        showError(this.error, error);
      } finally {
        this.submit.disabled = false;
      }
    });
    this.dialog.addEventListener('close', () => showError(this.error, null));
    // Enter in the title saves (the form's first button, which Enter would press, is Cancel).
    this.title.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.isComposing) {
        event.preventDefault();
        this.form.requestSubmit(this.submit);
      }
    });
  }

  /** The reply box's text, or '' when there is nothing worth keeping (empty, or a /command). */
  draft() {
    const text = this.view ? this.view.input.value.trim() : '';
    return text.startsWith('/') ? '' : text;
  }

  open(view) {
    if (!view || !this.features.has('saveQuickReply')) return;
    this.view = view;
    const text = this.draft();
    this.text.value = text;
    this.title.value = '';
    const language = view.data && view.data.prechat && view.data.prechat.language;
    this.language.value = LANGUAGES.has(language) ? language : '';
    this.own.hidden = !this.features.has('ownQuickReplies');
    this.dialog.showModal();
    this.title.focus();
    if (!this.own.hidden) this.loadOwn();
  }

  async save() {
    const text = this.draft();
    if (!text) throw userError(t('Write the reply in the reply box first, then save it.'));
    const reply = await this.api.post('/api/v1/quick-replies', {
      title: this.title.value,
      text,
      language: this.language.value || null,
    });
    announce(t('Saved as your quick reply “{title}”. Find it with /q.', { title: reply.title }));
  }

  async loadOwn() {
    try {
      this.showOwn(await this.api.get('/api/v1/me/quick-replies'));
    } catch (error) {
      if (this.features.noteFailure('ownQuickReplies', error)) this.own.hidden = true;
      else showError(this.error, error);
    }
  }

  showOwn(replies) {
    this.empty.hidden = replies.length > 0;
    this.list.replaceChildren(...replies.map((reply) => {
      const item = el('li', { className: 'own-reply', dataset: { testid: 'own-reply', replyId: reply.id } },
        el('span', { className: 'own-reply-title' }, reply.title));
      if (this.features.has('deleteQuickReply')) {
        item.append(el('button', {
          type: 'button',
          className: 'link-button own-reply-delete',
          dataset: { testid: 'own-reply-delete' },
          attrs: { 'aria-label': t('Delete {title}', { title: reply.title }) },
          on: { click: () => this.remove(reply, item) },
        }, t('Delete')));
      }
      return item;
    }));
  }

  async remove(reply, item) {
    try {
      await this.api.request('DELETE', path`/api/v1/quick-replies/${reply.id}`);
    } catch (error) {
      if (!this.features.noteFailure('deleteQuickReply', error)) showError(this.error, error);
      return;
    }
    // Keep the focus in the dialog: on the next row's button, or the title field.
    const next = item.nextElementSibling || item.previousElementSibling;
    item.remove();
    this.empty.hidden = this.list.children.length > 0;
    (next?.querySelector('button') || this.title).focus();
    announce(t('Quick reply deleted: {title}', { title: reply.title }));
  }
}
