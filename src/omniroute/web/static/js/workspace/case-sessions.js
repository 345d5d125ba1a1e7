// Case work in its own sessions (docs/WORKSPACE.md, "Cases"): the case list, with filters,
// sorting and paging over GET /api/v1/cases, and each case opened from it as a session of its own
// beside the conversations. A case session shows the case, edits its title, description, priority
// and owner, moves its status (or cancels it with a reason), takes notes, links it to one of the
// agent's conversations or unlinks one, and lists its activity. Case sessions use no capacity and do not count towards the ten conversation sessions.
// The server decides who may change a case; its 403 reason is shown as it is.

import { ApiError } from '../omniroute-client.js';
import { page, queueById } from './data.js';
import { announce, dateTimeOf, el, path, showError, userError as userErrorOf } from './dom.js';
import { CASE_STATUS_LABELS, PRIORITY_LABELS, SLA_LABELS } from './cases.js';
import { format, t } from './i18n.js';

const PAGE_SIZE = 25;
// The server's limits (cases/model.py), so the form stops where the API would refuse.
const TITLE_MAX = 200;
const CATEGORY_MAX = 100;
const DESCRIPTION_MAX = 20_000;
const NOTE_MAX = 10_000;
const REASON_MAX = 5_000;
const OPEN_STATUSES = ['new', 'active', 'on_hold'];

const SORT_LABELS = {
  created_at: t('Created'),
  updated_at: t('Last changed'),
  priority: t('Priority'),
  sla_due_at: t('Due'),
  number: t('Number'),
};

const FIELD_LABELS = {
  status: t('status'),
  priority: t('priority'),
  owner_id: t('owner'),
  queue_id: t('queue'),
  title: t('title'),
  category: t('category'),
  description: t('description'),
  customer_id: t('customer'),
};

/** A session's tab and panel, built the same way for the case list and for a case. */
class CaseShell {
  constructor(desk, { id, kind, meta }) {
    this.desk = desk;
    this.id = id;
    this.kind = kind;
    this.tabItem = el('li', { attrs: { role: 'presentation' } },
      el('button', {
        type: 'button', className: 'session-tab record-tab case-tab', id: `tab-${id}`, tabIndex: -1,
        dataset: { testid: kind === 'case' ? 'case-session-tab' : 'case-list-tab', sessionId: id },
        attrs: { role: 'tab', 'aria-selected': 'false', 'aria-controls': `panel-${id}` },
        on: { click: () => desk.select(id) },
      },
      el('span', { className: 'tab-top' }, el('span', { className: 'tab-name' })),
      el('span', { className: 'tab-meta' }, meta)));
    this.tab = this.tabItem.querySelector('[role="tab"]');
    this.heading = el('h2', { className: 'conversation-title', dataset: { testid: `${kind}-title` } });
    this.sub = el('p', { className: 'muted conversation-sub' });
    this.body = el('div', { className: 'record-body case-session-body' });
    this.panel = el('section', {
      className: 'conversation record case-session', id: `panel-${id}`, hidden: true,
      dataset: { testid: kind === 'case' ? 'case-session' : 'case-list-session' },
      attrs: { role: 'tabpanel', 'aria-labelledby': `tab-${id}` },
    },
    el('header', { className: 'conversation-head' },
      el('div', { className: 'conversation-id' }, this.heading, this.sub),
      el('div', { className: 'conversation-actions' },
        el('button', {
          type: 'button', className: 'button', dataset: { testid: `${kind}-close` },
          textContent: kind === 'case' ? t('Close case') : t('Close list'),
          on: { click: () => this.remove() },
        }))),
    this.body);
    document.getElementById('session-list').append(this.tabItem);
    document.getElementById('conversation-area').append(this.panel);
  }

  setTitle(title, sub = '') {
    this.heading.textContent = title;
    this.sub.textContent = sub;
    this.tab.querySelector('.tab-name').textContent = title;
  }

  select(selected) {
    this.tab.setAttribute('aria-selected', String(selected));
    this.tab.tabIndex = selected ? 0 : -1;
    this.panel.hidden = !selected;
  }

  remove() {
    this.tabItem.remove();
    this.panel.remove();
    this.desk.removed(this);
  }
}

function field(id, label, control) {
  control.id = id;
  return el('div', { className: 'field' }, el('label', { htmlFor: id }, label), control);
}

function options(pairs, selected = '') {
  return pairs.map(([value, label]) => el('option', { value, selected: value === selected }, label));
}

function ownerName(desk, ownerId) {
  if (!ownerId) return t('No owner');
  if (ownerId === page.userId) return t('Me');
  return desk.directory.nameOf(ownerId) || ownerId;
}

// -- the case list ---------------------------------------------------------------------------

export class CaseListSession extends CaseShell {
  constructor(desk) {
    super(desk, { id: 'case-list', kind: 'case-list', meta: t('Filters and search') });
    this.setTitle(t('Cases'), t('Every case you may read'));
    this.cursor = null;
    const id = (name) => `case-filter-${name}`;
    this.filters = {
      status: el('select', { dataset: { testid: 'case-filter-status' } }, ...options([
        ['open', t('Open (new, in progress, on hold)')], ['', t('Any status')],
        ...Object.entries(CASE_STATUS_LABELS),
      ], 'open')),
      priority: el('select', { dataset: { testid: 'case-filter-priority' } }, ...options([
        ['', t('Any priority')], ...Object.entries(PRIORITY_LABELS),
      ])),
      owner: el('select', { dataset: { testid: 'case-filter-owner' } }, ...options([
        ['', t('Anyone')], ['me', t('Me')], ['none', t('No owner')],
      ])),
      queue: el('select', { dataset: { testid: 'case-filter-queue' } }, ...options([
        ['', t('Any queue')], ...page.queues.map((q) => [q.id, q.name]),
      ])),
      q: el('input', {
        type: 'search', maxLength: 200, autocomplete: 'off', dataset: { testid: 'case-filter-text' },
      }),
      sort: el('select', { dataset: { testid: 'case-sort' } }, ...options(Object.entries(SORT_LABELS))),
      order: el('select', { dataset: { testid: 'case-order' } }, ...options([
        ['desc', t('Descending')], ['asc', t('Ascending')],
      ])),
    };
    const form = el('form', {
      className: 'case-filters', dataset: { testid: 'case-filters' },
      attrs: { role: 'search', 'aria-label': t('Filter cases') },
    },
    field(id('text'), t('Number or title'), this.filters.q),
    field(id('status'), t('Status'), this.filters.status),
    field(id('priority'), t('Priority'), this.filters.priority),
    field(id('owner'), t('Owner'), this.filters.owner),
    field(id('queue'), t('Queue'), this.filters.queue),
    field(id('sort'), t('Sort by'), this.filters.sort),
    field(id('order'), t('Order'), this.filters.order),
    el('button', {
      type: 'submit', className: 'button button-primary', textContent: t('Search'),
      dataset: { testid: 'case-filter-apply' },
    }));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.load();
    });
    for (const name of ['status', 'priority', 'owner', 'queue', 'sort', 'order']) {
      this.filters[name].addEventListener('change', () => this.load());
    }
    this.status = el('p', { className: 'muted case-list-status', attrs: { role: 'status' } });
    this.rows = el('tbody', { dataset: { testid: 'case-rows' } });
    const th = (text) => el('th', { scope: 'col' }, text);
    this.table = el('table', { className: 'case-table' },
      el('caption', { className: 'sr-only' }, t('Cases')),
      el('thead', {}, el('tr', {}, th(t('Number')), th(t('Title')), th(t('Status')),
        th(t('Priority')), th(t('Owner')), th(t('Due')))),
      this.rows);
    this.more = el('button', {
      type: 'button', className: 'button', hidden: true, textContent: t('Show more'),
      dataset: { testid: 'case-list-more' }, on: { click: () => this.load({ append: true }) },
    });
    this.error = el('p', { className: 'form-error', hidden: true, attrs: { role: 'alert' } });
    this.body.append(form, this.error, this.status, this.table, this.more);
  }

  query() {
    const params = new URLSearchParams();
    const f = this.filters;
    const status = f.status.value;
    for (const s of status === 'open' ? OPEN_STATUSES : status ? [status] : []) params.append('status', s);
    if (f.priority.value) params.set('priority', f.priority.value);
    if (f.owner.value) params.set('owner', f.owner.value);
    if (f.queue.value) params.set('queue_id', f.queue.value);
    if (f.q.value.trim()) params.set('q', f.q.value.trim());
    params.set('sort', f.sort.value);
    params.set('order', f.order.value);
    params.set('limit', String(PAGE_SIZE));
    return params;
  }

  async load({ append = false } = {}) {
    const params = this.query();
    if (append && this.cursor) params.set('cursor', this.cursor);
    this.loading = params.toString();
    try {
      await this.desk.directory.list().catch(() => []); // owner names, when the server lists them
      const found = await this.desk.api.get(`/api/v1/cases?${params}`);
      if (this.loading !== params.toString()) return; // a newer search answered first
      if (!append) this.rows.replaceChildren();
      this.rows.append(...found.items.map((c) => this.row(c)));
      this.cursor = found.next_cursor;
      this.more.hidden = !found.next_cursor;
      const count = this.rows.children.length;
      this.status.textContent = count
        ? t('{count} cases shown', { count })
        : t('No case matches these filters.');
      showError(this.error, null);
    } catch (error) {
      showError(this.error, error);
    }
  }

  row(c) {
    const status = CASE_STATUS_LABELS[c.status] || c.status;
    return el('tr', { dataset: { testid: 'case-row', caseId: c.id } },
      el('td', {}, el('button', {
        type: 'button', className: 'link-like case-open', textContent: c.number,
        dataset: { testid: 'case-row-open' },
        attrs: { 'aria-label': t('Open case {number}', { number: c.number }) },
        on: { click: () => this.desk.openCaseSession(c.id) },
      })),
      el('td', { className: 'case-row-title' }, c.title),
      el('td', {}, el('span', { className: 'badge case-status', dataset: { status: c.status } }, status)),
      el('td', {}, el('span', { className: 'badge case-priority', dataset: { priority: c.priority } },
        PRIORITY_LABELS[c.priority] || c.priority)),
      el('td', { dataset: { testid: 'case-row-owner' } }, ownerName(this.desk, c.owner_id)),
      el('td', {}, el('time', { dateTime: c.sla_due_at }, dateTimeOf(c.sla_due_at))));
  }

  select(selected) {
    super.select(selected);
    if (selected && !this.loaded) {
      this.loaded = true;
      this.load();
    }
  }

  focus() {
    this.filters.q.focus();
  }
}

// -- one case --------------------------------------------------------------------------------

export class CaseSession extends CaseShell {
  constructor(desk, caseId) {
    super(desk, { id: `case-${caseId}`, kind: 'case', meta: t('Case') });
    this.caseId = caseId;
    this.data = null;
    this.links = [];
    this.setTitle(t('Case'));
    const id = (name) => `${this.id}-${name}`;
    this.facts = el('dl', { className: 'case-facts', dataset: { testid: 'case-facts' } });
    this.error = el('p', { className: 'form-error', hidden: true, attrs: { role: 'alert' },
      dataset: { testid: 'case-session-error' } });
    this.actions = el('div', { className: 'case-actions', attrs: { role: 'group', 'aria-label': t('Case status') } },
      ...[
        ['activate', t('Start work')], ['hold', t('Put on hold')], ['resolve', t('Resolve')],
        ['reopen', t('Reopen')],
      ].map(([action, label]) => el('button', {
        type: 'button', className: 'button button-small', textContent: label,
        dataset: { caseAction: action, testid: `case-session-${action}` },
        attrs: action === 'resolve' ? { 'aria-haspopup': 'dialog' } : {},
        on: { click: () => this.act(action) },
      })));
    this.titleInput = el('input', { type: 'text', maxLength: TITLE_MAX, required: true,
      dataset: { testid: 'case-edit-title' } });
    this.description = el('textarea', { rows: 3, maxLength: DESCRIPTION_MAX,
      dataset: { testid: 'case-edit-description' } });
    this.category = el('input', { type: 'text', maxLength: CATEGORY_MAX,
      dataset: { testid: 'case-edit-category' } });
    this.queue = el('select', { dataset: { testid: 'case-edit-queue' } },
      ...options([['', t('No queue')], ...page.queues.map((q) => [q.id, q.name])]));
    this.priority = el('select', { dataset: { testid: 'case-edit-priority' } },
      ...options(Object.entries(PRIORITY_LABELS)));
    this.owner = el('select', { dataset: { testid: 'case-edit-owner' } });
    /** What each edit control showed from the server: a re-read keeps what the agent changed. */
    this.shown = new Map();
    this.edit = el('form', { className: 'case-edit', dataset: { testid: 'case-edit' },
      attrs: { 'aria-label': t('Edit the case') } },
    field(id('title'), t('Title'), this.titleInput),
    field(id('description'), t('Description'), this.description),
    field(id('category'), t('Category'), this.category),
    field(id('queue'), t('Queue'), this.queue),
    field(id('priority'), t('Priority'), this.priority),
    field(id('owner'), t('Owner'), this.owner),
    el('button', { type: 'submit', className: 'button button-primary', textContent: t('Save changes'),
      dataset: { testid: 'case-edit-save' } }));
    this.edit.addEventListener('submit', (event) => {
      event.preventDefault();
      this.save();
    });
    this.linkList = el('ul', { className: 'case-links', dataset: { testid: 'case-links' } });
    this.linkEmpty = el('p', { className: 'muted' }, t('No conversation is linked to this case.'));
    this.linkTarget = el('select', { dataset: { testid: 'case-link-target' } });
    this.linkForm = el('form', { className: 'case-link-form', dataset: { testid: 'case-link-form' } },
      field(id('link'), t('Link to one of your conversations'), this.linkTarget),
      el('button', { type: 'submit', className: 'button', textContent: t('Link'),
        dataset: { testid: 'case-link-submit' } }));
    this.linkForm.addEventListener('submit', (event) => {
      event.preventDefault();
      if (this.linkTarget.value) this.link(this.linkTarget.value);
    });
    this.cancelReason = el('input', { type: 'text', maxLength: REASON_MAX,
      dataset: { testid: 'case-cancel-reason' } });
    this.cancelForm = el('form', { className: 'case-cancel', hidden: true, dataset: { testid: 'case-cancel-form' },
      attrs: { 'aria-label': t('Cancel the case') } },
    field(id('cancel-reason'), t('Why is it cancelled?'), this.cancelReason),
    el('div', { className: 'c360-form-actions' },
      el('button', { type: 'submit', className: 'button button-primary', textContent: t('Cancel the case'),
        dataset: { testid: 'case-cancel-confirm' } }),
      el('button', { type: 'button', className: 'button', textContent: t('Keep it'),
        dataset: { testid: 'case-cancel-keep' }, on: { click: () => this.closeCancel() } })));
    this.cancelForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.cancel();
    });
    this.actions.append(el('button', {
      type: 'button', className: 'button button-small', textContent: t('Cancel case…'),
      dataset: { caseAction: 'cancel', testid: 'case-session-cancel' },
      on: { click: () => this.openCancel() },
    }));
    this.notes = el('ul', { className: 'case-notes', dataset: { testid: 'case-notes' } });
    this.notesEmpty = el('p', { className: 'muted' }, t('No notes yet.'));
    this.noteInput = el('textarea', { rows: 2, maxLength: NOTE_MAX, dataset: { testid: 'case-note-input' } });
    this.noteForm = el('form', { className: 'case-note-form', dataset: { testid: 'case-note-form' } },
      field(id('note'), t('New note on the case'), this.noteInput),
      el('button', { type: 'submit', className: 'button', textContent: t('Add note'),
        dataset: { testid: 'case-note-add' } }));
    this.noteForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.addNote();
    });
    this.activity = el('ol', { className: 'case-activity', dataset: { testid: 'case-activity' } });
    const section = (title, ...children) => el('section', { className: 'case-section' },
      el('h3', { className: 'c360-heading' }, title), ...children);
    this.body.append(
      this.error,
      section(t('Details'), this.facts, this.actions, this.cancelForm),
      section(t('Change'), this.edit),
      section(t('Notes'), this.notesEmpty, this.notes, this.noteForm),
      section(t('Linked conversations'), this.linkEmpty, this.linkList, this.linkForm),
      section(t('Activity'), this.activity),
    );
  }

  async load() {
    const base = path`/api/v1/cases/${this.caseId}`;
    try {
      const [data, links, history, notes] = await Promise.all([
        this.desk.api.get(base),
        this.desk.api.get(`${base}/conversations`),
        this.desk.api.get(`${base}/history`),
        this.desk.api.get(`${base}/notes`),
        this.desk.directory.list().catch(() => []),
      ]);
      this.links = links;
      this.show(data);
      this.renderNotes(notes);
      this.renderActivity(history);
      // Only a failed read is cleared by a good one: a re-read pushed by a change elsewhere must
      // not wipe the reason a save of the agent's was just refused.
      if (this.readFailed) showError(this.error, null);
      this.readFailed = false;
    } catch (error) {
      this.readFailed = true;
      showError(this.error, error);
    }
  }

  /** Show a CaseOut (also called by the resolve dialog with its answer). */
  show(data) {
    this.data = data;
    this.setTitle(`${data.number} ${data.title}`, CASE_STATUS_LABELS[data.status] || data.status);
    const queue = data.queue_id && queueById(data.queue_id);
    const facts = [
      [t('Status'), el('span', { className: 'badge case-status', dataset: { status: data.status, testid: 'case-session-status' } },
        CASE_STATUS_LABELS[data.status] || data.status)],
      [t('Priority'), el('span', { className: 'badge case-priority', dataset: { priority: data.priority, testid: 'case-session-priority' } },
        PRIORITY_LABELS[data.priority] || data.priority)],
      [t('Owner'), el('span', { dataset: { testid: 'case-session-owner' } }, ownerName(this.desk, data.owner_id))],
      [t('Queue'), queue ? queue.name : t('None')],
      [t('Due'), format(SLA_LABELS[data.sla_state] || '', { time: dateTimeOf(data.sla_due_at) })],
      [t('Created'), dateTimeOf(data.created_at)],
    ];
    if (data.category) facts.push([t('Category'), data.category]);
    if (data.resolution) facts.push([t('Resolution'), data.resolution]);
    if (data.description) facts.push([t('Description'), el('span', { className: 'case-description' }, data.description)]);
    this.facts.replaceChildren(...facts.flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));
    const next = new Set(data.next_statuses || []);
    const button = (name) => this.actions.querySelector(`[data-case-action="${name}"]`);
    button('activate').hidden = !(next.has('active') && data.status !== 'resolved');
    button('hold').hidden = !next.has('on_hold');
    button('resolve').hidden = !next.has('resolved');
    button('reopen').hidden = data.status !== 'resolved';
    const editable = data.status !== 'resolved' && data.status !== 'cancelled';
    this.edit.hidden = !editable || !this.desk.features.has('editCase');
    // A re-read (after a link, or a change made elsewhere and pushed live) keeps what the agent
    // typed or chose but has not saved yet.
    this.keep(this.titleInput, data.title);
    this.keep(this.description, data.description || '');
    this.keep(this.category, data.category || '');
    this.keep(this.queue, data.queue_id || '');
    this.keep(this.priority, data.priority);
    const shownOwner = this.shown.get(this.owner);
    this.shown.set(this.owner, data.owner_id || '');
    const unsavedOwner = shownOwner !== undefined && this.owner.value !== shownOwner ? this.owner.value : null;
    this.fillOwners(unsavedOwner ?? data.owner_id);
    this.actions.querySelector('[data-case-action="cancel"]').hidden = !editable || !this.desk.features.has('cancelCase');
    if (!editable) this.closeCancel();
    this.noteForm.hidden = !this.desk.features.has('addCaseNote');
    this.renderLinks();
  }

  fillOwners(ownerId) {
    const people = this.desk.directory.people || [];
    const pairs = [['', t('No owner')], [page.userId, t('Me')], ...people.map((p) => [p.id, p.name])];
    if (ownerId && !pairs.some(([value]) => value === ownerId)) pairs.push([ownerId, ownerId]);
    this.owner.replaceChildren(...options(pairs, ownerId || ''));
  }

  renderLinks() {
    const mine = new Map(this.desk.conversations().map((v) => [v.id, v]));
    const linked = new Set(this.links.map((l) => l.conversation_id));
    this.linkList.replaceChildren(...this.links.map((link) => {
      const view = mine.get(link.conversation_id);
      const name = view ? view.name : t('Conversation {id}', { id: link.conversation_id.slice(0, 8) });
      return el('li', { className: 'case-link', dataset: { testid: 'case-link', conversationId: link.conversation_id } },
        view
          ? el('button', { type: 'button', className: 'link-like', textContent: name,
            on: { click: () => this.desk.select(view.id, { focus: 'tab' }) } })
          : el('span', {}, name),
        ' ',
        el('span', { className: 'muted' }, t('linked {time}', { time: dateTimeOf(link.linked_at) })),
        ' ',
        el('button', {
          type: 'button', className: 'button button-small', textContent: t('Unlink'),
          dataset: { testid: 'case-unlink' },
          attrs: { 'aria-label': t('Unlink {name}', { name }) },
          on: { click: () => this.unlink(link.conversation_id) },
        }));
    }));
    this.linkEmpty.hidden = this.links.length > 0;
    const candidates = [...mine.values()].filter((v) => v.holder && !linked.has(v.id));
    this.linkTarget.replaceChildren(...options(candidates.map((v) => [v.id, v.name])));
    this.linkForm.hidden = !candidates.length || !this.desk.features.has('linkCase');
  }

  renderActivity(history) {
    this.activity.replaceChildren(...[...history].reverse().map((a) => el('li', { className: 'case-activity-item' },
      el('time', { dateTime: a.occurred_at, className: 'muted' }, dateTimeOf(a.occurred_at)), ' ',
      el('span', {}, this.describe(a)))));
    if (!history.length) this.activity.append(el('li', { className: 'muted' }, t('Nothing yet.')));
  }

  describe(a) {
    const d = a.details || {};
    const value = (name, v) => {
      if (v === null || v === undefined || v === '') return t('none');
      if (name === 'owner_id') return ownerName(this.desk, v);
      if (name === 'status') return CASE_STATUS_LABELS[v] || v;
      if (name === 'priority') return PRIORITY_LABELS[v] || v;
      if (name === 'queue_id') return queueById(v)?.name || v;
      return String(v);
    };
    switch (a.type) {
      case 'case.created': return t('Case opened');
      case 'case.updated': return Object.entries(d.changes || {})
        .filter(([name]) => name in FIELD_LABELS)
        .map(([name, change]) => (name === 'description'
          ? t('description edited')
          : `${FIELD_LABELS[name]}: ${value(name, change.from)} → ${value(name, change.to)}`))
        .join('; ') || t('Changed');
      case 'case.linked': return t('Linked to a conversation');
      case 'case.unlinked': return t('Unlinked from a conversation');
      case 'case.note_added': return t('Note: {text}', { text: d.text || '' });
      case 'case.resolved': return t('Resolved: {text}', { text: d.resolution || '' });
      case 'case.reopened': return t('Reopened');
      case 'case.cancelled': return d.reason ? t('Cancelled: {text}', { text: d.reason }) : t('Cancelled');
      default: return a.type;
    }
  }

  async act(action) {
    if (!this.data) return;
    if (action === 'resolve') {
      this.desk.openResolve(this, this.data);
      return;
    }
    const base = path`/api/v1/cases/${this.caseId}`;
    const expected = this.data.version;
    await this.change(() => (action === 'reopen'
      ? this.desk.api.post(`${base}/reopen`, { expected_version: expected })
      : this.desk.api.request('PATCH', base, {
        status: action === 'hold' ? 'on_hold' : 'active', expected_version: expected,
      })));
  }

  async save() {
    if (!this.data) return;
    const body = { expected_version: this.data.version };
    const title = this.titleInput.value.trim();
    if (!title) {
      showError(this.error, userErrorOf(t('A case needs a title.')));
      this.titleInput.focus();
      return;
    }
    if (title !== this.data.title) body.title = title;
    const description = this.description.value.trim();
    if (description !== (this.data.description || '')) body.description = description;
    const category = this.category.value.trim();
    if (category !== (this.data.category || '')) body.category = category;
    const queue = this.queue.value || null;
    if (queue !== (this.data.queue_id || null)) body.queue_id = queue;
    if (this.priority.value !== this.data.priority) body.priority = this.priority.value;
    const owner = this.owner.value || null;
    if (owner !== this.data.owner_id) body.owner_id = owner;
    if (Object.keys(body).length === 1) {
      announce(t('Nothing to change.'));
      return;
    }
    await this.change(() => this.desk.api.request('PATCH', path`/api/v1/cases/${this.caseId}`, body));
  }

  /** Set an edit control to the server's value, unless the agent changed it since it was shown. */
  keep(control, value) {
    const before = this.shown.get(control);
    this.shown.set(control, value);
    if (before === undefined || control.value === before) control.value = value;
  }

  renderNotes(notes) {
    this.notes.replaceChildren(...notes.map((n) => el('li', { className: 'case-note', dataset: { testid: 'case-note' } },
      el('p', { className: 'c360-note-text' }, n.text),
      el('p', { className: 'muted c360-note-meta' },
        t('{author}, {time}', { author: n.author_name, time: dateTimeOf(n.created_at) })))));
    this.notesEmpty.hidden = notes.length > 0;
  }

  async addNote() {
    const text = this.noteInput.value.trim();
    if (!text) {
      showError(this.error, userErrorOf(t('Write the note first.')));
      this.noteInput.focus();
      return;
    }
    // The same id on a retry: the server stores the note once.
    this.noteId = this.noteId || crypto.randomUUID();
    const body = { text, client_note_id: this.noteId };
    await this.change(() => this.desk.api.post(path`/api/v1/cases/${this.caseId}/notes`, body));
    if (!this.error.hidden) return;
    this.noteId = null;
    this.noteInput.value = '';
  }

  openCancel() {
    this.cancelForm.hidden = false;
    this.cancelReason.focus();
  }

  closeCancel() {
    this.cancelForm.hidden = true;
    this.cancelReason.value = '';
  }

  async cancel() {
    if (!this.data) return;
    const body = { reason: this.cancelReason.value.trim(), expected_version: this.data.version };
    await this.change(() => this.desk.api.post(path`/api/v1/cases/${this.caseId}/cancel`, body));
    if (this.error.hidden) this.closeCancel();
  }

  async link(conversationId) {
    await this.change(() => this.desk.api.put(
      path`/api/v1/cases/${this.caseId}/conversations/${conversationId}`, {},
    ), conversationId);
  }

  async unlink(conversationId) {
    await this.change(() => this.desk.api.request(
      'DELETE', path`/api/v1/cases/${this.caseId}/conversations/${conversationId}`,
    ), conversationId);
  }

  /** Run one change; show the server's reason when it refuses (403: not yours to change). */
  async change(call, conversationId = null) {
    try {
      await call();
      showError(this.error, null);
      await this.load();
      announce(t('Case {number} saved.', { number: this.data.number }));
      this.desk.caseChanged(this.caseId, conversationId);
    } catch (error) {
      // Someone changed it meanwhile (409), or it is not ours (403): show what it is now, with
      // the server's reason.
      if (error instanceof ApiError && (error.status === 409 || error.status === 403)) await this.load();
      showError(this.error, error);
    }
  }

  select(selected) {
    super.select(selected);
    if (selected && this.data) this.renderLinks();
  }
}
