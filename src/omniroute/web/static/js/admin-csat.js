// Customer satisfaction for supervisors and admins (/admin/csat; docs/WIDGET.md, "After the chat"):
// the figures, the 1 to 5 distribution, the trend per UTC day and the latest comments for a period
// and optional queue, agent and widget, all from GET /api/v1/admin/csat/report; the CSV link is
// the same query on /api/v1/admin/csat/export. Server text (comments, names) goes in with
// textContent, never as HTML. The choice is kept in the address (?period=&from=&to=&queue=…), so
// a view can be shared or reloaded.

const { api, t, $, make, showError, clearError, announce } = await import(
  document.querySelector('meta[name="omniroute-admin"]').content
);

const DAY_MS = 86400000;
const MAX_DAYS = 366; // the API's bound (csat_report.MAX_REPORT_DAYS)
const PRESETS = ['7', '30', '90'];
const COMMENTS_SHOWN = 50;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const FILTERS = [['queue', 'csat-queue', 'queue_id'], ['agent', 'csat-agent', 'agent_id'],
  ['widget', 'csat-widget', 'widget_id']];

const locale = document.documentElement.lang || 'en';
const decimal = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat(locale, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });
const whole = new Intl.NumberFormat(locale);
const when = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });

const isoDay = (date) => date.toISOString().slice(0, 10);
const average = (value) => (value === null ? '—' : t('{average} / 5', { average: decimal.format(value) }));
const share = (value) => (value === null ? '—' : percent.format(value));

/** The days a preset covers: the last `days` UTC days, today included. */
function presetDays(days) {
  const today = new Date();
  return { from: isoDay(new Date(today.getTime() - (Number(days) - 1) * DAY_MS)), to: isoDay(today) };
}

function readAddress() {
  const params = new URLSearchParams(location.search);
  const chosen = { period: params.get('period') || '7' };
  if (chosen.period === 'custom' && DAY.test(params.get('from') || '') && DAY.test(params.get('to') || '')) {
    Object.assign(chosen, { from: params.get('from'), to: params.get('to') });
  } else {
    if (!PRESETS.includes(chosen.period)) chosen.period = '7';
    Object.assign(chosen, presetDays(chosen.period));
  }
  for (const [key] of FILTERS) chosen[key] = params.get(key) || '';
  return chosen;
}

function readForm() {
  const chosen = { period: $('csat-period').value, from: $('csat-from').value, to: $('csat-to').value };
  for (const [key, id] of FILTERS) chosen[key] = $(id).value;
  return chosen;
}

function writeAddress(chosen) {
  const params = new URLSearchParams({ period: chosen.period });
  if (chosen.period === 'custom') {
    params.set('from', chosen.from);
    params.set('to', chosen.to);
  }
  for (const [key] of FILTERS) if (chosen[key]) params.set(key, chosen[key]);
  history.replaceState(null, '', `?${params}`);
}

/** The API query for a choice, or a reason it cannot be asked (the server checks it again). */
function queryFor(chosen) {
  if (!DAY.test(chosen.from) || !DAY.test(chosen.to)) return { problem: t('Choose a start day and an end day.') };
  const since = new Date(`${chosen.from}T00:00:00Z`);
  const until = new Date(new Date(`${chosen.to}T00:00:00Z`).getTime() + DAY_MS);
  if (until <= since) return { problem: t('Choose a start day on or before the end day.') };
  if (until - since > MAX_DAYS * DAY_MS) return { problem: t('Choose at most {days} days.', { days: MAX_DAYS }) };
  const query = new URLSearchParams({ since: since.toISOString(), until: until.toISOString() });
  for (const [key, , param] of FILTERS) if (chosen[key]) query.set(param, chosen[key]);
  return { query };
}

function cell(text, props = {}) {
  return make('td', { textContent: text === null || text === undefined ? '—' : String(text), ...props });
}

function bar(fraction) {
  const span = make('span', { className: 'csat-bar' });
  span.style.width = `${Math.round((fraction || 0) * 100)}%`;
  return make('td', { className: 'csat-bar-cell', attrs: { 'aria-hidden': 'true' },
    dataset: { empty: String(!fraction) } }, span);
}

function emptyRow(body, columns, text) {
  body.replaceChildren(make('tr', {}, make('td', { colSpan: columns, className: 'muted', textContent: text })));
}

function renderTotals(report) {
  const rows = [
    [t('Responses'), whole.format(report.responses), 'responses'],
    [t('Average score'), average(report.average), 'average'],
    [t('CSAT (4 and 5)'), share(report.csat_rate), 'csat'],
    [t('Satisfied (4 and 5)'), whole.format(report.satisfied), 'satisfied'],
  ];
  $('csat-totals').replaceChildren(...rows.flatMap(([label, value, field]) => [
    make('dt', { textContent: label }),
    make('dd', { textContent: value, dataset: { field } }),
  ]));
}

function renderDistribution(report) {
  const rows = [5, 4, 3, 2, 1].map((score) => {
    const count = report.distribution[score] || 0;
    const fraction = report.responses ? count / report.responses : null;
    return make('tr', { dataset: { score: String(score), testid: 'csat-score-row' } },
      make('th', { scope: 'row', className: 'csat-score', textContent: `${score} ★` }),
      cell(whole.format(count), { className: 'csat-number', dataset: { field: 'count' } }),
      cell(share(fraction), { className: 'csat-number', dataset: { field: 'share' } }),
      bar(fraction));
  });
  $('csat-distribution').replaceChildren(...rows);
}

function renderDays(report) {
  const rows = report.by_day.map((day) => make(
    'tr', { dataset: { day: day.day, testid: 'csat-day-row', empty: String(!day.responses) } },
    make('th', { scope: 'row', className: 'csat-number', textContent: day.day }),
    cell(whole.format(day.responses), { className: 'csat-number', dataset: { field: 'responses' } }),
    cell(average(day.average), { className: 'csat-number', dataset: { field: 'average' } }),
    cell(share(day.csat_rate), { className: 'csat-number', dataset: { field: 'csat' } }),
    bar(day.csat_rate),
  ));
  $('csat-days').replaceChildren(...rows);
}

function renderComments(report) {
  const body = $('csat-comments');
  if (!report.comments.length) {
    emptyRow(body, 6, t('No comments in this period.'));
    return;
  }
  body.replaceChildren(...report.comments.map((c) => make(
    'tr', { dataset: { testid: 'csat-comment-row', conversation: c.conversation_id } },
    cell(when.format(new Date(c.submitted_at)), { className: 'csat-number' }),
    cell(`${c.rating} ★`, { className: 'csat-score', dataset: { field: 'rating' },
      attrs: { 'aria-label': t('{score} of 5', { score: c.rating }) } }),
    cell(c.comment, { className: 'csat-comment', dataset: { field: 'comment' } }),
    cell(c.agent_name || (c.agent_id ? c.agent_id : t('No agent')), { dataset: { field: 'agent' } }),
    cell(c.queue_name || c.queue_id, { dataset: { field: 'queue' } }),
    cell(c.conversation_id, { className: 'admin-mono', dataset: { field: 'conversation' } }),
  )));
}

function fillSelect(id, items, selected) {
  const select = $(id);
  select.append(...items.map(([value, label]) => make('option', { value, textContent: label })));
  // A filter from an old link that names nothing here is dropped rather than shown as "all".
  select.value = items.some(([value]) => value === selected) ? selected : '';
}

async function loadChoices(chosen) {
  const [queues, users, widgets] = await Promise.all([
    api.get('/api/v1/queues'),
    api.get('/api/v1/admin/users'),
    api.get('/api/v1/admin/widgets'),
  ]);
  const byName = (a, b) => a[1].localeCompare(b[1], locale);
  fillSelect('csat-queue', queues.map((q) => [q.id, q.name]).sort(byName), chosen.queue);
  fillSelect('csat-agent', users.map((u) => [u.id, u.display_name]).sort(byName), chosen.agent);
  fillSelect('csat-widget', widgets.map((w) => [w.id, w.name]).sort(byName), chosen.widget);
}

async function show(chosen) {
  const error = $('csat-error');
  clearError(error);
  const { query, problem } = queryFor(chosen);
  if (problem) {
    showError(error, problem);
    return;
  }
  $('csat-export').href = `/api/v1/admin/csat/export?${query}`;
  try {
    const report = await api.get(`/api/v1/admin/csat/report?${query}&comments=${COMMENTS_SHOWN}`);
    renderTotals(report);
    renderDistribution(report);
    renderDays(report);
    renderComments(report);
    announce($('csat-status'), t('{count} ratings from {from} to {to}.',
      { count: report.responses, from: chosen.from, to: chosen.to }));
  } catch (failure) {
    showError(error, failure);
  }
}

function setForm(chosen) {
  $('csat-period').value = chosen.period;
  $('csat-from').value = chosen.from;
  $('csat-to').value = chosen.to;
}

const chosen = readAddress();
setForm(chosen);
try {
  await loadChoices(chosen);
} catch (failure) {
  showError($('csat-error'), failure);
}

$('csat-period').addEventListener('change', () => {
  const period = $('csat-period').value;
  if (PRESETS.includes(period)) setForm({ period, ...presetDays(period) });
  else $('csat-from').focus();
});
for (const id of ['csat-from', 'csat-to']) {
  $(id).addEventListener('input', () => {
    $('csat-period').value = 'custom';
  });
}
$('csat-filter').addEventListener('submit', (event) => {
  event.preventDefault();
  const now = readForm();
  writeAddress(now);
  show(now);
});

await show(readForm());
$('csat-admin').dataset.ready = 'true';
