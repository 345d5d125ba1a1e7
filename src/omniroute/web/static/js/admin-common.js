// What every administration page script shares (the pages extend templates/admin_base.html, which
// names this module's versioned URL in <meta name="omniroute-admin">): the REST client bound to
// the page's CSRF token, the gettext t(), and the small DOM helpers for errors, status lines and
// rows. Server text always goes in with textContent, never as HTML.
//
// A page script starts with
//   const { api, t, $ } = await import(document.querySelector('meta[name="omniroute-admin"]').content);
// so the client and this module load through their versioned URLs (no import map on these pages).

/** The content of `<meta name="…">` (the page's CSRF token, versioned module URLs). */
export const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;

const { ApiClient, ApiError } = await import(meta('omniroute-client'));
const { t } = await import(meta('omniroute-i18n'));

export { ApiError, t };

export const $ = (id) => document.getElementById(id);
export const enc = encodeURIComponent;

/** JSON over fetch with the session cookie; an expired session goes to the sign-in, then back here. */
export const api = new ApiClient({
  csrfToken: meta('csrf-token'),
  onUnauthorized: () => location.assign(`/login?next=${location.pathname}`),
});

/** The server's reason for an API error; a generic line for anything else (a bug, not the user's). */
export function errorText(error) {
  return error instanceof ApiError ? error.message : t('Something went wrong.');
}

/** Show `text` in `el`, or hide `el` when there is none. */
export function show(el, text) {
  el.textContent = text || '';
  el.hidden = !text;
}

/** An error line: a message of our own, or the reason of a failed call. */
export function showError(el, error) {
  show(el, typeof error === 'string' ? error : errorText(error));
}

export function clearError(el) {
  show(el, '');
}

/** Status text for screen readers and sighted users; cleared first so a repeat is read again. */
export function announce(el, text) {
  el.textContent = '';
  requestAnimationFrame(() => {
    el.textContent = text;
  });
}

/** An element with properties (`dataset` and `attrs` are merged in) and children. */
export function make(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'attrs') for (const [name, v] of Object.entries(value)) node.setAttribute(name, v);
    else node[key] = value;
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

/** A small row button; `aria` names it for screen readers where the label alone is ambiguous. */
export function button(label, testid, onClick, aria) {
  const b = make('button', { type: 'button', className: 'button button-small', textContent: label });
  b.dataset.testid = testid;
  if (aria) b.setAttribute('aria-label', aria);
  b.addEventListener('click', onClick);
  return b;
}

/** Mark a field invalid (or valid again) with its message next to it; true when it is valid. */
export function fieldError(input, errorEl, text) {
  show(errorEl, text);
  if (text) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
  return !text;
}

/** Why a text field would be refused: `missing` when it is empty, too long, or '' when it is fine. */
export function textProblem(value, max, missing = '') {
  const text = value.trim();
  if (!text) return missing;
  return text.length > max ? t('At most {max} characters.', { max }) : '';
}

/** Tags as typed ("Billing, late fee") as the server stores them (["billing", "late-fee"]). */
export function tagsOf(value) {
  return value.split(',').map((s) => s.trim().toLowerCase().split(/\s+/).join('-')).filter(Boolean);
}

const TAG = /^[\p{L}\p{N}_-]+$/u;

/** Why the server would refuse these tags (too many, too long, not letters, digits, _ and -), or ''. */
export function tagProblem(tags, maxTags, maxLength) {
  const bad = tags.find((tag) => tag.length > maxLength || !TAG.test(tag));
  if (bad) return t('Tag "{tag}": letters, digits and hyphens only.', { tag: bad });
  return tags.length > maxTags ? t('At most {max} tags.', { max: maxTags }) : '';
}
