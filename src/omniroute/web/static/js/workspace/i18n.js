// UI text for the workspace scripts. The page embeds a JSON catalogue rendered from the same
// gettext .po files as the server-side templates (omniroute/locale); a string that is missing
// falls back to its English msgid, as gettext does. Strings are extracted from `t('…')` calls by
// `pybabel extract` (see docs/WORKSPACE.md), so the msgid must be a literal at the call site.

const element = document.getElementById('i18n-catalogue');
const catalogue = element ? JSON.parse(element.textContent || '{}') : {};

/** The UI language of this page (the server picked it; `<html lang>` says which). */
export const locale = document.documentElement.lang || 'en';

/** Replace `{name}` placeholders; unknown ones stay visible so a bad translation is noticed. */
export function format(text, values = {}) {
  return text.replace(/\{(\w+)\}/g, (whole, key) =>
    Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole,
  );
}

/** Translate `msgid` and fill its placeholders. */
export function t(msgid, values) {
  const text = Object.prototype.hasOwnProperty.call(catalogue, msgid) ? catalogue[msgid] : msgid;
  return values ? format(text, values) : text;
}
