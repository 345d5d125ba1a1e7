// The bots' flow editor (/admin/bots/flows, docs/BOTS.md "Editing flows in the admin pages"):
// pick a bot, list its flows, open one as YAML, validate, save (with the version it was read at,
// so a concurrent change gives 409 instead of being overwritten), create and delete. Problems
// come back located (line, column, path); clicking one puts the caret on that line.
// Admins edit; supervisors read (the API enforces it, the page mirrors it). Server text goes in
// with textContent, never as HTML. UI text comes from the page's gettext catalogue through t().

const { api, meta, t, $, enc, errorText, show, announce } = await import(
  document.querySelector('meta[name="omniroute-admin"]').content
);

const canEdit = $('bot-flows').dataset.canEdit === 'true';
const INDENT = '  ';
const FLOW_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const NEW_FLOW = `id: new_topic_en
language: en
trigger:
  intent: new_topic
  phrases: [first example phrase, second example phrase]
steps:
  - say: Hello!
`;

const state = { bots: [], botId: '', flows: [], editing: null, dirty: false };

const say = (text) => announce($('flows-status'), text);

/** A write that keeps the body of a 422/409 (ApiClient keeps only ``detail``). */
async function send(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: {
        Accept: 'application/json',
        'Content-Type': 'application/json',
        'X-CSRF-Token': meta('csrf-token'),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    return { status: 0, data: { detail: t('The server could not be reached.') } };
  }
  if (response.status === 401) location.assign('/login?next=/admin/bots/flows');
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  return { status: response.status, data };
}

function detailOf(data, status) {
  if (data && typeof data.detail === 'string') return data.detail;
  return t('The request failed ({status}).', { status });
}

// -- the address: ?bot=&flow= ----------------------------------------------------------------------

function remember() {
  const params = new URLSearchParams();
  if (state.botId) params.set('bot', state.botId);
  if (state.editing && !state.editing.isNew) params.set('flow', state.editing.flowId);
  history.replaceState(null, '', `${location.pathname}?${params}`);
}

// -- bots and their flows ---------------------------------------------------------------------------

async function loadBots() {
  try {
    state.bots = await api.get('/api/v1/bots');
  } catch (error) {
    show($('load-error'), errorText(error));
    return;
  }
  const select = $('flows-bot');
  select.replaceChildren();
  for (const bot of state.bots) {
    const option = document.createElement('option');
    option.value = bot.id;
    option.textContent = bot.settings.name ? `${bot.settings.name} (${bot.id})` : bot.id;
    select.append(option);
  }
  if (!state.bots.length) {
    show($('load-error'), t('There are no bots yet. Create one with PUT /api/v1/bots/{id} (docs/BOTS.md).'));
    return;
  }
  const params = new URLSearchParams(location.search);
  const wanted = params.get('bot');
  state.botId = state.bots.some((b) => b.id === wanted) ? wanted : state.bots[0].id;
  select.value = state.botId;
  await loadFlows(params.get('flow'));
}

async function loadFlows(open) {
  try {
    state.flows = await api.get(`/api/v1/bots/${enc(state.botId)}/flows`);
  } catch (error) {
    show($('load-error'), errorText(error));
    return;
  }
  show($('load-error'), '');
  renderFlows();
  const found = open && state.flows.find((f) => f.flow_id === open);
  if (found) openFlow(found);
  remember();
}

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text === null || text === undefined || text === '' ? '—' : String(text);
  return td;
}

function renderFlows() {
  const rows = $('flows-rows');
  rows.replaceChildren();
  for (const flow of state.flows) {
    const tr = document.createElement('tr');
    tr.dataset.flowId = flow.flow_id;
    const id = document.createElement('th');
    id.scope = 'row';
    id.className = 'admin-mono';
    id.textContent = flow.flow_id;
    const starts = flow.system ? t('System: {name}', { name: flow.system }) : (flow.intent ? t('Intent: {name}', { name: flow.intent }) : '');
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'button button-small';
    open.textContent = canEdit ? t('Edit') : t('View');
    open.dataset.testid = `flow-open-${flow.flow_id}`;
    open.setAttribute('aria-label', t('Open flow {id}', { id: flow.flow_id }));
    open.addEventListener('click', () => {
      if (leaveOk()) openFlow(flow);
    });
    const actions = document.createElement('td');
    actions.append(open);
    tr.append(id, cell(flow.language), cell(flow.name), cell(starts), cell(flow.version), actions);
    if (state.editing && !state.editing.isNew && state.editing.flowId === flow.flow_id) {
      tr.setAttribute('aria-current', 'true');
    }
    rows.append(tr);
  }
  $('flows-empty').hidden = state.flows.length > 0;
}

// -- the editor -------------------------------------------------------------------------------------

function leaveOk() {
  return !state.dirty || window.confirm(t('Discard the changes to this flow?'));
}

function clearMessages() {
  show($('flow-error'), '');
  $('flow-problems').replaceChildren();
  $('flow-problems-box').hidden = true;
  $('flow-conflict').hidden = true;
  show($('flow-ok'), '');
  $('flow-source').removeAttribute('aria-invalid');
}

function openEditor({ flowId, version, source, isNew }) {
  state.editing = { flowId, version, isNew };
  state.dirty = false;
  clearMessages();
  $('flow-editor-card').hidden = false;
  $('flow-editor-heading').textContent = isNew ? t('New flow') : t('Flow {id}', { id: flowId });
  const idInput = $('flow-id');
  idInput.value = flowId;
  idInput.readOnly = !isNew || !canEdit;
  $('flow-source').value = source;
  const del = $('flow-delete');
  if (del) del.hidden = isNew;
  renderFlows();
  remember();
}

function openFlow(flow) {
  openEditor({ flowId: flow.flow_id, version: flow.version, source: flow.source, isNew: false });
  $('flow-source').focus();
}

function newFlow() {
  if (!leaveOk()) return;
  openEditor({ flowId: 'new_topic_en', version: 0, source: NEW_FLOW, isNew: true });
  $('flow-id').focus();
  $('flow-id').select();
}

/** The caret to the start of ``line`` (1-based), at ``column`` when given, and into view. */
function goToLine(line, column) {
  const area = $('flow-source');
  const lines = area.value.split('\n');
  const index = Math.min(Math.max(line, 1), lines.length) - 1;
  let offset = 0;
  for (let i = 0; i < index; i += 1) offset += lines[i].length + 1;
  offset += Math.min(Math.max((column || 1) - 1, 0), lines[index].length);
  area.focus();
  area.setSelectionRange(offset, offset);
  const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
  area.scrollTop = Math.max(0, index * lineHeight - area.clientHeight / 3);
}

function problemText(problem) {
  const where = problem.path ? `${problem.path}: ${problem.message}` : problem.message;
  const other = problem.flow_id && state.editing && problem.flow_id !== state.editing.flowId
    ? t('in flow {id}: ', { id: problem.flow_id }) : '';
  if (problem.line) {
    return t('Line {line}, column {column}: {problem}', {
      line: problem.line, column: problem.column || 1, problem: other + where,
    });
  }
  return other + where;
}

function showProblems(data, status) {
  clearMessages();
  const problems = (data && Array.isArray(data.errors)) ? data.errors : [];
  show($('flow-error'), problems.length
    ? t('The flow has {count} problem(s). Select one to go to its line.', { count: problems.length })
    : detailOf(data, status));
  const list = $('flow-problems');
  for (const problem of problems) {
    const li = document.createElement('li');
    const own = !problem.flow_id || !state.editing || problem.flow_id === state.editing.flowId;
    if (problem.line && own) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'button button-small button-quiet';
      b.textContent = problemText(problem);
      b.dataset.testid = 'flow-problem';
      b.dataset.line = String(problem.line);
      b.addEventListener('click', () => goToLine(problem.line, problem.column));
      li.append(b);
    } else {
      li.textContent = problemText(problem);
      li.dataset.testid = 'flow-problem';
    }
    list.append(li);
  }
  $('flow-problems-box').hidden = false;
  $('flow-source').setAttribute('aria-invalid', 'true');
}

function currentId() {
  const typed = $('flow-id').value.trim();
  if (typed) return typed;
  const match = /^id:\s*["']?([^"'\s#]+)/m.exec($('flow-source').value);
  return match ? match[1] : '';
}

function checkId(flowId) {
  if (FLOW_ID.test(flowId)) return true;
  clearMessages();
  show($('flow-error'), t('A flow id is 1 to 63 lower-case letters, digits, - or _, and matches the id: line.'));
  $('flow-problems-box').hidden = false;
  $('flow-id').focus();
  return false;
}

async function validate() {
  const flowId = currentId();
  if (!checkId(flowId)) return;
  const { status, data } = await send(
    'POST', `/api/v1/bots/${enc(state.botId)}/flows/${enc(flowId)}/validate`, { source: $('flow-source').value },
  );
  if (status === 200) {
    clearMessages();
    show($('flow-ok'), t('No problems found. The flow is not saved yet.'));
    say(t('No problems found.'));
  } else {
    showProblems(data, status);
    say(t('The flow has problems.'));
  }
}

async function save() {
  const flowId = currentId();
  if (!checkId(flowId)) return;
  const { status, data } = await send('PUT', `/api/v1/bots/${enc(state.botId)}/flows/${enc(flowId)}`, {
    source: $('flow-source').value,
    expected_version: state.editing.version,
  });
  if (status === 200) {
    clearMessages();
    state.editing = { flowId: data.flow_id, version: data.version, isNew: false };
    state.dirty = false;
    $('flow-id').readOnly = true;
    $('flow-editor-heading').textContent = t('Flow {id}', { id: data.flow_id });
    $('flow-delete').hidden = false;
    show($('flow-ok'), t('Saved: version {version}.', { version: data.version }));
    say(t('Saved: version {version}.', { version: data.version }));
    await loadFlows(null);
  } else if (status === 409) {
    clearMessages();
    $('flow-conflict-text').textContent = `${detailOf(data, status)} ${t('Your text is still in the editor: copy it before loading the latest version.')}`;
    $('flow-conflict').hidden = false;
  } else {
    showProblems(data, status);
  }
}

async function reloadLatest() {
  const { flowId } = state.editing;
  try {
    const flow = await api.get(`/api/v1/bots/${enc(state.botId)}/flows/${enc(flowId)}`);
    state.dirty = false;
    openFlow(flow);
  } catch (error) {
    show($('flow-error'), errorText(error));
    $('flow-problems-box').hidden = false;
  }
}

async function remove() {
  const { flowId } = state.editing;
  if (!window.confirm(t('Delete flow {id}? The bot stops using it at once.', { id: flowId }))) return;
  const { status, data } = await send('DELETE', `/api/v1/bots/${enc(state.botId)}/flows/${enc(flowId)}`);
  if (status !== 204) {
    showProblems(data, status);
    return;
  }
  state.editing = null;
  state.dirty = false;
  $('flow-editor-card').hidden = true;
  say(t('Flow {id} deleted.', { id: flowId }));
  await loadFlows(null);
}

/** Tab indents (two spaces) instead of leaving the field; after Escape, Tab moves on as usual. */
let tabLeaves = false;
function onKey(event) {
  if (event.key === 'Escape') {
    tabLeaves = true;
    return;
  }
  if (event.key !== 'Tab' || tabLeaves || event.ctrlKey || event.altKey || event.metaKey) {
    tabLeaves = false;
    return;
  }
  event.preventDefault();
  const area = event.target;
  const { selectionStart: start, selectionEnd: end, value } = area;
  const lineStart = value.lastIndexOf('\n', start - 1) + 1;
  if (event.shiftKey) {
    if (value.startsWith(INDENT, lineStart)) {
      area.setRangeText('', lineStart, lineStart + INDENT.length, 'preserve');
      area.setSelectionRange(Math.max(lineStart, start - INDENT.length), Math.max(lineStart, end - INDENT.length));
    }
  } else {
    area.setRangeText(INDENT, start, end, 'end');
  }
  state.dirty = true;
}

// -- wiring -----------------------------------------------------------------------------------------

$('flows-bot').addEventListener('change', async (event) => {
  if (!leaveOk()) {
    event.target.value = state.botId;
    return;
  }
  state.botId = event.target.value;
  state.editing = null;
  state.dirty = false;
  $('flow-editor-card').hidden = true;
  await loadFlows(null);
});
$('flow-conflict-reload').addEventListener('click', reloadLatest);
if (canEdit) {
  $('flow-new').addEventListener('click', newFlow);
  $('flow-validate').addEventListener('click', validate);
  $('flow-save').addEventListener('click', save);
  $('flow-delete').addEventListener('click', remove);
  $('flow-source').addEventListener('keydown', onKey);
  $('flow-source').addEventListener('input', () => {
    state.dirty = true;
  });
}

await loadBots();
$('bot-flows').dataset.ready = 'true';
