// The voice panel (docs/VOICE.md, "Browser SDK reference"): each enabled provider's softphone in
// an iframe beside the sessions, talking to the workspace through cif-host.js. The workspace lends
// its sessions (list, focused, focus), opens screen pops as customer sessions, and forwards
// presence changes and session switches. The page's CSP frames only the providers' origins.

import { mountVoicePanel } from '../cif-host.js';
import { page } from './data.js';
import { t } from './i18n.js';

// Text cif-host.js shows through the workspace's t() by variable (notification templates,
// buttons), listed here so `pybabel extract` puts it in the catalogue.
export const CIF_HOST_TEXT = [
  t('Phone'), t('Minimise'), t('Expand'), t('{count} matching records'), t('No matching records'),
  t('New customer'), t('Create'), t('Close'), t('Notification'), t('{seconds} s left'),
  t('From'), t('Customer'), t('Queue'), t('IVR'), t('Call'), t('Accept'), t('Decline'),
  t('Call now'), t('Skip'), t('OK'), t('Name'), t('Email'),
];

/**
 * Mount the panel in `element` (hidden when no provider is enabled).
 * @returns {Promise<object|null>} cif-host's handle, or null when this server has no voice API
 */
export async function mountVoice(element, {
  api, features, sessions, tabs, onScreenPop, openForm, openRecord, onNotification,
}) {
  if (!features.has('voiceProviders')) {
    element.hidden = true;
    return null;
  }
  const providers = await api.get('/api/v1/voice/providers').catch(() => []);
  element.hidden = providers.length === 0;
  return mountVoicePanel(element, {
    providers,
    api,
    t,
    locale: page.locale,
    agent: { id: page.userId, name: page.displayName, email: page.email },
    sessions,
    tabs,
    onScreenPop,
    openForm,
    openRecord,
    onNotification,
  });
}

/**
 * What the workspace lends the SDK for sessions and tabs, against its own model: a session is a
 * conversation (assigned by routing, never made by a softphone) or a customer session; the
 * workspace has no tabs inside a session, so a CIF "tab" is a session opened on a record — its
 * id is the session id, and closing one closes a customer session (conversations end from the
 * workspace). See docs/VOICE.md ("Sessions and tabs").
 *
 * @param {object} w  the workspace's parts: views, records (Maps by session id), active() → id,
 *   select(id), openCustomer(customerId, {focus}) → record, openCreate(prefill) → record,
 *   openChoice(choices) → record, newRecord() → record, api
 */
/** How long a call's session may take to arrive after the provider says it is answered. */
const CALL_SESSION_WAIT_MS = 15_000;
const CALL_SESSION_POLL_MS = 250;

export function lendSessions(w) {
  const session = (id) => w.views.get(id) || w.records.get(id) || null;
  const known = (id) => {
    if (!session(id)) throw new Error(t('No session {id} in this workspace.', { id: String(id) }));
    return session(id);
  };
  const describe = (id) => {
    const s = known(id);
    const name = s.tab.querySelector('.tab-name');
    return {
      sessionId: s.id,
      kind: s.kind === 'customer' ? 'customer' : 'conversation',
      title: name ? name.textContent : '',
      customerId: s.kind === 'customer' ? s.customerId || null : (s.data && s.data.customer_id) || null,
      conversationId: s.kind === 'customer' ? null : s.id,
      focused: w.active() === s.id,
    };
  };
  /** A customer session for a customer id, a phone number (looked up), or a blank one. */
  // `focus` is asked when the session is there, not before: the agent may have moved on to
  // another session while the lookup ran, and a screen pop must not pull them back.
  async function open({ customerId, phone, title, focus = () => true }) {
    if (customerId) return w.openCustomer(String(customerId), { focus: focus() });
    if (phone) {
      const found = await w.api.get(`/api/v1/voice/lookup?phone=${encodeURIComponent(phone)}`);
      if (found.action === 'open') return w.openCustomer(found.matches[0].id, { focus: focus() });
      if (found.action === 'quick_create') {
        return w.openCreate({ phone: found.phone, ...(found.quick_create || {}) }, { focus: focus() });
      }
      return w.openChoice(found.matches.map((c) => ({
        label: c.display_name, detail: [c.phone, c.email].filter(Boolean).join(' · '), customerId: c.id,
      })), { focus: focus() });
    }
    const record = w.newRecord();
    record.setTitle(String(title || t('Customer')));
    if (focus()) w.select(record.id);
    return record;
  }
  /**
   * The voice session of a provider's call, once the call's events have made it the agent's
   * conversation and the socket has brought it here (null if that does not happen in time).
   */
  async function callSession(provider, callId) {
    const url = `/api/v1/voice/providers/${encodeURIComponent(provider.id)}/calls/${encodeURIComponent(callId)}`;
    let conversationId = null;
    for (let waited = 0; waited <= CALL_SESSION_WAIT_MS; waited += CALL_SESSION_POLL_MS) {
      if (!conversationId) {
        try {
          conversationId = (await w.api.get(url)).conversation_id;
        } catch {
          // Not in Omniroute yet (the provider's webhook is still on its way), or not ours yet.
        }
      }
      if (conversationId && w.views.has(conversationId)) return conversationId;
      await new Promise((resolve) => setTimeout(resolve, CALL_SESSION_POLL_MS));
    }
    return null;
  }
  const sessions = {
    canCreate: () => true,
    /**
     * { template, context: { call_id | customer_id | phone }, title } → the session id. A call's
     * session is its voice conversation; otherwise a customer session opens on the record.
     */
    async create(input = {}, provider = null) {
      const context = input.context || {};
      const before = w.active();
      const stillHere = () => w.active() === before || w.records.has(w.active());
      const callId = context.call_id || context.callId;
      if (callId && provider) {
        const id = await callSession(provider, String(callId));
        if (id) {
          if (stillHere()) w.select(id);
          return id;
        }
      }
      const record = await open({
        customerId: context.customer_id || context.customerId,
        phone: context.phone,
        title: input.title,
        focus: stillHere,
      });
      return record.id;
    },
    get: ({ sessionId }) => describe(sessionId),
    getAll: () => [...w.views.keys(), ...w.records.keys()],
    getFocused: () => w.active(),
    focus: ({ sessionId }) => {
      known(sessionId);
      w.select(sessionId);
      return true;
    },
    setTitle: ({ sessionId, title }) => {
      const s = known(sessionId);
      const text = String(title || '').slice(0, 200);
      if (s.kind === 'customer') s.setTitle(text);
      else s.tab.querySelector('.tab-name').textContent = text;
      return true;
    },
  };
  const tabs = {
    /** { entity: 'customer'|'case', id, focus } (CIF: appContext entityName/entityId) → the tab id. */
    async create(input = {}) {
      const context = input.appContext || input;
      const entity = String(context.entity || context.entityName || 'customer').toLowerCase();
      const id = context.id || context.entityId;
      const focus = input.focus !== false && input.isFocused !== false;
      if (!id) throw new Error(t('A tab needs the record to open: entity and id.'));
      if (entity === 'customer' || entity === 'contact' || entity === 'account') {
        return (await open({ customerId: id, focus: () => focus })).id;
      }
      if (entity === 'case' || entity === 'incident') {
        const found = await w.api.get(`/api/v1/cases/${encodeURIComponent(id)}`);
        return (await open({ customerId: found.customer_id, focus: () => focus })).id;
      }
      throw new Error(t('This workspace opens customer and case tabs only.'));
    },
    focus: ({ tabId }) => sessions.focus({ sessionId: tabId }),
    close: ({ tabId }) => {
      const s = known(tabId);
      if (s.kind !== 'customer') throw new Error(t('Conversations are ended from the workspace, not closed as tabs.'));
      s.remove();
      return true;
    },
    getFocused: () => w.active(),
  };
  return { sessions, tabs };
}
