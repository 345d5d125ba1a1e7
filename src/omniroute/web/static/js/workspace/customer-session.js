// A customer session: a tab in the session list that holds a customer record rather than a
// conversation, opened by a voice provider's screen pop (or any integrator through cif-host.js).
// It shows the caller's Customer 360, a choice when a number matches several customers, or a
// quick-create form for a caller nobody knows (POST /api/v1/customers). Customer sessions are not
// conversations: they use no capacity and do not count towards the ten sessions.

import { announce, el, fromTemplate, showError } from './dom.js';
import { Customer360 } from './customer360.js';
import { t } from './i18n.js';

let made = 0;

export class CustomerSession {
  /**
   * @param {object} desk  the workspace's shared parts (api, features, select, removed)
   * @param {{customerId?: string}} options
   */
  constructor(desk, { customerId = null } = {}) {
    made += 1;
    this.kind = 'customer';
    this.id = `customer-session-${made}`;
    this.desk = desk;
    this.customerId = customerId;
    this.c360 = null;
    this.buildTab();
    this.buildPanel();
  }

  buildTab() {
    this.tabItem = fromTemplate('record-tab-template');
    this.tab = this.tabItem.querySelector('[role="tab"]');
    this.tab.id = `tab-${this.id}`;
    this.tab.dataset.sessionId = this.id;
    this.tab.setAttribute('aria-controls', `panel-${this.id}`);
    this.tab.tabIndex = -1;
    this.tab.addEventListener('click', () => this.desk.select(this.id));
    document.getElementById('session-list').append(this.tabItem);
  }

  buildPanel() {
    const panel = fromTemplate('record-template');
    this.panel = panel;
    panel.id = `panel-${this.id}`;
    panel.setAttribute('aria-labelledby', `tab-${this.id}`);
    this.q = (selector) => panel.querySelector(selector);
    this.body = this.q('.record-body');
    this.q('[data-action="close-record"]').addEventListener('click', () => this.remove());
    document.getElementById('conversation-area').append(panel);
  }

  setTitle(title, sub = '') {
    this.q('.record-title').textContent = title;
    this.q('.record-sub').textContent = sub;
    this.tab.querySelector('.tab-name').textContent = title;
  }

  /** The customer's 360 (a merged id shows the survivor). */
  async showCustomer(customerId) {
    this.customerId = customerId;
    this.setTitle(t('Customer'), t('Customer record'));
    const mount = el('div', { className: 'record-360' });
    this.body.replaceChildren(mount);
    this.c360 = new Customer360(mount, {
      api: this.desk.api,
      features: this.desk.features,
      level: 3,
      showName: false,
      onProfile: (profile) => {
        this.customerId = profile.id;
        this.setTitle(profile.display_name, [profile.phone, profile.email].filter(Boolean).join(' · '));
        this.desk.changed(this);
      },
    });
    await this.c360.show(customerId);
  }

  /** Several customers match: the agent picks. `choices`: [{label, detail, customerId}]. */
  showChoice(choices) {
    this.c360 = null;
    this.setTitle(t('Matching customers'), t('{count} matches', { count: choices.length }));
    const list = el('ul', { className: 'record-choices', dataset: { testid: 'record-choices' } },
      ...choices.map((choice) => el('li', {},
        el('button', {
          type: 'button', className: 'link-like', textContent: choice.label,
          dataset: { testid: 'record-choice' },
          on: { click: () => this.showCustomer(choice.customerId) },
        }),
        choice.detail ? el('span', { className: 'muted' }, ` ${choice.detail}`) : null)));
    this.body.replaceChildren(
      el('p', {}, t('Choose the customer this is about.')), list,
    );
  }

  /** A caller nobody knows: a new customer, pre-filled with what the provider sent. */
  showCreate(prefill = {}) {
    this.c360 = null;
    this.setTitle(t('New customer'), prefill.phone || '');
    const input = (name, label, type, value, required = false) => {
      const id = `${this.id}-${name}`;
      return el('div', { className: 'field' },
        el('label', { htmlFor: id }, label),
        el('input', {
          id, name, type, value: value || '', required, autocomplete: 'off',
          maxLength: name === 'email' ? 254 : name === 'phone' ? 40 : 200,
          dataset: { testid: `record-create-${name}` },
        }));
    };
    const name = prefill.display_name && prefill.display_name !== prefill.phone ? prefill.display_name : '';
    const error = el('p', { className: 'form-error', hidden: true, attrs: { role: 'alert' } });
    const form = el('form', { className: 'record-create', dataset: { testid: 'record-create' } },
      el('p', { className: 'muted' }, t('Nobody has this number yet. Create the customer to keep the call on their record.')),
      input('display_name', t('Name'), 'text', name, true),
      input('phone', t('Phone'), 'tel', prefill.phone),
      input('email', t('Email'), 'email', prefill.email),
      error,
      el('div', { className: 'dialog-actions' },
        el('button', {
          type: 'submit', className: 'button button-primary', textContent: t('Create customer'),
          dataset: { testid: 'record-create-submit' },
        })));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = {};
      for (const field of ['display_name', 'phone', 'email']) {
        const value = form.elements[field].value.trim();
        if (value) body[field] = value;
      }
      const submit = form.querySelector('[type="submit"]');
      submit.disabled = true;
      try {
        const created = await this.desk.api.post('/api/v1/customers', body);
        announce(t('Customer {name} created.', { name: created.display_name }));
        await this.showCustomer(created.id);
      } catch (error_) {
        submit.disabled = false;
        showError(error, error_);
      }
    });
    this.body.replaceChildren(form);
    if (this.desk.isActive(this.id)) form.elements.display_name.focus();
  }

  select(selected) {
    this.tab.setAttribute('aria-selected', String(selected));
    this.tab.tabIndex = selected ? 0 : -1;
    this.panel.hidden = !selected;
    if (selected && this.c360 && this.c360.profile) this.c360.reload();
  }

  remove() {
    this.tabItem.remove();
    this.panel.remove();
    this.desk.removed(this);
  }
}
