// Which optional endpoints this server has. The page carries the server's own route table
// (pages.py), and controls whose endpoint is missing stay hidden: features land in different
// releases. A 404/405 from an endpoint at run time (an older node behind the same address) hides
// its controls too. Nothing is probed by writing.

import { ApiError } from '../omniroute-client.js';
import { isSupervisor, page } from './data.js';

const ENDPOINTS = {
  notes: ['get', '/api/v1/conversations/{}/notes'],
  addNote: ['post', '/api/v1/conversations/{}/notes'],
  consults: ['get', '/api/v1/conversations/{}/consults'],
  consult: ['post', '/api/v1/conversations/{}/consults'],
  endConsult: ['delete', '/api/v1/conversations/{}/consults/{}'],
  promote: ['post', '/api/v1/conversations/{}/consults/{}/promote'],
  cases: ['get', '/api/v1/conversations/{}/cases'],
  createCase: ['post', '/api/v1/conversations/{}/cases'],
  caseList: ['get', '/api/v1/cases'],
  editCase: ['patch', '/api/v1/cases/{}'],
  linkCase: ['put', '/api/v1/cases/{}/conversations/{}'],
  unlinkCase: ['delete', '/api/v1/cases/{}/conversations/{}'],
  cancelCase: ['post', '/api/v1/cases/{}/cancel'],
  addCaseNote: ['post', '/api/v1/cases/{}/notes'],
  knowledge: ['get', '/api/v1/knowledge/articles'],
  share: ['get', '/api/v1/knowledge/articles/{}/share'],
  agents: ['get', '/api/v1/agents'],
  adminUsers: ['get', '/api/v1/admin/users'],
  locale: ['put', '/api/v1/me/locale'],
  preferences: ['put', '/api/v1/me/preferences'],
  customer: ['get', '/api/v1/customers/{}'],
  createCustomer: ['post', '/api/v1/customers'],
  customerEdit: ['patch', '/api/v1/customers/{}'],
  duplicates: ['get', '/api/v1/customers/{}/duplicates'],
  merge: ['post', '/api/v1/customers/{}/merge'],
  customerConversations: ['get', '/api/v1/customers/{}/conversations'],
  customerTranscript: ['get', '/api/v1/customers/{}/conversations/{}/messages'],
  customerCases: ['get', '/api/v1/customers/{}/cases'],
  timeline: ['get', '/api/v1/customers/{}/timeline'],
  customerNotes: ['get', '/api/v1/customers/{}/notes'],
  addCustomerNote: ['post', '/api/v1/customers/{}/notes'],
  editCustomerNote: ['patch', '/api/v1/customers/{}/notes/{}'],
  deleteCustomerNote: ['delete', '/api/v1/customers/{}/notes/{}'],
  voiceProviders: ['get', '/api/v1/voice/providers'],
  call: ['get', '/api/v1/voice/conversations/{}/call'],
  quickReplies: ['get', '/api/v1/quick-replies'],
  renderQuickReply: ['get', '/api/v1/conversations/{}/quick-replies/{}/rendered'],
  saveQuickReply: ['post', '/api/v1/quick-replies'],
  ownQuickReplies: ['get', '/api/v1/me/quick-replies'],
  deleteQuickReply: ['delete', '/api/v1/quick-replies/{}'],
  disposition: ['get', '/api/v1/conversations/{}/disposition'],
  chooseDisposition: ['put', '/api/v1/conversations/{}/disposition'],
  bot: ['get', '/api/v1/conversations/{}/bot'],
};

const normal = (p) => p.replace(/\{[^}]*\}/g, '{}');

export class Features extends EventTarget {
  /**
   * @param {import('../omniroute-client.js').ApiClient} api
   * @param {string[]} endpoints  "method /path/{param}" for every route the server has
   */
  constructor(api, endpoints = page.endpoints || []) {
    super();
    this.api = api;
    this.endpoints = new Set(endpoints.map((e) => normal(e)));
    this.gone = new Set();
  }

  has(name) {
    if (this.gone.has(name)) return false;
    const [method, template] = ENDPOINTS[name];
    return this.endpoints.has(`${method} ${template}`);
  }

  /** After a failed call: true if the failure means "this server has no such endpoint". */
  noteFailure(name, error) {
    const missing = error instanceof ApiError
      && (error.status === 405 || (error.status === 404 && error.message === 'Not Found'));
    if (missing && !this.gone.has(name)) {
      this.gone.add(name);
      this.dispatchEvent(new Event('change'));
    }
    return missing;
  }
}

/** Colleagues to transfer to or consult: the agents API, or the admin user list for supervisors. */
export class Directory {
  constructor(api, features) {
    this.api = api;
    this.features = features;
    this.people = null;
    this.names = new Map();
  }

  available() {
    return this.features.has('agents') || (isSupervisor() && this.features.has('adminUsers'));
  }

  async list() {
    if (this.people) return this.people;
    let rows = [];
    if (this.features.has('agents')) {
      try {
        rows = await this.api.get('/api/v1/agents');
      } catch (error) {
        if (!this.features.noteFailure('agents', error)) throw error;
      }
    }
    if (!rows.length && isSupervisor() && this.features.has('adminUsers')) {
      const users = await this.api.get('/api/v1/admin/users');
      rows = users.filter((u) => u.role !== 'admin');
    }
    this.people = rows
      .map((r) => ({ id: r.id || r.user_id, name: r.display_name || r.name || r.email || r.id,
        presence: r.presence || null }))
      .filter((r) => r.id && r.id !== page.userId)
      .sort((a, b) => a.name.localeCompare(b.name));
    for (const person of this.people) this.names.set(person.id, person.name);
    return this.people;
  }

  nameOf(id) {
    return this.names.get(id) || null;
  }
}
