// Incoming offers as toasts: who, which queue, a countdown to expires_at, accept and reject.
// A live offer may also beep and raise a desktop notification, per the agent's settings.

import { ApiError } from '../omniroute-client.js';
import { page } from './data.js';
import { announce, fromTemplate, path, showError } from './dom.js';
import { t } from './i18n.js';
import { channelLabel } from './labels.js';
import { beep, desktopNotify, wanted } from './notify.js';
import { renderTemplate } from './slugs.js';

const CLOSED_TEXT = {
  rejected: t('Chat offer rejected.'),
  timed_out: t('Chat offer expired.'),
  customer_left: t('The customer left before the chat was accepted.'),
  withdrawn: t('Chat offer withdrawn.'),
  transferred: t('Chat offer transferred.'),
};

export const DEFAULT_TITLE_TEMPLATE = t('New chat from {customerName}');
// The body shows the customer's question as is; the slug needs no translation.
export const DEFAULT_BODY_TEMPLATE = '{preview}';

const URGENT_SECONDS = 10;
/** Longer than any offer timeout routing allows: beyond it the browser clock is simply wrong. */
const MAX_OFFER_MS = 3600 * 1000;

export class Offers {
  /**
   * @param {object} deps
   * @param {import('../omniroute-client.js').ApiClient} deps.api
   * @param {() => boolean} deps.canAccept  false while the agent has no free session slot
   * @param {(conv: object) => void} deps.onAccepted
   * @param {() => object} deps.settings
   */
  constructor({ api, canAccept, onAccepted, settings }) {
    this.api = api;
    this.canAccept = canAccept;
    this.onAccepted = onAccepted;
    this.settings = settings;
    this.list = document.getElementById('offer-list');
    this.region = document.getElementById('toasts');
    /** session_id -> { offer, el, deadline, total, busy, note } */
    this.entries = new Map();
    /** Server clock minus browser clock, learnt from live offers; keeps countdowns honest. */
    this.skewMs = 0;
    setInterval(() => this.tickAll(), 500);
  }

  learnSkew(occurredAt) {
    const occurred = Date.parse(occurredAt);
    if (!Number.isNaN(occurred)) this.skewMs = occurred - Date.now();
  }

  /** Apply a snapshot's offers: drop the ones that are gone, add the new ones quietly. */
  replaceAll(offers) {
    const live = new Set(offers.map((o) => o.session_id));
    for (const id of [...this.entries.keys()]) if (!live.has(id)) this.remove(id);
    for (const offer of offers) this.add(offer, { live: false });
  }

  add(offer, { live }) {
    if (this.entries.has(offer.session_id)) return;
    const el = fromTemplate('offer-template');
    const settings = this.settings();
    const title = renderTemplate(settings.titleTemplate || DEFAULT_TITLE_TEMPLATE, offer);
    const body = renderTemplate(settings.bodyTemplate || DEFAULT_BODY_TEMPLATE, offer);
    el.dataset.sessionId = offer.session_id;
    const titleId = `offer-title-${offer.session_id}`;
    el.querySelector('.offer-title').id = titleId;
    el.querySelector('article').setAttribute('aria-labelledby', titleId);
    el.querySelector('.offer-title').textContent = title;
    el.querySelector('.offer-customer').textContent = offer.customer_name || t('Customer');
    el.querySelector('.offer-queue').textContent = offer.queue_name;
    el.querySelector('.offer-channel').textContent = channelLabel(offer.channel);
    el.querySelector('.offer-preview').textContent = body || t('(no question given)');
    el.querySelector('[data-action="accept"]').addEventListener('click', () =>
      this.accept(offer.session_id),
    );
    el.querySelector('[data-action="reject"]').addEventListener('click', () =>
      this.reject(offer.session_id),
    );
    const remaining = Math.min(Date.parse(offer.expires_at) - this.skewMs - Date.now(), MAX_OFFER_MS);
    const total = live ? remaining : Math.max(remaining, page.offerTimeout * 1000);
    const entry = { offer, el, deadline: Date.now() + remaining, total: Math.max(total, 1),
      busy: false, note: null };
    this.entries.set(offer.session_id, entry);
    this.list.prepend(el); // the newest offer on top, where Alt+A acts
    this.tick(entry);
    this.refresh();
    if (!live) return;
    announce(t('New chat from {name} in {queue}. Alt+A accepts.', {
      name: offer.customer_name || t('a customer'), queue: offer.queue_name,
    }));
    if (wanted(settings.sound)) beep();
    if (wanted(settings.desktop)) {
      entry.note = desktopNotify({
        title, body, tag: offer.session_id,
        onClick: () => el.querySelector('[data-action="accept"]').focus(),
      });
    }
  }

  closed(sessionId, reason) {
    if (this.entries.has(sessionId)) announce(CLOSED_TEXT[reason] || t('Chat offer closed.'));
    this.remove(sessionId);
  }

  remove(sessionId) {
    const entry = this.entries.get(sessionId);
    if (!entry) return;
    const hadFocus = entry.el.contains(document.activeElement);
    entry.el.remove();
    if (entry.note) entry.note.close();
    this.entries.delete(sessionId);
    this.refresh();
    if (hadFocus) this.newestButton()?.focus();
  }

  refresh() {
    this.region.hidden = this.entries.size === 0;
  }

  tickAll() {
    for (const entry of this.entries.values()) this.tick(entry);
  }

  tick(entry) {
    const left = Math.max(0, entry.deadline - Date.now());
    const seconds = Math.ceil(left / 1000);
    entry.el.querySelector('.offer-countdown').textContent =
      seconds > 0 ? t('{seconds}s left', { seconds }) : t('Expiring…');
    entry.el.querySelector('.offer-progress').value = Math.min(100, (100 * left) / entry.total);
    entry.el.classList.toggle('offer-urgent', seconds <= URGENT_SECONDS);
    const full = !this.canAccept();
    entry.el.querySelector('.offer-limit').hidden = !full;
    entry.el.querySelector('[data-action="accept"]').disabled = entry.busy || full || seconds === 0;
    entry.el.querySelector('[data-action="reject"]').disabled = entry.busy;
  }

  /** The accept button of the newest offer that can still be accepted (Alt+A). */
  newestButton() {
    for (const entry of [...this.entries.values()].reverse()) {
      const button = entry.el.querySelector('[data-action="accept"]');
      if (!button.disabled) return button;
    }
    return null;
  }

  newest() {
    const button = this.newestButton();
    return button ? button.closest('[data-session-id]').dataset.sessionId : null;
  }

  setBusy(entry, busy) {
    entry.busy = busy;
    this.tick(entry);
  }

  async accept(sessionId) {
    const entry = this.entries.get(sessionId);
    if (!entry || entry.busy || !this.canAccept()) return;
    this.setBusy(entry, true);
    try {
      const conv = await this.api.post(path`/api/v1/offers/${sessionId}/accept`);
      this.remove(sessionId);
      this.onAccepted(conv);
    } catch (error) {
      this.failed(entry, error);
    }
  }

  async reject(sessionId) {
    const entry = this.entries.get(sessionId);
    if (!entry || entry.busy) return;
    this.setBusy(entry, true);
    try {
      await this.api.post(path`/api/v1/offers/${sessionId}/reject`);
      this.remove(sessionId);
    } catch (error) {
      this.failed(entry, error);
    }
  }

  failed(entry, error) {
    showError(entry.el.querySelector('.offer-error'), error);
    if (error instanceof ApiError && !error.retryable) {
      // Expired or taken elsewhere: the toast is stale; let the agent read why, then drop it.
      setTimeout(() => this.remove(entry.offer.session_id), 4000);
    } else {
      this.setBusy(entry, false);
    }
  }
}
