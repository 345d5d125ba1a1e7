// Small DOM and formatting helpers shared by the workspace modules.

import { locale, t } from './i18n.js';

export function fromTemplate(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

export function timeOf(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? ''
    : date.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' });
}

/** 75 → "1:15", 3725 → "1:02:05": elapsed time at a glance, in any language. */
export function formatDuration(totalSeconds) {
  const s = Math.max(0, Math.floor(totalSeconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = String(s % 60).padStart(2, '0');
  return hours ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/**
 * How a waiting customer's clock stands against the queue's reply target: "idle" (nobody waits),
 * "ok", "warn" from half the target, "breach" from the target on.
 */
export function slaLevel(waitedSeconds, targetSeconds) {
  if (waitedSeconds === null || waitedSeconds === undefined) return 'idle';
  const ratio = waitedSeconds / targetSeconds;
  if (ratio >= 1) return 'breach';
  return ratio >= 0.5 ? 'warn' : 'ok';
}

/** Screen readers announce a change of text; clear first so a repeated text is read again. */
function speak(region, text) {
  region.textContent = '';
  requestAnimationFrame(() => {
    region.textContent = text;
  });
}

/** Urgent news (offers, failures): interrupts the screen reader. */
export function announce(text) {
  speak(document.getElementById('announcer'), text);
}

/** Routine news (a message in another session): read when the screen reader is idle. */
export function announcePolitely(text) {
  speak(document.getElementById('messages-live'), text);
}

/** An error whose message is written for the agent (not a programming error's text). */
export function userError(message) {
  return Object.assign(new Error(message), { userFacing: true });
}

export function errorText(error) {
  return error && (error.name === 'ApiError' || error.userFacing)
    ? error.message
    : t('Something went wrong.');
}

export function showError(el, error) {
  el.textContent = error ? errorText(error) : '';
  el.hidden = !error;
}

export function isEditable(target) {
  if (!(target instanceof Element)) return false;
  return target.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]')
    !== null;
}

export function path(strings, ...values) {
  return strings.reduce(
    (out, part, i) => out + part + (i < values.length ? encodeURIComponent(values[i]) : ''), '',
  );
}

/**
 * A small element builder: `el('p', { className: 'x', dataset: { testid: 'y' } }, 'text', child)`.
 * Text is always set as text, never parsed as HTML.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'attrs') for (const [name, v] of Object.entries(value)) node.setAttribute(name, v);
    else if (key === 'on') for (const [name, fn] of Object.entries(value)) node.addEventListener(name, fn);
    else node[key] = value;
  }
  node.append(...children.filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

/** A date and time in the page's language ("3/2/26, 09:15"). */
export function dateTimeOf(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? ''
    : date.toLocaleString(locale, { dateStyle: 'short', timeStyle: 'short' });
}
