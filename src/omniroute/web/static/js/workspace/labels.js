// Names of things the server sends as ids (channels), in the page's language.

import { t } from './i18n.js';

export const CHANNEL_LABELS = {
  webchat: t('Web chat'),
  sms: t('SMS'),
  whatsapp: t('WhatsApp'),
  messenger: t('Messenger'),
  telegram: t('Telegram'),
  teams: t('Teams'),
  email: t('Email'),
  // An email sender whose address the receiving server did not authenticate (docs/channels/email.md).
  'email-unverified': t('Email (sender not verified)'),
  voice: t('Voice call'),
  custom: t('Custom channel'),
};

/** A channel's name for people; a channel this page does not know shows its id. */
export function channelLabel(channel) {
  return CHANNEL_LABELS[channel] || channel || '';
}

/** Conversation states, as agents call them. */
export const STATE_LABELS = {
  open: t('Queued'),
  active: t('Active'),
  waiting: t('On hold'),
  wrap_up: t('Wrap-up'),
  closed: t('Closed'),
};
