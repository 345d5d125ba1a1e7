// What the workspace keeps in the browser: drafts and read positions per conversation in
// sessionStorage (this tab survives reloads, nothing outlives the tab), and a copy of the agent's
// settings in localStorage (the user record holds them; see startingSettings). Keys carry the
// user id so two people sharing a browser never mix.
// Storage can be full or switched off; the workspace then just forgets, it never breaks.

function safe(storage) {
  return {
    get(key) {
      try {
        return storage.getItem(key);
      } catch {
        return null;
      }
    },
    set(key, value) {
      try {
        storage.setItem(key, value);
      } catch {
        /* quota exceeded or storage disabled: keep working without it */
      }
    },
    remove(key) {
      try {
        storage.removeItem(key);
      } catch {
        /* see set() */
      }
    },
  };
}

/** Unsent replies, one per conversation, so switching sessions or reloading loses nothing. */
export class Drafts {
  constructor(userId, storage = window.sessionStorage) {
    this.prefix = `omniroute.draft.${userId}.`;
    this.store = safe(storage);
  }

  get(conversationId) {
    return this.store.get(this.prefix + conversationId) || '';
  }

  set(conversationId, text) {
    if (text) this.store.set(this.prefix + conversationId, text);
    else this.store.remove(this.prefix + conversationId);
  }

  forget(conversationId) {
    this.store.remove(this.prefix + conversationId);
  }
}

/** Small JSON values in sessionStorage: the highest seq the agent has seen, the open session. */
export class TabMemory {
  constructor(userId, storage = window.sessionStorage) {
    this.prefix = `omniroute.workspace.${userId}.`;
    this.store = safe(storage);
  }

  read(name, fallback) {
    const raw = this.store.get(this.prefix + name);
    if (raw === null) return fallback;
    try {
      return JSON.parse(raw);
    } catch {
      return fallback;
    }
  }

  write(name, value) {
    if (value === null || value === undefined) this.store.remove(this.prefix + name);
    else this.store.set(this.prefix + name, JSON.stringify(value));
  }
}

export const NOTIFY_MODES = ['never', 'always', 'background'];

export const DEFAULT_SETTINGS = Object.freeze({
  sound: 'background',
  desktop: 'background',
  // Empty: use the translated default templates.
  titleTemplate: '',
  bodyTemplate: '',
});

/** Only known keys and modes; anything else takes its default (old or hand-edited values). */
function normalise(saved) {
  const out = { ...DEFAULT_SETTINGS };
  for (const key of Object.keys(DEFAULT_SETTINGS)) {
    if (saved && typeof saved[key] === 'string') out[key] = saved[key];
  }
  for (const key of ['sound', 'desktop']) {
    if (!NOTIFY_MODES.includes(out[key])) out[key] = DEFAULT_SETTINGS[key];
  }
  return out;
}

/** The user record's preferences (GET/PUT /api/v1/me/preferences) as the page's settings. */
export function settingsFromApi(preferences) {
  return normalise({
    sound: preferences.sound,
    desktop: preferences.desktop,
    titleTemplate: preferences.title_template,
    bodyTemplate: preferences.body_template,
  });
}

/** The page's settings as the body of PUT /api/v1/me/preferences. */
export function settingsToApi(settings) {
  return {
    sound: settings.sound,
    desktop: settings.desktop,
    title_template: settings.titleTemplate,
    body_template: settings.bodyTemplate,
  };
}

/**
 * The settings the page starts with, and whether to send them to the user record now.
 *
 * The user record wins: it follows the agent to every browser. This browser's copy is a cache,
 * and it is sent instead when the record has none yet (settings kept here before they moved to
 * the record: brought over once) or when its last save did not reach the server (offline).
 *
 * @param {{server: object|null|undefined, local: object, localSaved: boolean, localPending: boolean}} state
 *   server: the record's preferences, null when never saved, undefined when the server cannot keep them
 */
export function startingSettings({ server, local, localSaved, localPending }) {
  if (server === undefined) return { settings: local, push: false };
  if (localSaved && (server === null || localPending)) return { settings: local, push: true };
  if (server === null) return { settings: { ...DEFAULT_SETTINGS }, push: false };
  return { settings: settingsFromApi(server), push: false };
}

/** The agent's own preferences as this browser last knew them (the user record holds them). */
export class SettingsStore {
  constructor(userId, storage = window.localStorage) {
    this.key = `omniroute.settings.${userId}`;
    this.pendingKey = `omniroute.settings.${userId}.pending`;
    this.store = safe(storage);
  }

  load() {
    let saved = {};
    try {
      saved = JSON.parse(this.store.get(this.key) || '{}') || {};
    } catch {
      saved = {};
    }
    return normalise(saved);
  }

  /** Whether this browser has settings of its own (saved before, or cached from the record). */
  saved() {
    return this.store.get(this.key) !== null;
  }

  /** Whether the last save stayed here because the server could not be reached. */
  pending() {
    return this.store.get(this.pendingKey) !== null;
  }

  save(settings, { pending = false } = {}) {
    this.store.set(this.key, JSON.stringify(settings));
    if (pending) this.store.set(this.pendingKey, '1');
    else this.store.remove(this.pendingKey);
  }
}
