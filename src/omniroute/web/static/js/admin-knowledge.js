// Knowledge articles for their authors, supervisors and admins (/admin/knowledge; docs/WORKSPACE.md
// "Knowledge administration page", the rules in docs/KNOWLEDGE.md): the list with status, language
// and text filters; an editor for a new or existing article with the server's own preview; publish
// and archive. A save sends the version the editor started from, so a change made meanwhile
// answers 409 and the author's text stays in the editor. Unsaved text is guarded when leaving the
// page or opening another article. Server text goes in with textContent; the only HTML parsed is
// the preview, rendered and sanitised by the server (markdown-it without HTML, then nh3).

const {
  api, ApiError, t, $, enc, errorText, show, clearError, announce, make, button, fieldError, textProblem,
  tagsOf, tagProblem,
} = await import(document.querySelector('meta[name="omniroute-admin"]').content);

const BASE = '/api/v1/knowledge';
const PAGE = 50; // the API's largest page
const LIMITS = { title: 200, summary: 500, body: 100000, tags: 20, tag: 40, slug: 80 };
const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const STATUSES = ['draft', 'published', 'archived'];
const LANGUAGES = { en: 'English', es: 'Español' };
const STATUS_LABELS = { draft: () => t('Draft'), published: () => t('Published'), archived: () => t('Archived') };
const VISIBILITY_LABELS = { internal: () => t('Internal'), public: () => t('Public') };
/** Article headings sit below the preview's own h3, so the page keeps one heading outline. */
const PREVIEW_HEADING_SHIFT = 3;
const FIELDS = ['title', 'slug', 'language', 'visibility', 'tags', 'summary', 'body'];
const locale = document.documentElement.lang || 'en';

const list = { filter: { status: '', language: '', q: '' }, offset: 0, request: 0 };
/** The article being edited (null: a new one), the form as last saved, the text last previewed. */
const editor = { article: null, saved: null, previewed: null };

const say = (text) => announce($('kb-status'), text);
const input = (name) => $(`kb-${name}`);

function when(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' });
}

function statusBadge(status, testid) {
  const label = STATUS_LABELS[status] ? STATUS_LABELS[status]() : status;
  return make('span', { className: 'badge', textContent: label, dataset: { status, testid } });
}

// -- the form and what counts as unsaved -----------------------------------------------------------

function formValues() {
  return Object.fromEntries(FIELDS.map((name) => [name, input(name).value]));
}

function valuesOf(article) {
  if (!article) {
    return {
      title: '', slug: '', language: locale === 'es' ? 'es' : 'en', visibility: 'internal', tags: '', summary: '', body: '',
    };
  }
  const { title, slug, language, visibility, summary, body } = article;
  return { title, slug, language, visibility, tags: article.tags.join(', '), summary, body };
}

function fill(values) {
  for (const name of FIELDS) {
    // Only changed fields, so the caret of the field being typed in stays where it is.
    if (input(name).value !== values[name]) input(name).value = values[name];
  }
}

function isDirty() {
  const now = formValues();
  return FIELDS.some((name) => now[name] !== editor.saved[name]);
}

function renderDirty() {
  $('kb-dirty').hidden = !isDirty();
}

function leaveOk() {
  return !isDirty() || window.confirm(t('Discard your unsaved changes to this article?'));
}

function check() {
  const v = formValues();
  let ok = fieldError(input('title'), $('kb-title-error'),
    textProblem(v.title, LIMITS.title, t('Give the article a title.')));
  const slug = v.slug.trim();
  const badSlug = !editor.article && slug !== '' && (slug.length > LIMITS.slug || !SLUG.test(slug));
  ok = fieldError(input('slug'), $('kb-slug-error'), badSlug
    ? t('Lower-case letters, digits and single hyphens, at most {max} characters.', { max: LIMITS.slug }) : '') && ok;
  ok = fieldError(input('tags'), $('kb-tags-error'), tagProblem(tagsOf(v.tags), LIMITS.tags, LIMITS.tag)) && ok;
  ok = fieldError(input('summary'), $('kb-summary-error'), textProblem(v.summary, LIMITS.summary)) && ok;
  ok = fieldError(input('body'), $('kb-body-error'),
    v.body.length > LIMITS.body ? t('At most {max} characters.', { max: LIMITS.body })
      : textProblem(v.body, LIMITS.body, t('Write the article.'))) && ok;
  return ok;
}

function clearMessages() {
  for (const name of ['title', 'slug', 'tags', 'summary', 'body']) fieldError(input(name), $(`kb-${name}-error`), '');
  clearError($('kb-error'));
  $('kb-conflict').hidden = true;
}

// -- the editor ------------------------------------------------------------------------------------

function renderFacts(article) {
  const facts = $('kb-facts');
  if (!article) {
    facts.replaceChildren();
    facts.hidden = true;
    return;
  }
  facts.replaceChildren(t('Version {version}, updated {when}.', { version: article.version, when: when(article.updated_at) }));
  if (article.status === 'published' && article.visibility === 'public') {
    const link = make('a', {
      href: article.public_path, target: '_blank', rel: 'noopener', textContent: article.public_path,
      dataset: { testid: 'kb-public-link' },
    });
    facts.append(' ', t('Customers open it at'), ' ', link);
  }
  facts.hidden = false;
}

function renderEditor() {
  const a = editor.article;
  $('kb-editor-heading').textContent = a ? t('Edit “{title}”', { title: a.title }) : t('New article');
  const badge = $('kb-editor-status');
  badge.hidden = !a;
  if (a) {
    badge.textContent = STATUS_LABELS[a.status]();
    badge.dataset.status = a.status;
  }
  renderFacts(a);
  input('slug').readOnly = Boolean(a);
  $('kb-save').textContent = !a || a.status === 'draft' ? t('Save draft') : t('Save changes');
  $('kb-publish').hidden = Boolean(a) && a.status === 'published';
  $('kb-publish').textContent = a && a.status === 'archived' ? t('Publish again') : t('Publish');
  $('kb-archive').hidden = !a || a.status === 'archived';
  $('kb-archive').textContent = a && a.status === 'published' ? t('Unpublish (archive)') : t('Archive');
  $('kb-published-note').hidden = !a || a.status !== 'published';
  renderDirty();
  markCurrent();
}

/** Put the server's sanitised HTML in the preview, its headings moved below the preview's h3. */
function placePreview(html) {
  const holder = document.createElement('template');
  holder.innerHTML = html; // rendered and sanitised by the server; inert inside a <template>
  for (const heading of holder.content.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    const moved = document.createElement(`h${Math.min(6, Number(heading.tagName[1]) + PREVIEW_HEADING_SHIFT)}`);
    moved.append(...heading.childNodes);
    heading.replaceWith(moved);
  }
  $('kb-preview-html').replaceChildren(holder.content);
}

function renderPreviewNote() {
  const box = $('kb-preview-box');
  const stale = editor.previewed !== null && editor.previewed !== input('body').value;
  box.dataset.stale = String(stale);
  if (editor.previewed === null) show($('kb-preview-note'), t('Choose Preview to see the article as agents and customers will.'));
  else show($('kb-preview-note'), stale ? t('The text changed since this preview. Choose Preview again.') : '');
}

/** Show `article` (null: a new one) in the editor, as saved; the preview shows its saved text. */
function showArticle(article) {
  editor.article = article;
  editor.saved = valuesOf(article);
  fill(editor.saved);
  clearMessages();
  editor.previewed = article ? article.body : null;
  placePreview(article ? article.html : '');
  renderPreviewNote();
  renderEditor();
}

/**
 * After a save, publish or archive: the article as the server has it now. `sent` is the form as
 * it was when the request left; fields typed in since keep the new text (and stay unsaved), the
 * others show what the server stored (its tidied title, tags…).
 */
function applySaved(article, sent) {
  const typed = formValues();
  editor.article = article;
  editor.saved = valuesOf(article);
  fill(Object.fromEntries(FIELDS.map((name) => [name, typed[name] === sent[name] ? editor.saved[name] : typed[name]])));
  if (typed.body === sent.body) {
    // The saved article comes rendered: the preview shows exactly what readers now get.
    editor.previewed = article.body;
    placePreview(article.html);
    renderPreviewNote();
  }
  renderEditor();
}

async function openArticle(id, { force = false } = {}) {
  if (!force && !leaveOk()) return false;
  try {
    showArticle(await api.get(`${BASE}/articles/${enc(id)}`));
  } catch (error) {
    show($('kb-error'), errorText(error));
    return false;
  }
  remember();
  $('kb-editor-heading').focus();
  return true;
}

function newArticle() {
  if (!leaveOk()) return;
  showArticle(null);
  remember();
  input('title').focus();
}

function failed(error) {
  if (error instanceof ApiError && error.status === 409) {
    $('kb-conflict-text').textContent = t('Someone else changed this article while you were editing it. Your text is still in the editor: copy what you need, then load the latest version and make your changes again.');
    $('kb-conflict').hidden = false;
    $('kb-conflict-reload').focus();
  } else {
    show($('kb-error'), errorText(error));
  }
}

/** Run `action` with the editor's buttons disabled, so a double click cannot send it twice. */
async function busy(action) {
  const buttons = ['kb-save', 'kb-preview', 'kb-publish', 'kb-archive'].map($);
  for (const b of buttons) b.disabled = true;
  try {
    return await action();
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

/** Save the form (create or PATCH with the version it started from); true when it is saved. */
async function save() {
  clearMessages();
  if (!check()) {
    $('kb-form').querySelector('[aria-invalid="true"]')?.focus();
    return false;
  }
  const v = formValues();
  const fields = {
    title: v.title.trim(), body: v.body, summary: v.summary.trim(), language: v.language, tags: tagsOf(v.tags),
    visibility: v.visibility,
  };
  const a = editor.article;
  try {
    if (a) {
      const saved = await api.request('PATCH', `${BASE}/articles/${enc(a.id)}`, { ...fields, expected_version: a.version });
      applySaved(saved, v);
      say(t('“{title}” saved: version {version}.', { title: saved.title, version: saved.version }));
    } else {
      const created = await api.post(`${BASE}/articles`, { ...fields, slug: v.slug.trim() || null });
      applySaved(created, v);
      say(t('Draft “{title}” saved.', { title: created.title }));
      remember();
    }
  } catch (error) {
    if (!a && error instanceof ApiError && error.status === 409) {
      // Creating answers 409 only for a slug someone else has.
      fieldError(input('slug'), $('kb-slug-error'), t('Another article already has this slug.'));
      input('slug').focus();
    } else {
      failed(error);
    }
    return false;
  }
  await loadList();
  return true;
}

/** Publish or archive what is saved; unsaved text is saved first, so what agents see is what is shown. */
async function transition(action) {
  if ((!editor.article || isDirty()) && !(await save())) return;
  const a = editor.article;
  const sent = formValues();
  clearMessages();
  try {
    const done = await api.post(`${BASE}/articles/${enc(a.id)}/${action}`, { expected_version: a.version });
    applySaved(done, sent);
    say(action === 'publish'
      ? t('“{title}” is published.', { title: done.title })
      : t('“{title}” is archived.', { title: done.title }));
  } catch (error) {
    failed(error);
    return;
  }
  await loadList();
}

async function preview() {
  clearError($('kb-error'));
  const body = input('body').value;
  if (!body.trim()) {
    editor.previewed = null;
    placePreview('');
    show($('kb-preview-note'), t('Nothing to preview yet: write the article first.'));
    return;
  }
  try {
    const { html } = await api.post(`${BASE}/preview`, { body });
    editor.previewed = body;
    placePreview(html);
    renderPreviewNote();
    say(t('Preview updated.'));
  } catch (error) {
    show($('kb-error'), errorText(error));
  }
}

// -- the list --------------------------------------------------------------------------------------

function articleRow(a) {
  const tr = make('tr', { dataset: { testid: 'kb-row', articleId: a.id } });
  tr.append(
    make('td', { className: 'kb-row-title', textContent: a.title, dataset: { testid: 'kb-row-title' } }),
    make('td', {}, statusBadge(a.status, 'kb-row-status')),
    make('td', { textContent: LANGUAGES[a.language] || a.language }),
    make('td', { textContent: VISIBILITY_LABELS[a.visibility] ? VISIBILITY_LABELS[a.visibility]() : a.visibility }),
    make('td', { textContent: a.tags.join(', ') || '—' }),
    make('td', { textContent: String(a.version) }),
    make('td', { textContent: when(a.updated_at) }),
    make('td', { className: 'admin-row-actions' },
      button(t('Edit'), 'kb-edit', () => openArticle(a.id), t('Edit {title}', { title: a.title }))),
  );
  return tr;
}

function markCurrent() {
  const current = editor.article ? editor.article.id : null;
  for (const tr of $('kb-rows').children) {
    if (tr.dataset.articleId === current) tr.setAttribute('aria-current', 'true');
    else tr.removeAttribute('aria-current');
  }
}

async function loadList({ more = false } = {}) {
  list.request += 1;
  const request = list.request;
  const offset = more ? list.offset : 0;
  const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  for (const [key, value] of Object.entries(list.filter)) if (value) params.set(key, value);
  clearError($('kb-list-error'));
  let found;
  try {
    found = await api.get(`${BASE}/articles?${params}`);
  } catch (error) {
    if (request === list.request) show($('kb-list-error'), errorText(error));
    return;
  }
  if (request !== list.request) return; // a newer filter was asked for meanwhile
  const rows = found.map(articleRow);
  if (more) $('kb-rows').append(...rows);
  else $('kb-rows').replaceChildren(...rows);
  list.offset = offset + found.length;
  $('kb-empty').hidden = list.offset > 0;
  $('kb-more').hidden = found.length < PAGE;
  markCurrent();
}

// -- the address: ?status=&language=&q=&article= (other parameters, like lang, are kept) ----------

function remember() {
  const params = new URLSearchParams(location.search);
  for (const [key, value] of Object.entries({ ...list.filter, article: editor.article ? editor.article.id : '' })) {
    if (value) params.set(key, value);
    else params.delete(key);
  }
  const query = params.toString();
  history.replaceState(null, '', query ? `${location.pathname}?${query}` : location.pathname);
}

function readFilter() {
  const params = new URLSearchParams(location.search);
  const status = params.get('status') || '';
  const language = params.get('language') || '';
  list.filter = {
    status: STATUSES.includes(status) ? status : '',
    language: LANGUAGES[language] ? language : '',
    q: (params.get('q') || '').slice(0, 200),
  };
  $('kb-filter-status').value = list.filter.status;
  $('kb-filter-language').value = list.filter.language;
  $('kb-filter-q').value = list.filter.q;
  return params.get('article');
}

// -- wiring ----------------------------------------------------------------------------------------

async function start() {
  const wanted = readFilter();
  $('kb-filter').addEventListener('submit', (event) => {
    event.preventDefault();
    list.filter = {
      status: $('kb-filter-status').value, language: $('kb-filter-language').value, q: $('kb-filter-q').value.trim(),
    };
    remember();
    loadList();
  });
  $('kb-more').addEventListener('click', () => loadList({ more: true }));
  $('kb-new').addEventListener('click', newArticle);
  $('kb-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy(save);
  });
  $('kb-preview').addEventListener('click', () => busy(preview));
  $('kb-publish').addEventListener('click', () => busy(() => transition('publish')));
  $('kb-archive').addEventListener('click', () => busy(() => transition('archive')));
  $('kb-conflict-reload').addEventListener('click', () => openArticle(editor.article.id, { force: true }));
  $('kb-form').addEventListener('input', () => {
    renderDirty();
    renderPreviewNote();
  });
  window.addEventListener('beforeunload', (event) => {
    if (!isDirty()) return;
    event.preventDefault();
    event.returnValue = ''; // older browsers ask only when a value is set
  });
  showArticle(null);
  await loadList();
  if (wanted) await openArticle(wanted, { force: true });
  $('knowledge-admin').dataset.ready = 'true';
}

start().catch((error) => show($('load-error'), t('The articles could not load: {reason}', { reason: errorText(error) })));
