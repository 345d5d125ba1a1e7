// A conversation a bot answered first (docs/BOTS.md): why it handed off, what it learned (topic,
// variables, language, mood, the customer's last phrases), its summary, and the bot transcript —
// from GET /api/v1/conversations/{id}/bot. Every value is set as text, never as HTML.

import { ApiError } from '../omniroute-client.js';
import { el, path, timeOf } from './dom.js';
import { t } from './i18n.js';

const REASONS = {
  requested: t('The customer asked for a person'),
  fallbacks: t('The bot did not understand several times in a row'),
  negative_sentiment: t('The customer seems upset'),
  retries_exceeded: t('The bot could not understand an answer it needed'),
  no_answer: t('The help articles had no answer and the customer accepted a person'),
  action_failed: t('An action the bot called failed'),
  bot_error: t('The bot failed'),
  bot_timeout: t('The bot did not answer in time'),
  flow_loop: t('A bot flow went round in circles'),
  external: t('The external bot handed off'),
  supervisor: t('A supervisor took the conversation from the bot'),
};
const MOODS = { negative: t('Negative'), neutral: t('Neutral'), positive: t('Positive'), unknown: t('Unknown') };
const LANGUAGES = { en: t('English'), es: t('Spanish') };
const PAGE_SIZE = 500;

function reasonText(context) {
  const reason = String(context.reason || '');
  if (REASONS[reason]) return REASONS[reason];
  if (reason.startsWith('rule:')) return t('Escalation rule “{name}”', { name: reason.slice(5) });
  return context.reason_text || reason;
}

function valueText(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** [{field, label, text}] for a hand-off context, leaving out what it does not have. */
export function botFacts(context = {}) {
  const rows = [
    ['reason', t('Why'), reasonText(context)],
    ['last_topic', t('Last topic'), context.last_topic],
    ['topics', t('Topics'), (context.topics || []).join(', ')],
    ['language', t('Language'), LANGUAGES[context.language] || context.language],
    ['mood', t('Mood'), context.mood && (MOODS[context.mood] || context.mood)
      + (typeof context.sentiment === 'number' ? ` (${context.sentiment.toFixed(2)})` : '')],
    ['turns', t('Customer messages'), context.turns],
  ];
  for (const [name, value] of Object.entries(context.variables || {})) {
    rows.push([`variables.${name}`, name, valueText(value)]);
  }
  return rows
    .map(([field, label, text]) => ({ field, label, text: valueText(text) }))
    .filter((row) => row.text !== '');
}

export class BotContextPanel {
  /** @param {import('./conversation.js').ConversationView} view */
  constructor(view) {
    this.view = view;
    this.root = view.q('.bot-context');
    this.session = null;
    const title = this.root.querySelector('.bot-context-title');
    title.id = `bot-context-title-${view.id}`;
    this.root.setAttribute('aria-labelledby', title.id);
  }

  async load() {
    const { features, api } = this.view.desk;
    if (!features.has('bot')) {
      this.root.hidden = true;
      return;
    }
    let session;
    try {
      session = await api.get(path`/api/v1/conversations/${this.view.id}/bot`);
    } catch (error) {
      // 404 "no bot took part" is most conversations: nothing to show.
      const expected = features.noteFailure('bot', error)
        || (error instanceof ApiError && error.status === 404);
      this.root.hidden = expected || !this.session;
      return;
    }
    this.session = session;
    this.render(session, await this.botMessages(session));
  }

  /** The messages of the bot's part: everything up to the hand-off (or all, while it holds). */
  async botMessages(session) {
    const { api } = this.view.desk;
    const until = session.ended_at ? Date.parse(session.ended_at) : Infinity;
    const found = [];
    for (let after = 0; ;) {
      let batch;
      try {
        batch = await api.get(
          `${path`/api/v1/conversations/${this.view.id}/messages`}?after_seq=${after}&limit=${PAGE_SIZE}`,
        );
      } catch {
        return found;
      }
      for (const m of batch) if (Date.parse(m.created_at) <= until) found.push(m);
      if (batch.length < PAGE_SIZE || Date.parse(batch[batch.length - 1].created_at) > until) break;
      after = batch[batch.length - 1].seq;
    }
    return found;
  }

  render(session, messages) {
    const context = session.context || {};
    const q = (selector) => this.root.querySelector(selector);
    const bot = context.bot || session.bot_id;
    q('.bot-context-title').textContent = session.status === 'active'
      ? t('The bot {name} is answering this customer', { name: bot })
      : t('Handed off by the bot {name}', { name: bot });
    const summary = q('.bot-context-summary');
    summary.textContent = context.summary || '';
    summary.hidden = !context.summary;
    const facts = botFacts(context);
    q('.bot-context-facts').replaceChildren(...facts.flatMap((row) => [
      el('dt', {}, row.label), el('dd', { dataset: { field: row.field } }, row.text),
    ]));
    const phrases = context.last_phrases || [];
    q('.bot-context-phrases').replaceChildren(...phrases.map((p) => el('li', {}, String(p))));
    q('.bot-context-phrases-block').hidden = phrases.length === 0;
    q('.bot-transcript-count').textContent = t('{count} messages', { count: messages.length });
    q('.bot-transcript-list').replaceChildren(...messages.map((m) => el(
      'li',
      { className: `bot-line bot-line-${m.sender_kind}`, dataset: { senderKind: m.sender_kind } },
      el('span', { className: 'bot-line-meta' },
        `${m.sender_name || m.sender_kind} · ${timeOf(m.created_at)}`),
      el('span', { className: 'bot-line-text' }, m.text),
    )));
    this.root.hidden = false;
  }
}
