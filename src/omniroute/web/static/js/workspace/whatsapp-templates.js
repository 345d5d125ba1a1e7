// WhatsApp's 24-hour window in a conversation the agent holds. Outside it WhatsApp takes only
// approved templates, so while it is closed the reply box gives way to a template picker: choose
// a template, fill its {{1}}…{{n}} parameters with a live preview of what the customer will get,
// send (POST …/whatsapp/template). The server decides whether the window is open
// (GET …/whatsapp/templates); the picker is read again when the customer writes (the window opens)
// and when the window's closing time passes.

import { ApiError, newClientMessageId } from '../omniroute-client.js';
import { page } from './data.js';
import { announce, dateTimeOf, el, path, showError, userError } from './dom.js';
import { t } from './i18n.js';

const LIST = 'get /api/v1/conversations/{}/whatsapp/templates';
const SEND = 'post /api/v1/conversations/{}/whatsapp/template';
const PLACEHOLDER = /\{\{\s*(\d+)\s*\}\}/g;
/** Longest setTimeout browsers keep (about 24.8 days); a window closes within 24 hours anyway. */
const MAX_DELAY_MS = 2 ** 31 - 1;

const normal = (p) => p.replace(/\{[^}]*\}/g, '{}');
const endpoints = new Set((page.endpoints || []).map(normal));

/** What the customer will see: header, body with the parameters so far, footer, buttons. */
export function renderTemplate(template, parameters) {
  const body = template.body.replace(PLACEHOLDER, (whole, n) => {
    const value = (parameters[Number(n) - 1] || '').trim();
    return value || whole;
  });
  let text = [template.header, body, template.footer].filter(Boolean).join('\n\n');
  if (template.buttons && template.buttons.length) {
    text += `\n\n${template.buttons.map((title) => `[${title}]`).join(' ')}`;
  }
  return text;
}

export class WhatsAppTemplates {
  /** @param {import('./conversation.js').ConversationView} view */
  constructor(view) {
    this.view = view;
    this.info = null; // the last GET answer: {window, templates}
    this.loading = null;
    this.stale = false;
    this.timer = null;
    this.pendingKey = null; // a failed send's idempotency key, reused by its retry
    this.build();
  }

  available() {
    const data = this.view.data;
    return Boolean(data && data.channel === 'whatsapp' && endpoints.has(LIST) && endpoints.has(SEND));
  }

  build() {
    const id = this.view.id;
    this.select = el('select', { id: `wa-template-${id}`, dataset: { testid: 'wa-template-select' },
      on: { change: () => this.chose() } });
    this.params = el('div', { className: 'wa-params', dataset: { testid: 'wa-template-params' } });
    this.preview = el('p', { className: 'wa-preview', id: `wa-preview-${id}`,
      dataset: { testid: 'wa-template-preview' } });
    this.error = el('p', { className: 'form-error', attrs: { role: 'alert' }, hidden: true,
      dataset: { testid: 'wa-template-error' } });
    this.sendButton = el('button', { type: 'submit', className: 'button button-primary',
      dataset: { testid: 'wa-template-send' } }, t('Send template'));
    this.notice = el('p', { className: 'wa-window', id: `wa-window-${id}`,
      dataset: { testid: 'wa-window' } });
    this.empty = el('p', { className: 'muted', hidden: true, dataset: { testid: 'wa-template-empty' } },
      t('This WhatsApp account has no approved templates yet: an administrator adds or syncs them.'));
    this.form = el('form', { className: 'wa-template-form', dataset: { testid: 'wa-template-form' },
      on: { submit: (event) => { event.preventDefault(); this.send(); } } },
    el('div', { className: 'wa-field' },
      el('label', { htmlFor: this.select.id }, t('Template')), this.select),
    this.params,
    el('div', { className: 'wa-preview-block' },
      el('span', { className: 'wa-preview-label muted' }, t('Preview')), this.preview),
    this.error,
    this.sendButton);
    this.root = el('section', {
      className: 'wa-templates', hidden: true,
      dataset: { testid: 'wa-templates' },
      attrs: { 'aria-labelledby': this.notice.id },
    }, this.notice, this.empty, this.form);
    this.view.q('.composer').before(this.root);
  }

  // -- hooks from the conversation view ---------------------------------------------------------

  /** The conversation's state or data changed: show, hide or (the first time) load. */
  stateChanged() {
    if (!this.available() || !this.view.canReply()) {
      this.hide();
      return;
    }
    if (this.info) this.apply();
    else this.load();
  }

  /** A customer message (live or replayed): one newer than we know of reopens the window. */
  customerWrote(message) {
    if (!this.available() || !this.view.canReply()) return;
    const known = this.info && this.info.window.last_customer_message_at;
    if (known && Date.parse(message.created_at) <= Date.parse(known)) return;
    this.load();
  }

  dispose() {
    clearTimeout(this.timer);
  }

  // -- loading ----------------------------------------------------------------------------------

  async load() {
    if (this.loading) {
      this.stale = true; // read again once the answer in flight is in
      return;
    }
    this.stale = false;
    this.loading = this.view.desk.api.get(path`/api/v1/conversations/${this.view.id}/whatsapp/templates`);
    try {
      this.info = await this.loading;
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) showError(this.view.errorLine, error);
      return;
    } finally {
      this.loading = null;
    }
    if (this.stale) {
      this.load();
      return;
    }
    this.fill();
    this.apply();
  }

  /** The template list (kept across reloads when the same template is still there). */
  fill() {
    const chosen = this.select.dataset.chosen || '';
    const options = this.info.templates.map((template, index) => el('option',
      { value: String(index) }, `${template.name} (${template.language})`));
    this.select.replaceChildren(el('option', { value: '' }, t('Choose a template…')), ...options);
    const again = this.info.templates.findIndex((x) => `${x.name}|${x.language}` === chosen);
    this.select.value = again >= 0 ? String(again) : '';
    this.chose();
  }

  /** Open window: the reply box as usual. Closed: the notice and the picker instead. */
  apply() {
    clearTimeout(this.timer);
    if (!this.view.canReply()) {
      this.hide();
      return;
    }
    const { window: win, templates } = this.info;
    const composer = this.view.q('.composer');
    if (win.open) {
      this.root.hidden = true;
      composer.hidden = false;
      const left = Date.parse(win.closes_at) - (Date.now() + this.view.desk.skewMs());
      // Read again just after it closes: the server says when it is closed.
      this.timer = setTimeout(() => this.load(), Math.min(Math.max(left, 0) + 1000, MAX_DELAY_MS));
      return;
    }
    const wasHidden = this.root.hidden;
    this.notice.textContent = win.last_customer_message_at
      ? t('The WhatsApp 24-hour window closed at {time}: only an approved template can be sent until the customer writes again.', { time: dateTimeOf(win.closes_at) })
      : t('The customer has not written on WhatsApp yet: only an approved template can be sent.');
    this.empty.hidden = templates.length > 0;
    this.form.hidden = templates.length === 0;
    composer.hidden = true;
    this.view.quickReplies.close();
    this.root.hidden = false;
    if (wasHidden && this.view.desk.isActive(this.view.id)) announce(this.notice.textContent);
  }

  hide() {
    clearTimeout(this.timer);
    this.root.hidden = true;
  }

  // -- choosing and sending -----------------------------------------------------------------------

  current() {
    const index = this.select.value;
    return index === '' || !this.info ? null : this.info.templates[Number(index)] || null;
  }

  chose() {
    const template = this.current();
    const key = template ? `${template.name}|${template.language}` : '';
    // Keep what the agent typed when the same template stays chosen (a reload of the list).
    const typed = key === this.select.dataset.chosen
      ? [...this.params.querySelectorAll('input')].map((input) => input.value) : [];
    this.select.dataset.chosen = key;
    this.params.replaceChildren();
    this.pendingKey = null;
    showError(this.error, null);
    if (template) {
      for (let n = 1; n <= template.parameter_count; n += 1) {
        const input = el('input', {
          id: `wa-param-${this.view.id}-${n}`, className: 'wa-param', autocomplete: 'off',
          maxLength: 1024, value: typed[n - 1] || '',
          dataset: { testid: 'wa-template-param' },
          attrs: { 'aria-describedby': this.preview.id, 'aria-required': 'true' },
          on: { input: () => { this.edited(); } },
        });
        this.params.append(el('div', { className: 'wa-field' },
          el('label', { htmlFor: input.id }, t('Parameter {n}', { n })), input));
      }
    }
    this.sendButton.disabled = !template;
    this.showPreview();
  }

  /** Edited parameters: a new message (a fresh key), and the last refusal no longer applies. */
  edited() {
    this.pendingKey = null;
    showError(this.error, null);
    this.showPreview();
  }

  values() {
    return [...this.params.querySelectorAll('input')].map((input) => input.value.trim());
  }

  showPreview() {
    const template = this.current();
    this.preview.textContent = template ? renderTemplate(template, this.values()) : '';
    this.preview.hidden = !template;
  }

  async send() {
    const template = this.current();
    if (!template) return;
    const parameters = this.values();
    const missing = parameters.findIndex((value) => !value);
    if (missing >= 0) {
      showError(this.error, userError(t('Fill in parameter {n}.', { n: missing + 1 })));
      this.params.querySelectorAll('input')[missing].focus();
      return;
    }
    this.pendingKey ||= newClientMessageId();
    this.sendButton.disabled = true;
    try {
      const message = await this.view.desk.api.post(
        path`/api/v1/conversations/${this.view.id}/whatsapp/template`,
        { name: template.name, language: template.language, parameters,
          client_message_id: this.pendingKey },
      );
      this.pendingKey = null;
      this.view.addMessage(message);
      this.select.value = '';
      this.chose();
      showError(this.error, null);
      announce(t('Template sent.'));
    } catch (error) {
      showError(this.error, error);
    } finally {
      this.sendButton.disabled = !this.current();
    }
  }
}
