// The administration page: queues and members, agents' skills, the routing configuration and
// its versions, and routing traces.
//
// Everything comes from the admin REST API. The server enforces the rules (supervisors manage
// people, admins change configuration); this page mirrors them so nobody is offered a button
// that can only fail. All server text is written with textContent, never parsed as HTML.

// The client and the shared helpers come through their versioned URLs (from the page), like the
// workspace, so caches never mix releases.
const { api, ApiError, $, errorText, showError, clearError, announce: say } = await import(
  document.querySelector('meta[name="omniroute-admin"]').content
);

const root = document.getElementById('admin');
const IS_ADMIN = root.dataset.isAdmin === 'true';
const SELF_ID = root.dataset.userId;

const ROLE_LABELS = { agent: 'agent', supervisor: 'supervisor', admin: 'admin' };

const state = {
  /** id -> {id, display_name, email, role}; without the users API, ids we came across */
  users: new Map(),
  usersListed: true,
  /** queue id -> {queue, card, members: Set} */
  queues: new Map(),
  /** the active routing configuration as last loaded: {version, config} */
  active: null,
  /** the version the editor text started from; sent as expected_version */
  baseVersion: null,
  skillsRequest: 0,
};

// -- small helpers -------------------------------------------------------------------------

function fromTemplate(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

function when(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

function timeElement(iso) {
  const el = document.createElement('time');
  if (iso) el.dateTime = iso;
  el.textContent = when(iso);
  return el;
}

function nameOf(userId) {
  if (!userId) return '—';
  const user = state.users.get(userId);
  return user && user.display_name ? user.display_name : userId;
}

function sortedUsers() {
  return [...state.users.values()].sort((a, b) =>
    (a.display_name || a.id).localeCompare(b.display_name || b.id));
}

function rememberUser(id) {
  if (id && !state.users.has(id)) state.users.set(id, { id, display_name: '', email: '', role: '' });
}

function skillDefinitions() {
  const skills = state.active && Array.isArray(state.active.config.skills)
    ? state.active.config.skills
    : [];
  return skills.filter((s) => s && typeof s.id === 'string');
}

/** Run an async action with its button disabled, so a double click cannot send it twice. */
async function busy(button, action) {
  const wasDisabled = button.disabled;
  button.disabled = true;
  try {
    return await action();
  } finally {
    button.disabled = wasDisabled;
  }
}

// -- people --------------------------------------------------------------------------------

async function loadUsers() {
  try {
    const users = await api.get('/api/v1/admin/users');
    for (const user of users) state.users.set(user.id, user);
    state.usersListed = true;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
    // An older server without the users list: work with ids we learn from queues.
    state.usersListed = false;
    rememberUser(SELF_ID);
  }
  $('users-notice').hidden = state.usersListed;
  $('known-id-form').hidden = state.usersListed;
}

$('known-id-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('known-id');
  const id = input.value.trim();
  if (!id) return;
  rememberUser(id);
  input.value = '';
  for (const entry of state.queues.values()) renderMembers(entry);
  renderAgentPicker();
  say($('queues-status'), `Added ${id}.`);
});

// -- queues and members --------------------------------------------------------------------

async function loadQueues() {
  const queues = await api.get('/api/v1/queues');
  const members = await Promise.all(
    queues.map((q) => api.get(`/api/v1/admin/queues/${encodeURIComponent(q.id)}/members`)),
  );
  // Everyone first (without the users list, members are all we know), then the cards.
  for (const found of members) found.user_ids.forEach(rememberUser);
  queues.forEach((queue, i) => addQueue(queue, members[i].user_ids));
  $('queue-list').setAttribute('aria-busy', 'false');
  $('queues-empty').hidden = state.queues.size > 0;
}

function addQueue(queue, memberIds) {
  const card = fromTemplate('queue-template');
  card.dataset.queueId = queue.id;
  card.querySelector('[data-testid="queue-name"]').textContent = queue.name;
  const description = card.querySelector('[data-testid="queue-description"]');
  description.textContent = queue.description;
  description.hidden = !queue.description;
  const entry = { queue, card, members: new Set(memberIds) };
  state.queues.set(queue.id, entry);
  renderMembers(entry);
  card.querySelector('form').addEventListener('submit', (event) => {
    event.preventDefault();
    saveMembers(entry, event.submitter || card.querySelector('button[type="submit"]'));
  });
  // Keep the list in name order, as /api/v1/queues returns it.
  const list = $('queue-list');
  const after = [...list.children].find((li) => {
    const other = state.queues.get(li.dataset.queueId);
    return other && other.queue.name.localeCompare(queue.name) > 0;
  });
  list.insertBefore(card, after || null);
  $('queues-empty').hidden = true;
  return entry;
}

/** Checkboxes for everyone; ticks show saved members (or unsaved choices, which are kept). */
function renderMembers(entry) {
  const list = entry.card.querySelector('[data-testid="queue-members"]');
  const ticked = new Set(entry.members);
  for (const box of list.querySelectorAll('input[type="checkbox"]')) {
    if (box.checked) ticked.add(box.value);
    else ticked.delete(box.value);
  }
  list.replaceChildren();
  for (const user of sortedUsers()) {
    const item = fromTemplate('member-template');
    const box = item.querySelector('input');
    box.value = user.id;
    box.name = 'user_ids';
    box.checked = ticked.has(user.id);
    const person = item.querySelector('.admin-person');
    person.textContent = user.display_name || user.id;
    if (!user.display_name) person.classList.add('admin-mono');
    if (user.email) item.querySelector('.admin-check').title = user.email;
    item.querySelector('.admin-person-role').textContent = ROLE_LABELS[user.role] || '';
    list.append(item);
  }
  renderMemberCount(entry);
}

function renderMemberCount(entry) {
  const n = entry.members.size;
  entry.card.querySelector('[data-testid="queue-member-count"]').textContent =
    n === 0 ? 'No members' : `${n} member${n === 1 ? '' : 's'}`;
}

async function saveMembers(entry, button) {
  const { card, queue } = entry;
  const error = card.querySelector('[data-testid="queue-error"]');
  const status = card.querySelector('[data-testid="queue-status"]');
  clearError(error);
  status.textContent = '';
  const userIds = [...card.querySelectorAll('input[type="checkbox"]:checked')].map((b) => b.value);
  try {
    const saved = await busy(button, () =>
      api.put(`/api/v1/admin/queues/${encodeURIComponent(queue.id)}/members`, { user_ids: userIds }));
    entry.members = new Set(saved.user_ids);
    renderMemberCount(entry);
    say(status, 'Members saved.');
  } catch (e) {
    showError(error, e);
  }
}

if (IS_ADMIN) {
  const form = $('queue-create');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const error = $('queue-create-error');
    clearError(error);
    const name = $('queue-name').value.trim();
    const description = $('queue-description').value.trim();
    if (!name) {
      showError(error, 'Give the queue a name.');
      $('queue-name').focus();
      return;
    }
    const button = event.submitter || form.querySelector('button[type="submit"]');
    try {
      const queue = await busy(button, () => api.post('/api/v1/admin/queues', { name, description }));
      addQueue(queue, []);
      form.reset();
      say($('queues-status'), `Queue ${queue.name} created. Tick its members and save them.`);
      $('queue-name').focus();
    } catch (e) {
      showError(error, e);
      $('queue-name').focus();
    }
  });
}

// -- agents' skills ------------------------------------------------------------------------

const ROLE_GROUPS = [['agent', 'Agents'], ['supervisor', 'Supervisors'], ['admin', 'Admins']];

/** People grouped by role, agents first (they are whom skills are mostly for). */
function renderAgentPicker() {
  const select = $('skills-agent');
  const previous = select.value;
  select.replaceChildren();
  const option = (user) => {
    const el = document.createElement('option');
    el.value = user.id;
    el.textContent = user.display_name || user.id;
    return el;
  };
  const users = sortedUsers();
  const grouped = new Set();
  for (const [role, label] of ROLE_GROUPS) {
    const members = users.filter((u) => u.role === role);
    if (!members.length) continue;
    const group = document.createElement('optgroup');
    group.label = label;
    group.append(...members.map(option));
    select.append(group);
    members.forEach((u) => grouped.add(u.id));
  }
  // Without the users list roles are unknown: plain options.
  select.append(...users.filter((u) => !grouped.has(u.id)).map(option));
  if (previous && state.users.has(previous)) select.value = previous;
  else if (select.options.length) select.selectedIndex = 0;
  if (select.value !== previous) loadAgentSkills();
}

$('skills-agent').addEventListener('change', () => loadAgentSkills());

/** The selected agent's skills as inputs; skills outside the configuration are listed apart. */
async function loadAgentSkills() {
  const userId = $('skills-agent').value;
  const request = ++state.skillsRequest;
  clearError($('skills-error'));
  $('skills-status').textContent = '';
  $('skills-save').disabled = true;
  if (!userId) {
    renderSkills({});
    return;
  }
  // No typing into the previous agent's numbers while this agent's are on their way.
  $('skills-fieldset').disabled = true;
  $('skills-form').setAttribute('aria-busy', 'true');
  try {
    const found = await api.get(`/api/v1/admin/agents/${encodeURIComponent(userId)}/skills`);
    if (request !== state.skillsRequest) return; // another agent was chosen meanwhile
    renderSkills(found.skills);
  } catch (e) {
    if (request === state.skillsRequest) showError($('skills-error'), e);
  } finally {
    if (request === state.skillsRequest) $('skills-form').setAttribute('aria-busy', 'false');
  }
}

function renderSkills(current) {
  const defined = skillDefinitions();
  const rows = $('skills-rows');
  rows.replaceChildren();
  for (const skill of defined) {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    const label = document.createElement('label');
    const inputId = `skill-${skill.id}`;
    label.htmlFor = inputId;
    label.textContent = skill.name || skill.id;
    const code = document.createElement('span');
    code.className = 'muted admin-mono admin-skill-id';
    code.textContent = skill.id;
    th.append(label, ' ', code);
    const td = document.createElement('td');
    const input = document.createElement('input');
    input.type = 'number';
    input.id = inputId;
    input.min = '1';
    input.max = '10';
    input.step = '1';
    input.inputMode = 'numeric';
    input.className = 'admin-number';
    input.dataset.skill = skill.id;
    input.dataset.testid = 'skill-input';
    input.value = current[skill.id] === undefined ? '' : String(current[skill.id]);
    td.append(input);
    tr.append(th, td);
    rows.append(tr);
  }
  const known = new Set(defined.map((s) => s.id));
  const stale = Object.keys(current).filter((id) => !known.has(id));
  $('skills-table').hidden = defined.length === 0;
  $('skills-empty').hidden = defined.length > 0;
  $('skills-stale').hidden = stale.length === 0;
  $('skills-stale').textContent = stale.length
    ? `Also recorded, but no longer in the configuration (dropped when you save): ${stale.join(', ')}.`
    : '';
  $('skills-save').disabled = defined.length === 0 || !$('skills-agent').value;
  $('skills-fieldset').disabled = false;
}

$('skills-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const userId = $('skills-agent').value;
  const error = $('skills-error');
  clearError(error);
  const skills = {};
  for (const input of $('skills-rows').querySelectorAll('input[data-skill]')) {
    input.removeAttribute('aria-invalid');
    const text = input.value.trim();
    if (text === '') continue;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1 || value > 10) {
      input.setAttribute('aria-invalid', 'true');
      showError(error, 'Proficiency is a whole number from 1 to 10 (or blank for none).');
      input.focus();
      return;
    }
    skills[input.dataset.skill] = value;
  }
  try {
    const saved = await busy($('skills-save'), () =>
      api.put(`/api/v1/admin/agents/${encodeURIComponent(userId)}/skills`, { skills }));
    if ($('skills-agent').value === userId) renderSkills(saved.skills);
    say($('skills-status'), `Skills saved for ${nameOf(userId)}.`);
  } catch (e) {
    showError(error, e);
  }
});

// -- routing configuration -----------------------------------------------------------------

const editor = $('config-editor');

async function loadConfig() {
  const active = await api.get('/api/v1/admin/routing-config');
  state.active = active;
  state.baseVersion = active.version;
  editor.value = JSON.stringify(active.config, null, 2);
  editor.removeAttribute('aria-invalid');
  $('config-version').textContent = active.version === null
    ? 'No saved version (built-in defaults)'
    : `Version ${active.version}`;
  clearError($('config-error'));
  $('config-conflict').hidden = true;
}

async function loadVersions() {
  const error = $('versions-error');
  clearError(error);
  const versions = await api.get('/api/v1/admin/routing-config/versions');
  const rows = $('version-rows');
  rows.replaceChildren();
  const current = state.active ? state.active.version : null;
  for (const v of [...versions].sort((a, b) => b.version - a.version)) {
    const tr = document.createElement('tr');
    tr.dataset.testid = 'version-row';
    tr.dataset.version = String(v.version);
    const number = document.createElement('td');
    number.textContent = String(v.version);
    if (v.version === current) {
      const badge = document.createElement('span');
      badge.className = 'badge admin-current';
      badge.textContent = 'active';
      number.append(' ', badge);
    }
    const change = document.createElement('td');
    const comment = document.createElement('div');
    comment.className = 'admin-comment';
    comment.textContent = v.comment || '(no comment)';
    const byline = document.createElement('div');
    byline.className = 'muted admin-byline';
    const author = document.createElement('span');
    author.textContent = nameOf(v.created_by);
    if (v.created_by) author.title = v.created_by;
    byline.append(author, ' · ', timeElement(v.created_at));
    change.append(comment, byline);
    const actions = document.createElement('td');
    actions.className = 'admin-row-actions';
    const view = document.createElement('button');
    view.type = 'button';
    view.className = 'button admin-small';
    view.dataset.testid = 'version-view';
    view.textContent = 'View';
    view.setAttribute('aria-label', `View version ${v.version}`);
    view.addEventListener('click', () => viewVersion(v.version, view));
    const restore = document.createElement('button');
    restore.type = 'button';
    restore.className = 'button admin-small';
    restore.dataset.testid = 'version-restore';
    restore.textContent = 'Restore';
    restore.setAttribute('aria-label', `Restore version ${v.version}`);
    if (IS_ADMIN) {
      restore.addEventListener('click', () => restoreVersion(v.version, restore));
    } else {
      restore.disabled = true;
      restore.setAttribute('aria-describedby', 'config-readonly-note');
    }
    actions.append(view, restore);
    tr.append(number, change, actions);
    rows.append(tr);
  }
  $('versions-empty').hidden = versions.length > 0;
  $('versions-table').hidden = versions.length === 0;
}

async function viewVersion(number, button) {
  clearError($('versions-error'));
  try {
    const found = await busy(button, () => api.get(`/api/v1/admin/routing-config/versions/${number}`));
    $('viewer-heading').textContent = `Version ${found.version} (read-only)`;
    $('viewer-text').textContent = JSON.stringify(found.config, null, 2);
    $('version-viewer').hidden = false;
    $('viewer-heading').focus();
  } catch (e) {
    showError($('versions-error'), e);
  }
}

$('viewer-close').addEventListener('click', () => {
  $('version-viewer').hidden = true;
  $('history-heading').focus();
});

async function restoreVersion(number, button) {
  clearError($('versions-error'));
  try {
    // Restoring saves the old document as a new version, so it can itself be undone.
    const saved = await busy(button, () =>
      api.post(`/api/v1/admin/routing-config/versions/${number}/restore`));
    await reloadConfigAndHistory();
    say($('config-status'), `Restored version ${number} as version ${saved.version}.`);
  } catch (e) {
    showError($('versions-error'), e);
  }
}

async function reloadConfigAndHistory() {
  await loadConfig();
  await loadVersions();
  // Skills are defined by the configuration: the skills form follows it.
  await loadAgentSkills();
}

/** Parse the editor: the document must be a JSON object. Returns null and explains otherwise. */
function editedDocument() {
  let parsed;
  try {
    parsed = JSON.parse(editor.value);
  } catch (e) {
    return { error: `This is not valid JSON: ${e.message}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { error: 'The configuration must be a JSON object ({ … }).' };
  }
  return { document: parsed };
}

function editorProblem(text) {
  editor.setAttribute('aria-invalid', 'true');
  editor.setAttribute('aria-describedby', 'config-error config-help');
  showError($('config-error'), text);
}

async function saveConfig() {
  const status = $('config-status');
  status.textContent = '';
  clearError($('config-error'));
  $('config-conflict').hidden = true;
  editor.removeAttribute('aria-invalid');
  editor.setAttribute('aria-describedby', 'config-help');
  const { document: config, error } = editedDocument();
  if (error) {
    editorProblem(error);
    editor.focus();
    return;
  }
  const body = {
    config,
    comment: $('config-comment').value.trim(),
    // 0 = "nothing saved yet": two first saves at once must not both succeed.
    expected_version: state.baseVersion === null ? 0 : state.baseVersion,
  };
  try {
    const saved = await busy($('config-save'), () => api.put('/api/v1/admin/routing-config', body));
    $('config-comment').value = '';
    await reloadConfigAndHistory();
    say(status, `Saved as version ${saved.version}.`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) {
      $('config-conflict-text').textContent =
        `Someone else saved the configuration while you were editing (${e.message}). ` +
        'Your text is still in the editor; load the latest version to start again from it.';
      $('config-conflict').hidden = false;
      $('config-conflict-reload').focus();
    } else if (e instanceof ApiError && e.status === 422) {
      editorProblem(`The server rejected this document: ${e.message}`);
    } else {
      showError($('config-error'), e);
    }
  }
}

if (IS_ADMIN) {
  $('config-save').addEventListener('click', () => saveConfig());
  $('config-reload').addEventListener('click', async () => {
    try {
      await reloadConfigAndHistory();
      say($('config-status'), 'Reloaded the active version.');
    } catch (e) {
      showError($('config-error'), e);
    }
  });
  // Ctrl/Cmd+S in the editor saves, as in any editor.
  editor.addEventListener('keydown', (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === 's') {
      event.preventDefault();
      saveConfig();
    }
  });
}

$('config-conflict-reload').addEventListener('click', async () => {
  try {
    await reloadConfigAndHistory();
    say($('config-status'), `Loaded version ${state.active.version}.`);
    editor.focus();
  } catch (e) {
    showError($('config-error'), e);
  }
});

// -- routing trace -------------------------------------------------------------------------

$('trace-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const id = $('trace-id').value.trim();
  const error = $('trace-error');
  clearError(error);
  if (!id) {
    showError(error, 'Enter a conversation id.');
    return;
  }
  const button = event.submitter || $('trace-form').querySelector('button[type="submit"]');
  try {
    const trace = await busy(button, () =>
      api.get(`/api/v1/admin/conversations/${encodeURIComponent(id)}/routing-trace`));
    renderTrace(trace);
  } catch (e) {
    $('trace-result').hidden = true;
    showError(error, e instanceof ApiError && e.status === 404 ? `No conversation with id ${id}.` : e);
  }
});

/** Trace steps name agents by id; show the names we know (still plain text, never HTML). */
function withNames(text) {
  let named = text;
  for (const user of state.users.values()) {
    if (user.display_name && named.includes(user.id)) named = named.replaceAll(user.id, user.display_name);
  }
  return named;
}

function renderTrace(trace) {
  $('trace-priority').textContent = trace.priority === null ? '—' : String(trace.priority);
  const skills = Object.entries(trace.required_skills);
  $('trace-skills').textContent = skills.length
    ? skills.map(([id, level]) => `${id} ≥ ${level}`).join(', ')
    : 'none';
  $('trace-config').textContent = trace.config_version === null
    ? 'built-in defaults'
    : String(trace.config_version);
  const steps = $('trace-steps');
  steps.replaceChildren(...trace.steps.map((text) => {
    const li = document.createElement('li');
    li.textContent = withNames(text);
    li.dataset.testid = 'trace-step';
    return li;
  }));
  $('trace-steps-empty').hidden = trace.steps.length > 0;
  const rows = $('trace-sessions');
  rows.replaceChildren(...trace.sessions.map((s) => {
    const tr = document.createElement('tr');
    tr.dataset.testid = 'trace-session';
    const cells = [nameOf(s.agent_id), s.status, null, null, s.closure_reason || '—'];
    for (const [i, text] of cells.entries()) {
      const td = document.createElement('td');
      if (i === 2) td.append(timeElement(s.offered_at));
      else if (i === 3) td.append(timeElement(s.closed_at));
      else td.textContent = text;
      tr.append(td);
    }
    return tr;
  }));
  $('trace-sessions-table').hidden = trace.sessions.length === 0;
  $('trace-sessions-empty').hidden = trace.sessions.length > 0;
  $('trace-result').hidden = false;
}

// -- start ---------------------------------------------------------------------------------

async function start() {
  try {
    await loadUsers();
    // The configuration first: the skills form needs its skill list.
    await Promise.all([loadQueues(), loadConfig()]);
    renderAgentPicker();
    await loadVersions();
    root.dataset.ready = 'true';
  } catch (e) {
    showError($('load-error'), `The page could not load everything: ${errorText(e)}`);
  }
}

start();
