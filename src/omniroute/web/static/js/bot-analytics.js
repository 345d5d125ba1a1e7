// Bot analytics for supervisors (docs/BOTS.md, "Reading bot analytics"): totals, hand-off
// reasons, per bot and per day for a period, and the latest sessions. Everything comes from
// GET /api/v1/bots/analytics and /api/v1/bots/sessions; server text is set with textContent.
// The period and bot are kept in the address (?bot=&from=&to=), so a view can be shared.

const { api, $, showError: showErrorIn } = await import(
  document.querySelector('meta[name="omniroute-admin"]').content
);

const DAY_MS = 86400000;
const SESSIONS_SHOWN = 50;
const OUTCOMES = { resolved: 'Resolved', escalated: 'Escalated', abandoned: 'Abandoned' };
const REASONS = {
  requested: 'The customer asked for a person',
  fallbacks: 'Not understood several times in a row',
  negative_sentiment: 'The customer seemed upset',
  retries_exceeded: 'An answer it needed was not understood',
  no_answer: 'No help article answered; the customer accepted a person',
  action_failed: 'An HTTP action failed',
  bot_error: 'The bot failed',
  bot_timeout: 'The bot did not answer in time',
  flow_loop: 'A flow went round in circles',
  external: 'The external bot handed off',
  supervisor: 'A supervisor took the conversation',
};

function cell(text, { header = false } = {}) {
  const td = document.createElement(header ? 'th' : 'td');
  if (header) td.scope = 'row';
  td.textContent = text === null || text === undefined ? '—' : String(text);
  return td;
}

function percent(rate) {
  return rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1)} %`;
}

function csat(figures) {
  if (!figures.csat_responses) return '—';
  return `${figures.csat_average.toFixed(2)} / 5 (${figures.csat_responses})`;
}

function reasonText(reason) {
  if (REASONS[reason]) return `${REASONS[reason]} (${reason})`;
  if (reason.startsWith('rule:')) return `Escalation rule “${reason.slice(5)}”`;
  return reason;
}

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function readFilters() {
  const params = new URLSearchParams(location.search);
  const today = new Date();
  const day = /^\d{4}-\d{2}-\d{2}$/;
  const to = day.test(params.get('to') || '') ? params.get('to') : isoDay(today);
  const from = day.test(params.get('from') || '') ? params.get('from') : isoDay(new Date(today - 6 * DAY_MS));
  return { bot: params.get('bot') || '', from, to };
}

function showError(error) {
  showErrorIn($('bot-error'), error);
}

function figureRows(figures) {
  return [
    ['Sessions', figures.sessions, 'sessions'],
    ['Still with the bot', figures.active, 'active'],
    ['Resolved by the bot', figures.resolved, 'resolved'],
    ['Escalated to a person', figures.escalated, 'escalated'],
    ['Abandoned', figures.abandoned, 'abandoned'],
    ['Containment', percent(figures.containment_rate), 'containment_rate'],
    ['Escalation rate', percent(figures.escalation_rate), 'escalation_rate'],
    ['Abandon rate', percent(figures.abandon_rate), 'abandon_rate'],
    ['CSAT, bot-only conversations', csat(figures), 'csat'],
  ];
}

function renderTotals(figures) {
  const list = $('bot-totals');
  list.replaceChildren();
  for (const [label, value, field] of figureRows(figures)) {
    const term = document.createElement('dt');
    term.textContent = label;
    const detail = document.createElement('dd');
    detail.textContent = String(value);
    detail.dataset.field = field;
    list.append(term, detail);
  }
}

function emptyRow(body, columns, text) {
  const row = document.createElement('tr');
  const td = cell(text);
  td.colSpan = columns;
  td.className = 'muted';
  row.append(td);
  body.replaceChildren(row);
}

function renderReasons(figures) {
  const body = $('bot-reasons');
  const entries = Object.entries(figures.escalation_reasons);
  if (!entries.length) {
    emptyRow(body, 3, 'No hand-offs in this period.');
    return;
  }
  body.replaceChildren(...entries.map(([reason, count]) => {
    const row = document.createElement('tr');
    row.dataset.reason = reason;
    row.append(cell(reasonText(reason), { header: true }), cell(count),
      cell(percent(figures.escalated ? count / figures.escalated : null)));
    return row;
  }));
}

function renderBreakdown(bodyId, groups, empty) {
  const body = $(bodyId);
  const entries = Object.entries(groups);
  if (!entries.length) {
    emptyRow(body, 8, empty);
    return;
  }
  body.replaceChildren(...entries.map(([key, f]) => {
    const row = document.createElement('tr');
    row.dataset.key = key;
    row.append(cell(key, { header: true }), cell(f.sessions), cell(f.resolved), cell(f.escalated),
      cell(f.abandoned), cell(f.active), cell(percent(f.containment_rate)), cell(csat(f)));
    return row;
  }));
}

function renderSessions(sessions) {
  const body = $('bot-sessions');
  if (!sessions.length) {
    emptyRow(body, 7, 'No sessions in this period.');
    return;
  }
  body.replaceChildren(...sessions.map((s) => {
    const row = document.createElement('tr');
    const outcome = s.status === 'active' ? 'With the bot' : OUTCOMES[s.outcome] || s.outcome;
    row.append(cell(new Date(s.started_at).toLocaleString()), cell(s.bot_id), cell(outcome),
      cell(s.reason ? reasonText(s.reason) : ''), cell(s.topics.join(', ')), cell(s.turns),
      cell(s.conversation_id));
    return row;
  }));
}

async function loadBots(selected) {
  const select = $('bot-select');
  try {
    const bots = await api.get('/api/v1/bots');
    for (const bot of bots) {
      const option = document.createElement('option');
      option.value = bot.id;
      option.textContent = bot.settings.name ? `${bot.settings.name} (${bot.id})` : bot.id;
      select.append(option);
    }
  } catch (error) {
    showError(error);
  }
  select.value = selected;
}

async function show(filters) {
  $('bot-error').hidden = true;
  const from = new Date(`${filters.from}T00:00:00Z`);
  const until = new Date(new Date(`${filters.to}T00:00:00Z`).getTime() + DAY_MS);
  if (Number.isNaN(from.getTime()) || Number.isNaN(until.getTime()) || until <= from) {
    showError('Choose a start day on or before the end day.');
    return;
  }
  const query = new URLSearchParams({ since: from.toISOString(), until: until.toISOString() });
  if (filters.bot) query.set('bot_id', filters.bot);
  try {
    const [figures, sessions] = await Promise.all([
      api.get(`/api/v1/bots/analytics?${query}`),
      api.get(`/api/v1/bots/sessions?${query}&limit=${SESSIONS_SHOWN}`),
    ]);
    renderTotals(figures);
    renderReasons(figures);
    renderBreakdown('bot-per-bot', figures.by_bot, 'No bot met a customer in this period.');
    renderBreakdown('bot-per-day', figures.by_day, 'No sessions in this period.');
    renderSessions(sessions);
    const status = $('bot-status');
    status.textContent = '';
    status.textContent = `${figures.sessions} sessions from ${filters.from} to ${filters.to}.`;
  } catch (error) {
    showError(error);
  }
}

const filters = readFilters();
$('bot-from').value = filters.from;
$('bot-to').value = filters.to;
await loadBots(filters.bot);
$('bot-filter').addEventListener('submit', (event) => {
  event.preventDefault();
  const chosen = { bot: $('bot-select').value, from: $('bot-from').value, to: $('bot-to').value };
  const params = new URLSearchParams(chosen);
  if (!chosen.bot) params.delete('bot');
  history.replaceState(null, '', `?${params}`);
  show(chosen);
});
await show(filters);
