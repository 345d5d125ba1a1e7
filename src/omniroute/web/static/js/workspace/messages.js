// One transcript line: sender, time, text, files, a shared place and, for the agent's own
// replies, delivery state.

import { attachmentsElement } from './attachments.js';
import { timeOf } from './dom.js';
import { t } from './i18n.js';

const DELIVERY_LABELS = {
  sending: t('Sending…'),
  stored: t('Sent'),
  queued: t('Queued'),
  sent: t('Sent'),
  delivered: t('Delivered'),
  read: t('Read'),
  failed: t('Not delivered'),
};

const SENDER_LABELS = {
  customer: t('Customer'),
  agent: t('Agent'),
  bot: t('Bot'),
  system: t('System'),
};

export function deliveryLabel(status) {
  return DELIVERY_LABELS[status] || status;
}

/** Why a reply is not with the customer yet, in words (null when nothing is wrong). */
export function deliveryProblem(status, error) {
  if (!error) return null;
  if (status === 'failed') return t('Not delivered: {reason}', { reason: error });
  if (status === 'queued') {
    // The channel worker says "retrying: <the provider's answer>" while a provider is down.
    return t('Not sent yet, trying again: {reason}', { reason: error.replace(/^retrying:\s*/, '') });
  }
  return null;
}

/** Show a reply's delivery state: "stored" until a provider channel reports more; a failure or a
 * provider outage is spelled out under the reply, not only in a tooltip. */
export function setDelivery(li, status, error = null) {
  const el = li.querySelector('.msg-delivery');
  if (!el) return;
  el.dataset.status = status;
  el.textContent = deliveryLabel(status);
  el.title = error || '';
  li.classList.toggle('msg-undelivered', status === 'failed');
  const problem = deliveryProblem(status, error);
  let note = li.querySelector('.msg-delivery-problem');
  if (!problem) {
    note?.remove();
    return;
  }
  if (!note) {
    note = document.createElement('p');
    note.className = 'msg-delivery-problem';
    note.dataset.testid = 'delivery-problem';
    li.append(note);
  }
  note.dataset.status = status;
  note.textContent = problem;
}

/** Degrees as the server writes them: at most six decimals (about 10 cm), no trailing zeros. */
export function degrees(value) {
  const text = String(Number(Number(value).toFixed(6)));
  return text === '-0' ? '0' : text;
}

/** The place on OpenStreetMap (the server's `map_url` has the same shape). */
export function mapUrl(location) {
  const lat = degrees(location.latitude);
  const lon = degrees(location.longitude);
  return `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`;
}

/** A shared place: "📍 name, address (lat, lon)", linked to OpenStreetMap. The link is made here
 * from the numbers (never a URL from the message), and every text goes in as text. */
export function locationElement(location) {
  if (!Number.isFinite(location?.latitude) || !Number.isFinite(location?.longitude)) return null;
  const coordinates = `${degrees(location.latitude)}, ${degrees(location.longitude)}`;
  const label = [location.name, location.address].filter(Boolean).join(', ');
  const line = document.createElement('p');
  line.className = 'msg-location';
  const link = document.createElement('a');
  link.href = mapUrl(location);
  link.target = '_blank';
  link.rel = 'noopener noreferrer';
  link.dataset.testid = 'message-location';
  link.textContent = `📍 ${label ? `${label} (${coordinates})` : coordinates}`;
  link.setAttribute('aria-label', t('{place}, on OpenStreetMap (opens in a new tab)', {
    place: label || coordinates,
  }));
  line.append(link);
  return line;
}

export function messageElement(message) {
  const li = document.createElement('li');
  li.className = `msg msg-${message.sender_kind}`;
  li.dataset.testid = 'message';
  li.dataset.senderKind = message.sender_kind;
  if (message.seq !== undefined) li.dataset.seq = String(message.seq);
  if (message.id) li.dataset.messageId = message.id;
  const text = document.createElement('p');
  text.className = 'msg-text';
  text.textContent = message.text;
  if (message.sender_kind !== 'system') {
    const head = document.createElement('p');
    head.className = 'msg-meta';
    const who = document.createElement('span');
    who.className = 'msg-sender';
    who.textContent = message.sender_name || SENDER_LABELS[message.sender_kind] || '';
    const when = document.createElement('time');
    when.dateTime = message.created_at || '';
    when.textContent = message.created_at ? timeOf(message.created_at) : '';
    head.append(who, ' ', when);
    if (message.sender_kind === 'agent') {
      const delivery = document.createElement('span');
      delivery.className = 'msg-delivery';
      delivery.dataset.testid = 'delivery-state';
      head.append(' · ', delivery);
    }
    li.append(head);
  }
  if (message.text || (!message.attachments?.length && !message.location)) li.append(text);
  if (message.attachments?.length) {
    li.append(attachmentsElement(message.conversation_id, message.attachments));
  }
  const place = message.location ? locationElement(message.location) : null;
  if (place) li.append(place);
  if (message.sender_kind === 'agent') {
    const status = message.seq === undefined ? 'sending' : message.delivery_status || 'stored';
    setDelivery(li, status, message.delivery_error);
  }
  return li;
}

export function noteElement(note) {
  const li = document.createElement('li');
  li.className = 'note';
  li.dataset.testid = 'note';
  li.dataset.noteId = note.id;
  const head = document.createElement('p');
  head.className = 'note-meta';
  const who = document.createElement('span');
  who.className = 'note-author';
  who.textContent = note.author_name || t('Agent');
  const when = document.createElement('time');
  when.dateTime = note.created_at || '';
  when.textContent = note.created_at ? timeOf(note.created_at) : '';
  head.append(who, ' ', when);
  const text = document.createElement('p');
  text.className = 'note-text';
  text.textContent = note.text;
  li.append(head, text);
  return li;
}
