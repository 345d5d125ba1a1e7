// Customer 360: who the customer is (profile, channel identities, edit), notes about the customer
// (pinned first; authors edit their own, supervisors any), likely duplicates with their reasons and
// a Merge button, open cases, recent conversations on every channel with their transcripts, and a
// timeline of everything (conversations, calls, cases, notes). Shown beside a
// conversation (its Customer tab) and in a customer session opened by a screen pop.
//
// Everything is read when shown (customer records change from other desks and merges move
// conversations and cases), and again after the agent's own edit or merge.

import { CASE_STATUS_LABELS } from './cases.js';
import {
  announce, dateTimeOf, el, path, showError, userError as userErrorOf,
} from './dom.js';
import { t } from './i18n.js';
import { STATE_LABELS, channelLabel } from './labels.js';
import { messageElement } from './messages.js';

const REASONS = {
  'same email': t('same email'),
  'same phone': t('same phone'),
  'same full name': t('same full name'),
  'same email domain': t('same email domain'),
};
const RECENT = 10;
const TIMELINE = 30;
const NOTE_MAX = 4000;

/** The customer's channel address as people read it (web chat visitors have opaque ids). */
function addressText(identity) {
  return identity.channel === 'webchat' ? t('web chat visitor') : identity.address;
}

export class Customer360 {
  /**
   * @param {HTMLElement} root  where to render
   * @param {object} options
   * @param {import('../omniroute-client.js').ApiClient} options.api
   * @param {import('./features.js').Features} options.features
   * @param {number} [options.level]  heading level of the sections (the name gets the same)
   * @param {boolean} [options.showName]  false when the surrounding panel already titles the customer
   * @param {string} [options.currentConversation]  the conversation beside it, marked in the list
   * @param {(profile: object) => void} [options.onProfile]  called with each profile read
   */
  constructor(root, {
    api, features, level = 4, showName = true, currentConversation = null, onProfile = () => {},
  }) {
    this.root = root;
    this.api = api;
    this.features = features;
    this.level = level;
    this.showName = showName;
    this.currentConversation = currentConversation;
    this.onProfile = onProfile;
    this.customerId = null;
    this.profile = null;
    this.loading = null;
    this.build();
  }

  heading(text) {
    return el(`h${this.level}`, { className: 'c360-heading' }, text);
  }

  build() {
    const field = (name, label, type = 'text', max = 200) => el(
      'label', { className: 'c360-field' }, label,
      el('input', { name, type, maxLength: max, autocomplete: 'off', dataset: { testid: `c360-input-${name}` } }),
    );
    this.els = {
      name: el('p', { className: 'c360-name', dataset: { testid: 'c360-name' } }),
      merged: el('p', { className: 'muted c360-merged', hidden: true }),
      contacts: el('dl', { className: 'c360-contacts', dataset: { testid: 'c360-contacts' } }),
      identities: el('ul', { className: 'c360-identities', dataset: { testid: 'c360-identities' } }),
      edit: el('button', {
        type: 'button', className: 'button button-small', textContent: t('Edit profile'),
        dataset: { testid: 'c360-edit' }, on: { click: () => this.openEdit() },
      }),
      form: el('form', { className: 'c360-form', hidden: true, dataset: { testid: 'c360-form' } },
        field('display_name', t('Name')),
        field('email', t('Email'), 'email', 254),
        field('phone', t('Phone'), 'tel', 40),
        el('p', { className: 'form-error', hidden: true, attrs: { role: 'alert' } }),
        el('div', { className: 'c360-form-actions' },
          el('button', {
            type: 'button', className: 'button button-small', textContent: t('Cancel'),
            on: { click: () => this.closeEdit() },
          }),
          el('button', {
            type: 'submit', className: 'button button-small button-primary', textContent: t('Save'),
            dataset: { testid: 'c360-save' },
          }))),
      duplicates: el('section', { className: 'c360-duplicates', hidden: true, dataset: { testid: 'c360-duplicates' } }),
      duplicateList: el('ul', { className: 'c360-list' }),
      cases: el('ul', { className: 'c360-list', dataset: { testid: 'c360-cases' } }),
      casesEmpty: el('p', { className: 'muted c360-empty', textContent: t('No open cases.') }),
      conversations: el('ol', { className: 'c360-list', dataset: { testid: 'c360-conversations' } }),
      conversationsEmpty: el('p', { className: 'muted c360-empty', textContent: t('No conversations yet.') }),
      timeline: el('ol', { className: 'c360-timeline', dataset: { testid: 'c360-timeline' } }),
      notes: el('ul', { className: 'c360-list c360-notes', dataset: { testid: 'c360-notes' } }),
      notesEmpty: el('p', { className: 'muted c360-empty', textContent: t('No notes yet.') }),
      noteForm: this.noteForm(),
      error: el('p', { className: 'form-error c360-error', hidden: true, attrs: { role: 'alert' } }),
    };
    const e = this.els;
    e.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.save();
    });
    e.duplicates.append(
      this.heading(t('Possible duplicates')),
      el('p', { className: 'muted c360-hint', textContent: t('Merging moves their channel identities, conversations and cases to this customer.') }),
      e.duplicateList,
    );
    const profile = el('section', { className: 'c360-profile', dataset: { testid: 'c360-profile' } },
      this.showName ? el(`h${this.level}`, { className: 'c360-title' }, e.name) : null,
      e.merged, e.contacts,
      el('p', { className: 'c360-subhead', textContent: t('Channel identities') }),
      e.identities, e.edit, e.form);
    this.root.replaceChildren(
      el('div', { className: 'c360', dataset: { testid: 'customer-360' } },
        profile,
        el('section', { className: 'c360-notes-section', dataset: { testid: 'c360-notes-section' } },
          this.heading(t('Notes about the customer')), e.notesEmpty, e.notes, e.noteForm),
        e.duplicates,
        el('section', { className: 'c360-cases' }, this.heading(t('Open cases')), e.casesEmpty, e.cases),
        el('section', { className: 'c360-history' },
          this.heading(t('Recent conversations')), e.conversationsEmpty, e.conversations),
        el('section', { className: 'c360-events' }, this.heading(t('Timeline')), e.timeline),
        e.error),
    );
  }

  /** Show `customerId` (a merged record's id shows the survivor). Reads everything afresh. */
  async show(customerId) {
    this.customerId = customerId;
    this.loading = this.load();
    return this.loading;
  }

  async reload() {
    this.stale = false;
    if (this.customerId) await this.show(this.profile ? this.profile.id : this.customerId);
  }

  /**
   * Someone changed this customer elsewhere: read it again, unless the agent is editing a note
   * here (re-drawing the notes would drop what they typed) — then once they are done.
   */
  async liveRefresh() {
    if (!this.customerId) return;
    if (this.editingNote()) {
      this.stale = true;
      return;
    }
    await this.reload();
  }

  editingNote() {
    return Boolean(this.els.notes.querySelector(
      '[data-testid="c360-note-edit-form"]:not([hidden]), [data-testid="c360-note-confirm"]:not([hidden])'));
  }

  /** A note edit ended without saving: catch up with changes that arrived meanwhile. */
  afterEdit() {
    if (this.stale) this.reload();
  }

  async load() {
    const { api } = this;
    let profile;
    try {
      profile = await api.get(path`/api/v1/customers/${this.customerId}`);
    } catch (error) {
      if (!this.features.noteFailure('customer', error)) showError(this.els.error, error);
      return;
    }
    this.profile = profile;
    this.renderProfile(profile);
    this.onProfile(profile);
    const id = profile.id;
    const results = await Promise.allSettled([
      this.optional('duplicates', path`/api/v1/customers/${id}/duplicates`, (rows) => this.renderDuplicates(rows)),
      this.optional('customerNotes', path`/api/v1/customers/${id}/notes`, (rows) => this.renderNotes(rows)),
      this.optional('customerCases', `${path`/api/v1/customers/${id}/cases`}?open_only=true`,
        (rows) => this.renderCases(rows)),
      this.optional('customerConversations', `${path`/api/v1/customers/${id}/conversations`}?limit=${RECENT}`,
        (rows) => this.renderConversations(rows)),
      this.optional('timeline', `${path`/api/v1/customers/${id}/timeline`}?limit=${TIMELINE}`,
        (rows) => this.renderTimeline(rows)),
    ]);
    const failed = results.find((r) => r.status === 'rejected');
    showError(this.els.error, failed ? failed.reason : null);
  }

  /** Read one part when this server has it; a part it lacks stays hidden. */
  async optional(feature, url, render) {
    if (!this.features.has(feature)) {
      render(null);
      return;
    }
    try {
      render(await this.api.get(url));
    } catch (error) {
      if (this.features.noteFailure(feature, error)) render(null);
      else throw error;
    }
  }

  // -- profile -----------------------------------------------------------------------------------

  renderProfile(p) {
    const e = this.els;
    e.name.textContent = p.display_name;
    e.merged.hidden = !p.merged_from;
    e.merged.textContent = p.merged_from ? t('This record was merged into {name}.', { name: p.display_name }) : '';
    const row = (label, value, verified, testid) => [
      el('dt', {}, label),
      el('dd', { dataset: { testid } },
        value || el('span', { className: 'muted', textContent: t('not known') }),
        value && verified ? el('span', { className: 'badge c360-verified', textContent: t('verified') }) : null),
    ];
    e.contacts.replaceChildren(
      ...row(t('Email'), p.email, p.email_verified, 'c360-email'),
      ...row(t('Phone'), p.phone, p.phone_verified, 'c360-phone'),
      ...row(t('Customer since'), dateTimeOf(p.created_at), false, 'c360-since'),
    );
    const identities = p.identities || [];
    if (!identities.length) e.identities.replaceChildren(el('li', { className: 'muted' }, t('None yet.')));
    else e.identities.replaceChildren(...identities.map((identity) => el(
      'li', { dataset: { testid: 'c360-identity', channel: identity.channel } },
      el('span', { className: 'badge' }, channelLabel(identity.channel)), ' ', addressText(identity),
    )));
    e.edit.hidden = !this.features.has('customerEdit');
  }

  openEdit() {
    const { form } = this.els;
    form.elements.display_name.value = this.profile.display_name;
    form.elements.email.value = this.profile.email || '';
    form.elements.phone.value = this.profile.phone || '';
    form.hidden = false;
    this.els.edit.hidden = true;
    form.elements.display_name.focus();
  }

  closeEdit() {
    this.els.form.hidden = true;
    this.els.edit.hidden = !this.features.has('customerEdit');
    showError(this.els.form.querySelector('.form-error'), null);
    this.els.edit.focus();
  }

  async save() {
    const { form } = this.els;
    const body = {};
    for (const name of ['display_name', 'email', 'phone']) {
      const value = form.elements[name].value.trim();
      if (value && value !== (this.profile[name] || '')) body[name] = value;
    }
    const submit = form.querySelector('[type="submit"]');
    submit.disabled = true;
    try {
      if (Object.keys(body).length) {
        await this.api.request('PATCH', path`/api/v1/customers/${this.profile.id}`, body);
        announce(t('Customer profile saved.'));
      }
      this.closeEdit();
      await this.reload();
    } catch (error) {
      showError(form.querySelector('.form-error'), error);
    } finally {
      submit.disabled = false;
    }
  }

  // -- notes about the customer ------------------------------------------------------------------

  /** The form that adds a note: plain text (shown escaped), optionally pinned. */
  noteForm() {
    const text = el('textarea', {
      name: 'text', rows: 3, maxLength: NOTE_MAX,
      className: 'c360-note-input', dataset: { testid: 'c360-note-input' },
      attrs: { 'aria-label': t('New note about the customer') },
    });
    const pinned = el('input', { type: 'checkbox', name: 'pinned', dataset: { testid: 'c360-note-pin-new' } });
    const error = el('p', { className: 'form-error', hidden: true, attrs: { role: 'alert' }, dataset: { testid: 'c360-note-error' } });
    const form = el('form', { className: 'c360-form c360-note-form', dataset: { testid: 'c360-note-form' } },
      text,
      el('label', { className: 'c360-check' }, pinned, ` ${t('Pin to the top')}`),
      error,
      el('div', { className: 'c360-form-actions' },
        el('button', {
          type: 'submit', className: 'button button-small button-primary', textContent: t('Add note'),
          dataset: { testid: 'c360-note-add' },
        })));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const submit = form.querySelector('[type="submit"]');
      if (!text.value.trim()) {
        showError(error, userErrorOf(t('Write the note first.')));
        text.focus();
        return;
      }
      submit.disabled = true;
      try {
        await this.api.post(path`/api/v1/customers/${this.profile.id}/notes`, {
          text: text.value, pinned: pinned.checked,
        });
        form.reset();
        showError(error, null);
        announce(t('Note added.'));
        await this.refreshNotes();
      } catch (failure) {
        showError(error, failure);
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  /** After the agent's own change to a note: draw the notes again (the edit is over). */
  async refreshNotes() {
    if (this.stale) {
      this.stale = false;
      await this.show(this.profile.id);
    }
    const id = this.profile.id;
    await Promise.all([
      this.optional('customerNotes', path`/api/v1/customers/${id}/notes`, (rows) => this.renderNotes(rows, { force: true })),
      this.optional('timeline', `${path`/api/v1/customers/${id}/timeline`}?limit=${TIMELINE}`,
        (rows) => this.renderTimeline(rows)),
    ]);
  }

  renderNotes(rows, { force = false } = {}) {
    const e = this.els;
    if (!force && this.editingNote()) {
      this.stale = true; // drawn again once the agent has finished with the note
      return;
    }
    e.notes.closest('section').hidden = rows === null;
    e.notes.replaceChildren(...(rows || []).map((note) => this.noteItem(note)));
    e.notesEmpty.hidden = !rows || rows.length > 0;
    e.noteForm.hidden = !this.features.has('addCustomerNote');
  }

  noteItem(note) {
    const body = el('p', { className: 'c360-note-text', dataset: { testid: 'c360-note-text' } }, note.text);
    const meta = el('p', { className: 'muted c360-note-meta' },
      note.pinned ? el('span', { className: 'badge c360-pinned', dataset: { testid: 'c360-note-pinned' } }, t('Pinned')) : null,
      note.pinned ? ' ' : null,
      t('{author}, {time}', { author: note.author_name, time: dateTimeOf(note.created_at) }),
      note.edited ? ` · ${t('edited')}` : null);
    const item = el('li', { className: 'c360-note', dataset: { testid: 'c360-note', noteId: note.id } }, body, meta);
    if (!note.can_edit) return item;
    const error = el('p', { className: 'form-error', hidden: true, attrs: { role: 'alert' } });
    const actions = el('div', { className: 'c360-note-actions' });
    const button = (label, testid, onClick, aria) => el('button', {
      type: 'button', className: 'button button-small', textContent: label,
      dataset: { testid }, attrs: aria ? { 'aria-label': aria } : undefined, on: { click: onClick },
    });
    const run = async (work, done) => {
      try {
        await work();
        announce(done);
        await this.refreshNotes();
      } catch (failure) {
        showError(error, failure);
      }
    };
    const url = path`/api/v1/customers/${this.profile.id}/notes/${note.id}`;
    if (this.features.has('editCustomerNote')) {
      const editor = el('textarea', {
        rows: 3, maxLength: NOTE_MAX, className: 'c360-note-input', dataset: { testid: 'c360-note-edit-input' },
        attrs: { 'aria-label': t('Note text') },
      });
      const form = el('form', { className: 'c360-form', hidden: true, dataset: { testid: 'c360-note-edit-form' } },
        editor,
        el('div', { className: 'c360-form-actions' },
          button(t('Cancel'), 'c360-note-edit-cancel', () => {
            form.hidden = true;
            actions.hidden = false;
            body.hidden = false;
            this.afterEdit();
          }),
          el('button', {
            type: 'submit', className: 'button button-small button-primary', textContent: t('Save'),
            dataset: { testid: 'c360-note-save' },
          })));
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        if (!editor.value.trim()) {
          showError(error, userErrorOf(t('Write the note first.')));
          return;
        }
        run(() => this.api.request('PATCH', url, { text: editor.value, expected_version: note.version }),
          t('Note saved.'));
      });
      actions.append(
        button(t('Edit'), 'c360-note-edit', () => {
          editor.value = note.text;
          form.hidden = false;
          actions.hidden = true;
          body.hidden = true;
          editor.focus();
        }, t('Edit the note by {author}', { author: note.author_name })),
        button(note.pinned ? t('Unpin') : t('Pin'), 'c360-note-pin',
          () => run(() => this.api.request('PATCH', url, { pinned: !note.pinned }),
            note.pinned ? t('Note unpinned.') : t('Note pinned.'))),
      );
      item.append(form);
    }
    if (this.features.has('deleteCustomerNote')) {
      const confirm = el('div', { className: 'c360-confirm', hidden: true, dataset: { testid: 'c360-note-confirm' } },
        el('p', {}, t('Delete this note?')),
        el('button', {
          type: 'button', className: 'button button-small button-primary', textContent: t('Delete'),
          dataset: { testid: 'c360-note-delete-confirm' },
          on: { click: () => run(() => this.api.request('DELETE', url), t('Note deleted.')) },
        }),
        button(t('Cancel'), 'c360-note-delete-cancel', () => {
          confirm.hidden = true;
          actions.hidden = false;
          this.afterEdit();
        }));
      actions.append(button(t('Delete…'), 'c360-note-delete', () => {
        confirm.hidden = false;
        actions.hidden = true;
        confirm.querySelector('button').focus();
      }, t('Delete the note by {author}', { author: note.author_name })));
      item.append(confirm);
    }
    item.append(actions, error);
    return item;
  }

  // -- duplicates --------------------------------------------------------------------------------

  renderDuplicates(rows) {
    const e = this.els;
    e.duplicates.hidden = !rows || rows.length === 0;
    e.duplicateList.replaceChildren(...(rows || []).map((row) => this.duplicateItem(row)));
  }

  duplicateItem({ customer, score, reasons }) {
    const reasonText = reasons.map((r) => REASONS[r] || r).join(', ');
    const confirm = el('div', { className: 'c360-confirm', hidden: true },
      el('p', {}, t('Merge {name} into this customer?', { name: customer.display_name })),
      el('button', {
        type: 'button', className: 'button button-small button-primary', textContent: t('Merge'),
        dataset: { testid: 'c360-merge-confirm' }, on: { click: () => this.merge(customer, item) },
      }),
      el('button', {
        type: 'button', className: 'button button-small', textContent: t('Cancel'),
        on: { click: () => { confirm.hidden = true; ask.hidden = false; ask.focus(); } },
      }));
    const ask = el('button', {
      type: 'button', className: 'button button-small', textContent: t('Merge…'),
      dataset: { testid: 'c360-merge' },
      attrs: { 'aria-label': t('Merge {name} into this customer', { name: customer.display_name }) },
      on: {
        click: () => {
          confirm.hidden = false;
          ask.hidden = true;
          confirm.querySelector('button').focus();
        },
      },
    });
    ask.hidden = !this.features.has('merge');
    const item = el('li', { className: 'c360-duplicate', dataset: { testid: 'c360-duplicate', customerId: customer.id } },
      el('p', { className: 'c360-duplicate-name' }, el('strong', {}, customer.display_name)),
      el('p', { className: 'muted' }, [customer.email, customer.phone].filter(Boolean).join(' · ')),
      el('p', { className: 'c360-reasons', dataset: { testid: 'c360-reasons' } },
        t('Likely the same ({percent}%): {reasons}', { percent: Math.round(score * 100), reasons: reasonText })),
      ask, confirm);
    return item;
  }

  async merge(other, item) {
    const button = item.querySelector('[data-testid="c360-merge-confirm"]');
    button.disabled = true;
    try {
      await this.api.post(path`/api/v1/customers/${this.profile.id}/merge`, { other_id: other.id });
      announce(t('{name} was merged into this customer.', { name: other.display_name }));
      await this.reload();
    } catch (error) {
      button.disabled = false;
      showError(this.els.error, error);
    }
  }

  // -- cases, conversations, timeline ------------------------------------------------------------

  renderCases(rows) {
    const e = this.els;
    e.cases.closest('section').hidden = rows === null;
    e.cases.replaceChildren(...(rows || []).map((c) => el(
      'li', { className: 'c360-case', dataset: { testid: 'c360-case', caseId: c.id } },
      el('span', { className: 'case-number' }, c.number), ' ',
      el('span', { className: 'badge case-status', dataset: { status: c.status } },
        CASE_STATUS_LABELS[c.status] || c.status), ' ',
      el('span', { className: 'c360-case-title' }, c.title),
    )));
    e.casesEmpty.hidden = !rows || rows.length > 0;
  }

  renderConversations(rows) {
    const e = this.els;
    e.conversations.closest('section').hidden = rows === null;
    e.conversations.replaceChildren(...(rows || []).map((conv) => this.conversationItem(conv)));
    e.conversationsEmpty.hidden = !rows || rows.length > 0;
  }

  conversationItem(conv) {
    const transcript = el('ol', { className: 'c360-transcript', hidden: true, dataset: { testid: 'c360-transcript' } });
    const current = conv.id === this.currentConversation;
    const toggle = el('button', {
      type: 'button', className: 'link-like c360-toggle', dataset: { testid: 'c360-show-transcript' },
      textContent: t('Show transcript'), attrs: { 'aria-expanded': 'false' },
    });
    toggle.hidden = !this.features.has('customerTranscript');
    toggle.addEventListener('click', () => this.toggleTranscript(conv, toggle, transcript));
    return el('li', { className: 'c360-conv', dataset: { testid: 'c360-conversation', conversationId: conv.id } },
      el('p', { className: 'c360-conv-head' },
        el('span', { className: 'badge' }, channelLabel(conv.channel)), ' ',
        el('time', { dateTime: conv.created_at }, dateTimeOf(conv.created_at)), ' · ',
        STATE_LABELS[conv.state] || conv.state,
        current ? el('span', { className: 'muted' }, ` · ${t('this conversation')}`) : null),
      conv.subject ? el('p', { className: 'c360-conv-subject' }, conv.subject) : null,
      toggle, transcript);
  }

  async toggleTranscript(conv, toggle, list) {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
    toggle.textContent = open ? t('Hide transcript') : t('Show transcript');
    list.hidden = !open;
    if (!open || list.dataset.loaded) return;
    try {
      const messages = await this.api.get(
        path`/api/v1/customers/${this.profile.id}/conversations/${conv.id}/messages`,
      );
      list.replaceChildren(...messages.map((m) => messageElement(m)));
      if (!messages.length) list.append(el('li', { className: 'muted' }, t('No messages.')));
      list.dataset.loaded = 'true';
    } catch (error) {
      showError(this.els.error, error);
    }
  }

  renderTimeline(rows) {
    const e = this.els;
    e.timeline.closest('section').hidden = rows === null;
    if (rows && !rows.length) {
      e.timeline.replaceChildren(el('li', { className: 'muted' }, t('Nothing yet.')));
      return;
    }
    e.timeline.replaceChildren(...(rows || []).map((entry) => {
      const isCase = entry.kind === 'case' || entry.kind === 'case_change';
      const isNote = entry.kind === 'note';
      let kind = channelLabel(entry.channel);
      if (entry.kind === 'case') kind = t('Case');
      if (entry.kind === 'case_change') kind = t('Case change');
      if (entry.kind === 'call') kind = t('Call');
      if (isNote) kind = t('Note');
      const state = isCase ? CASE_STATUS_LABELS[entry.state] : STATE_LABELS[entry.state];
      return el('li', { className: 'c360-event', dataset: { testid: 'c360-event', kind: entry.kind } },
        el('time', { dateTime: entry.at, className: 'muted' }, dateTimeOf(entry.at)),
        el('span', { className: 'badge c360-kind', dataset: { kind: entry.kind, channel: entry.channel || '' } }, kind),
        el('span', { className: 'c360-event-title' }, entry.title),
        entry.state ? el('span', { className: 'muted' }, state || entry.state) : null);
    }));
  }
}
