// The desk administration page (/admin/desk): quick replies (shared and the user's own personal
// ones) and disposition codes per queue. Supervisors and admins; the API enforces every rule
// and this page mirrors them. Server text goes in with textContent, never as HTML. UI text comes
// from the page's gettext catalogue through t() (workspace/i18n.js).

const {
  api, ApiError, t, $, enc, errorText, show, announce, make, button, fieldError, textProblem, tagsOf, tagProblem,
} = await import(document.querySelector('meta[name="omniroute-admin"]').content);

const LIMITS = { title: 120, text: 4000, tags: 10, tag: 40, code: 40, label: 120, codes: 50 };
const CODE = /^[a-z0-9][a-z0-9_-]*$/;
const LANGUAGES = { en: 'English', es: 'Español' };

const say = (text) => announce($('desk-status'), text);

// -- quick replies ---------------------------------------------------------------------------------

const qr = { replies: [], editing: null };

function checkReplyForm() {
  const title = $('qr-title');
  const text = $('qr-text');
  const tags = $('qr-tags');
  let ok = true;
  ok = fieldError(title, $('qr-title-error'), textProblem(title.value, LIMITS.title, t('Give the reply a title.'))) && ok;
  ok = fieldError(text, $('qr-text-error'), textProblem(text.value, LIMITS.text, t('Write the text agents will send.'))) && ok;
  ok = fieldError(tags, $('qr-tags-error'), tagProblem(tagsOf(tags.value), LIMITS.tags, LIMITS.tag)) && ok;
  return ok;
}

function resetReplyForm() {
  qr.editing = null;
  const form = $('qr-form');
  form.reset();
  for (const [input, error] of [['qr-title', 'qr-title-error'], ['qr-text', 'qr-text-error'], ['qr-tags', 'qr-tags-error']]) {
    fieldError($(input), $(error), '');
  }
  show($('qr-error'), '');
  $('qr-form-heading').textContent = t('New quick reply');
  $('qr-submit').textContent = t('Create quick reply');
  $('qr-cancel').hidden = true;
  $('qr-owner').disabled = false;
  $('qr-owner-note').hidden = true;
}

function editReply(reply) {
  resetReplyForm();
  qr.editing = reply;
  $('qr-title').value = reply.title;
  $('qr-text').value = reply.text;
  $('qr-language').value = reply.language || '';
  $('qr-tags').value = reply.tags.join(', ');
  $('qr-form').elements.owner.value = reply.shared ? 'shared' : 'personal';
  $('qr-owner').disabled = true;
  $('qr-owner-note').hidden = false;
  $('qr-form-heading').textContent = t('Edit “{title}”', { title: reply.title });
  $('qr-submit').textContent = t('Save changes');
  $('qr-cancel').hidden = false;
  $('qr-title').focus();
}

function replyRow(reply) {
  const tr = make('tr', { dataset: { testid: 'qr-row', replyId: reply.id } });
  const cells = [
    reply.title,
    reply.language ? LANGUAGES[reply.language] || reply.language : t('Any language'),
    reply.tags.join(', ') || '—',
    reply.shared ? t('Shared') : t('Personal'),
  ];
  cells.forEach((text, i) => {
    const td = make('td', { textContent: text });
    td.dataset.testid = ['qr-row-title', 'qr-row-language', 'qr-row-tags', 'qr-row-owner'][i];
    tr.append(td);
  });
  const actions = make('td', { className: 'admin-row-actions' });
  if (reply.can_edit) {
    const confirm = make('span', { className: 'admin-confirm', hidden: true },
      make('span', { textContent: t('Delete “{title}”?', { title: reply.title }) }), ' ');
    confirm.dataset.testid = 'qr-delete-confirmation';
    const ask = button(t('Delete…'), 'qr-delete', () => {
      confirm.hidden = false;
      ask.hidden = true;
      confirm.querySelector('button').focus();
    }, t('Delete {title}', { title: reply.title }));
    confirm.append(
      button(t('Delete'), 'qr-delete-confirm', () => deleteReply(reply)),
      ' ',
      button(t('Keep it'), 'qr-delete-cancel', () => {
        confirm.hidden = true;
        ask.hidden = false;
        ask.focus();
      }),
    );
    actions.append(
      button(t('Edit'), 'qr-edit', () => editReply(reply), t('Edit {title}', { title: reply.title })),
      ' ', ask, confirm,
    );
  }
  tr.append(actions);
  return tr;
}

async function loadReplies() {
  qr.replies = await api.get('/api/v1/admin/quick-replies');
  $('qr-rows').replaceChildren(...qr.replies.map(replyRow));
  $('qr-empty').hidden = qr.replies.length > 0;
}

async function submitReply(event) {
  event.preventDefault();
  show($('qr-error'), '');
  if (!checkReplyForm()) {
    $('qr-form').querySelector('[aria-invalid="true"]')?.focus();
    return;
  }
  const body = {
    title: $('qr-title').value.trim(),
    text: $('qr-text').value,
    tags: tagsOf($('qr-tags').value),
  };
  const language = $('qr-language').value;
  const submit = $('qr-submit');
  submit.disabled = true;
  try {
    if (qr.editing) {
      const saved = await api.request('PATCH', `/api/v1/quick-replies/${enc(qr.editing.id)}`, {
        ...body, language, expected_version: qr.editing.version,
      });
      say(t('“{title}” saved.', { title: saved.title }));
    } else {
      const created = await api.post('/api/v1/quick-replies', {
        ...body, language: language || null, shared: $('qr-form').elements.owner.value === 'shared',
      });
      say(t('“{title}” created.', { title: created.title }));
    }
    resetReplyForm();
    await loadReplies();
  } catch (error) {
    show($('qr-error'), error instanceof ApiError && error.status === 409
      ? t('Someone changed this reply meanwhile. Cancel editing to see the latest version, then edit again.')
      : errorText(error));
  } finally {
    submit.disabled = false;
  }
}

async function deleteReply(reply) {
  try {
    await api.request('DELETE', `/api/v1/quick-replies/${enc(reply.id)}`);
    if (qr.editing && qr.editing.id === reply.id) resetReplyForm();
    say(t('“{title}” deleted.', { title: reply.title }));
    await loadReplies();
  } catch (error) {
    show($('qr-error'), errorText(error));
  }
}

// -- disposition codes -----------------------------------------------------------------------------

const dc = { queueId: null, version: 0 };

function codeRow(code = { code: '', label: '' }) {
  const tr = make('tr', { dataset: { testid: 'dc-row' } });
  const codeInput = make('input', {
    value: code.code, maxLength: LIMITS.code, autocomplete: 'off', spellcheck: false, className: 'admin-mono',
  });
  codeInput.dataset.testid = 'dc-code';
  codeInput.setAttribute('aria-label', t('Code'));
  const labelInput = make('input', { value: code.label, maxLength: LIMITS.label, autocomplete: 'off' });
  labelInput.dataset.testid = 'dc-label';
  labelInput.setAttribute('aria-label', t('Label agents see'));
  const codeError = make('p', { className: 'form-error admin-field-error', hidden: true });
  codeError.dataset.testid = 'dc-code-error';
  const labelError = make('p', { className: 'form-error admin-field-error', hidden: true });
  labelError.dataset.testid = 'dc-label-error';
  const actions = make('td', { className: 'admin-row-actions' });
  const confirm = make('span', { className: 'admin-confirm', hidden: true },
    make('span', { textContent: t('Remove this code? Save to apply.') }), ' ');
  const ask = button(t('Remove…'), 'dc-remove', () => {
    if (!codeInput.value.trim() && !labelInput.value.trim()) {
      tr.remove();
      renderCodesEmpty();
      return;
    }
    confirm.hidden = false;
    ask.hidden = true;
    confirm.querySelector('button').focus();
  }, t('Remove code {code}', { code: code.code || t('(new)') }));
  confirm.append(
    button(t('Remove'), 'dc-remove-confirm', () => {
      tr.remove();
      renderCodesEmpty();
      say(t('Code removed; save to apply.'));
      $('dc-add').focus();
    }),
    ' ',
    button(t('Keep it'), 'dc-remove-cancel', () => {
      confirm.hidden = true;
      ask.hidden = false;
      ask.focus();
    }),
  );
  actions.append(ask, confirm);
  tr.append(make('td', {}, codeInput, codeError), make('td', {}, labelInput, labelError), actions);
  return tr;
}

function renderCodesEmpty() {
  $('dc-empty').hidden = $('dc-rows').children.length > 0;
}

function readCodes() {
  const seen = new Set();
  let ok = true;
  const codes = [];
  for (const tr of $('dc-rows').children) {
    const [codeInput, labelInput] = tr.querySelectorAll('input');
    const code = codeInput.value.trim().toLowerCase();
    const label = labelInput.value.trim().replace(/\s+/g, ' ');
    let codeProblem = '';
    if (!code) codeProblem = t('Give the code.');
    else if (code.length > LIMITS.code || !CODE.test(code)) codeProblem = t('Lower-case letters, digits, - and _ only.');
    else if (seen.has(code)) codeProblem = t('This code is listed twice.');
    seen.add(code);
    ok = fieldError(codeInput, tr.querySelector('[data-testid="dc-code-error"]'), codeProblem) && ok;
    ok = fieldError(labelInput, tr.querySelector('[data-testid="dc-label-error"]'),
      label ? '' : t('Give the label agents see.')) && ok;
    codes.push({ code, label });
  }
  let problem = '';
  if (codes.length > LIMITS.codes) problem = t('At most {max} codes per queue.', { max: LIMITS.codes });
  else if ($('dc-required').checked && !codes.length) problem = t('A queue that requires a code needs at least one code.');
  show($('dc-error'), problem);
  return ok && !problem ? codes : null;
}

async function loadCodes() {
  const queueId = $('dc-queue').value;
  show($('dc-error'), '');
  if (!queueId) {
    $('dc-form').hidden = true;
    return;
  }
  const config = await api.get(`/api/v1/admin/queues/${enc(queueId)}/disposition-codes`);
  dc.queueId = queueId;
  dc.version = config.version;
  $('dc-required').checked = config.required;
  $('dc-rows').replaceChildren(...config.codes.map((code) => codeRow(code)));
  $('dc-version').textContent = config.version ? t('Version {version}', { version: config.version }) : t('Not configured');
  renderCodesEmpty();
  $('dc-form').hidden = false;
}

async function saveCodes(event) {
  event.preventDefault();
  const codes = readCodes();
  if (codes === null) {
    $('dc-form').querySelector('[aria-invalid="true"]')?.focus();
    return;
  }
  const save = $('dc-save');
  save.disabled = true;
  try {
    const saved = await api.put(`/api/v1/admin/queues/${enc(dc.queueId)}/disposition-codes`, {
      required: $('dc-required').checked, codes, expected_version: dc.version,
    });
    dc.version = saved.version;
    $('dc-version').textContent = t('Version {version}', { version: saved.version });
    say(t('Disposition codes saved.'));
    show($('dc-error'), '');
  } catch (error) {
    show($('dc-error'), error instanceof ApiError && error.status === 409
      ? t('Someone changed these codes meanwhile. Discard your changes to load the latest ones.')
      : errorText(error));
  } finally {
    save.disabled = false;
  }
}

async function loadQueues() {
  const queues = await api.get('/api/v1/queues');
  const select = $('dc-queue');
  select.replaceChildren(...queues.map((q) => make('option', { value: q.id, textContent: q.name })));
  if (!queues.length) select.append(make('option', { value: '', textContent: t('No queues yet') }));
  await loadCodes();
}

async function start() {
  $('qr-form').addEventListener('submit', submitReply);
  $('qr-cancel').addEventListener('click', () => {
    resetReplyForm();
    $('qr-title').focus();
  });
  $('dc-queue').addEventListener('change', () => loadCodes().catch((e) => show($('dc-error'), errorText(e))));
  $('dc-form').addEventListener('submit', saveCodes);
  $('dc-add').addEventListener('click', () => {
    const row = codeRow();
    $('dc-rows').append(row);
    renderCodesEmpty();
    row.querySelector('input').focus();
  });
  $('dc-reload').addEventListener('click', () => loadCodes().catch((e) => show($('dc-error'), errorText(e))));
  await Promise.all([loadReplies(), loadQueues()]);
  $('desk-admin').dataset.ready = 'true';
}

start().catch((e) => show($('load-error'), t('The desk settings could not load: {reason}', { reason: errorText(e) })));
