// What the workspace keeps in the browser: drafts and read positions per conversation in
// sessionStorage (this tab survives reloads, nothing outlives the tab), and the agent's settings
// in localStorage. Keys carry the user id so two people sharing a browser never mix.
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

/** The agent's own preferences on this browser. */
export class SettingsStore {
  constructor(userId, storage = window.localStorage) {
    this.key = `omniroute.settings.${userId}`;
    this.store = safe(storage);
  }

  load() {
    let saved = {};
    try {
      saved = JSON.parse(this.store.get(this.key) || '{}') || {};
    } catch {
      saved = {};
    }
    const out = { ...DEFAULT_SETTINGS };
    for (const key of Object.keys(DEFAULT_SETTINGS)) {
      if (typeof saved[key] === 'string') out[key] = saved[key];
    }
    for (const key of ['sound', 'desktop']) {
      if (!NOTIFY_MODES.includes(out[key])) out[key] = DEFAULT_SETTINGS[key];
    }
    return out;
  }

  save(settings) {
    this.store.set(this.key, JSON.stringify(settings));
  }
}
