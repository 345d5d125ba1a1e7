// Offer notification templates: "{customerName} in {queue}" and friends.
//
// Slugs: {customerName}, {queue}, {channel}, {preview}, and every pre-chat answer by its field
// name, either bare ({email}) or qualified ({prechat.email}) when a field shares a name with a
// built-in slug. An unknown slug renders as nothing: a toast is no place for template syntax.

import { channelLabel } from './labels.js';

export const BUILT_IN_SLUGS = ['customerName', 'queue', 'channel', 'preview'];

/** The values an offer provides to a template. */
export function slugValues(offer) {
  const prechat = (offer && offer.prechat) || {};
  const values = {};
  for (const [key, value] of Object.entries(prechat)) {
    if (value === null || value === undefined || typeof value === 'object') continue;
    values[key] = String(value);
    values[`prechat.${key}`] = String(value);
  }
  values.customerName = offer.customer_name || prechat.name || '';
  values.queue = offer.queue_name || '';
  values.channel = channelLabel(offer.channel);
  values.preview = offer.preview || '';
  return values;
}

export function renderTemplate(template, offer) {
  const values = slugValues(offer);
  return String(template)
    .replace(/\{([\w.-]+)\}/g, (whole, key) =>
      Object.prototype.hasOwnProperty.call(values, key) ? values[key] : '',
    )
    .replace(/[ \t]{2,}/g, ' ')
    .trim();
}
