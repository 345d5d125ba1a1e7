// Keyboard shortcuts and their help overlay, from one table so the overlay cannot drift.
//
// Alt+letter shortcuts use KeyboardEvent.code (the physical key): on macOS Option+A types "å",
// and on other layouts the letter may move. Alt+D, Alt+E and Alt+F are left to the browser.

import { isEditable } from './dom.js';
import { t } from './i18n.js';

/**
 * @param {object} desk  the actions the shortcuts run
 * @returns {{keys: string[], label: string, code?: string, key?: string, run?: Function}[]}
 */
export function shortcutTable(desk) {
  return [
    { keys: ['Alt', '↓'], code: 'ArrowDown', label: t('Next session'), run: () => desk.step(1) },
    { keys: ['Alt', '↑'], code: 'ArrowUp', label: t('Previous session'), run: () => desk.step(-1) },
    { keys: ['Alt', 'A'], code: 'KeyA', label: t('Accept the newest offer'), run: desk.acceptNewest },
    { keys: ['Alt', 'X'], code: 'KeyX', label: t('Reject the newest offer'), run: desk.rejectNewest },
    { keys: ['Alt', 'R'], code: 'KeyR', label: t('Go to the reply box'), run: desk.focusReply },
    { keys: ['Alt', 'T'], code: 'KeyT', label: t('Transfer the conversation'), run: desk.transfer },
    { keys: ['Alt', 'C'], code: 'KeyC', label: t('Consult a colleague'), run: desk.consult },
    { keys: ['Alt', 'N'], code: 'KeyN', label: t('Write an internal note'), run: desk.focusNote },
    { keys: ['Alt', 'K'], code: 'KeyK', label: t('Search knowledge articles'), run: desk.focusKnowledge },
    { keys: ['Alt', 'Q'], code: 'KeyQ', label: t('Quick replies'), run: desk.quickReplies },
    { keys: ['Alt', 'U'], code: 'KeyU', label: t('Show the customer'), run: desk.focusCustomer },
    { keys: ['Alt', 'P'], code: 'KeyP', label: t('Change presence'), run: desk.focusPresence },
    { keys: ['?'], key: '?', label: t('Show keyboard shortcuts'), run: desk.help },
    { keys: ['Enter'], label: t('Send the reply') },
    { keys: ['Shift', 'Enter'], label: t('New line in the reply') },
    { keys: ['/t'], label: t('In the reply box: transfer (text after it becomes the note)') },
    { keys: ['/c'], label: t('In the reply box: consult a colleague') },
    { keys: ['/n'], label: t('In the reply box: add the rest as an internal note') },
    { keys: ['/q'], label: t('In the reply box: search quick replies (↑ ↓, Enter inserts)') },
    { keys: ['Esc'], label: t('Close a dialog') },
  ];
}

export function installShortcuts(table) {
  document.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.metaKey) return;
    if (document.querySelector('dialog[open]')) return; // a dialog has the keyboard
    const shortcut = table.find((s) => {
      if (!s.run) return false;
      if (s.code) return event.altKey && !event.shiftKey && event.code === s.code;
      return !event.altKey && event.key === s.key && !isEditable(event.target);
    });
    if (!shortcut) return;
    event.preventDefault();
    shortcut.run();
  });
}

export function renderHelp(table, tbody) {
  tbody.replaceChildren();
  for (const shortcut of table) {
    const row = document.createElement('tr');
    const keys = document.createElement('th');
    keys.scope = 'row';
    shortcut.keys.forEach((key, i) => {
      if (i) keys.append('+');
      const kbd = document.createElement('kbd');
      kbd.textContent = key;
      keys.append(kbd);
    });
    const label = document.createElement('td');
    label.textContent = shortcut.label;
    row.append(keys, label);
    tbody.append(row);
  }
}
