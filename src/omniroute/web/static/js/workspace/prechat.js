// The conversation header's pre-chat details: every key the conversation carries (name, email,
// queue, question, the survey's answers, language, offline, customer_ref…), the known ones first
// under their own names, the others under their field name made readable.

import { t } from './i18n.js';

const KNOWN = {
  name: t('Name'),
  email: t('Email'),
  queue: t('Queue'),
  question: t('Question'),
  language: t('Language'),
  offline: t('Offline message'),
  customer_ref: t('Customer reference'),
  widget: t('Widget'),
  // What a call's conversation carries (docs/VOICE.md).
  phone: t('Phone'),
  provider: t('Voice provider'),
  direction: t('Direction'),
  call_id: t('Call ID'),
  previous_call_id: t('Previous call'),
  ivr: t('IVR'),
};

const VALUES = {
  direction: { inbound: t('Inbound'), outbound: t('Outbound') },
};

const LANGUAGES = { en: t('English'), es: t('Spanish') };
const YES = t('Yes');
const NO = t('No');

/** "order_number" → "Order number": a survey question's id, readable. */
export function humanise(key) {
  const words = String(key).replace(/[_-]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').trim();
  return words ? words[0].toUpperCase() + words.slice(1).toLowerCase() : String(key);
}

function valueText(key, value) {
  if (value === true || value === 'yes') return YES;
  if (value === false || value === 'no') return NO;
  if (key === 'language' && LANGUAGES[value]) return LANGUAGES[value];
  if (VALUES[key] && VALUES[key][value]) return VALUES[key][value];
  if (Array.isArray(value)) return value.map((v) => valueText('', v)).filter(Boolean).join(', ');
  if (value && typeof value === 'object') {
    return Object.entries(value).map(([k, v]) => `${humanise(k)}: ${valueText(k, v)}`).join(', ');
  }
  return value === null || value === undefined ? '' : String(value);
}

/** [{field, label, text}] for every non-empty answer, known fields first in a fixed order. */
export function prechatRows(prechat = {}) {
  const keys = Object.keys(prechat || {});
  const known = Object.keys(KNOWN).filter((k) => keys.includes(k));
  const others = keys.filter((k) => !(k in KNOWN)).sort();
  return [...known, ...others]
    .map((field) => ({
      field, label: KNOWN[field] || humanise(field), text: valueText(field, prechat[field]),
    }))
    .filter((row) => row.text !== '');
}

export function renderPrechat(list, prechat) {
  list.replaceChildren();
  for (const row of prechatRows(prechat)) {
    const term = document.createElement('dt');
    term.textContent = row.label;
    const detail = document.createElement('dd');
    detail.textContent = row.text;
    detail.dataset.field = row.field;
    list.append(term, detail);
  }
}
