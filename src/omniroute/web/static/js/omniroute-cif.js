// Omniroute CIF: the browser SDK a voice provider's softphone page loads to work inside the
// Omniroute agent workspace (the Channel Integration Framework idea, over postMessage).
//
//   <script src="https://omniroute.example/static/js/omniroute-cif.js"></script>
//   <script>
//     OmnirouteCIF.ready.then((env) => { /* env.agent, env.provider, env.locale */ });
//     OmnirouteCIF.onClickToAct((e) => dial(e.value));
//   </script>
//
// A classic script (not a module) so that any page can load it cross-origin with a plain script
// tag. It talks only to its parent window, and only to the workspace origin: the origin this file
// was served from, or the script tag's data-omniroute-origin. Every call returns a Promise and
// carries a correlation id; the workspace answers each id once. Nothing may be called before the
// workspace has answered the handshake: calls made earlier wait for it. docs/VOICE.md ("Browser
// SDK reference") lists every method, its CIF v2 name, and the error codes.
(function (global) {
  'use strict';

  const PROTOCOL = 'omniroute-cif';
  const VERSION = 1;
  const CALL_TIMEOUT_MS = 100000; // CIF's own limit for a call
  const HELLO_EVERY_MS = [100, 200, 400, 800, 1600, 3000];
  const HELLO_GIVE_UP_MS = 30000;

  /** An error with a stable `code` (see the reference) and a message meant for people. */
  class CifError extends Error {
    constructor(code, message, details) {
      super(message || code);
      this.name = 'CifError';
      this.code = code;
      if (details !== undefined) this.details = details;
    }
  }

  const script = document.currentScript;
  const workspaceOrigin = (() => {
    const explicit = script && script.dataset ? script.dataset.omnirouteOrigin : '';
    if (explicit) return new URL(explicit).origin;
    if (script && script.src) return new URL(script.src, location.href).origin;
    return null;
  })();

  const MODES = ['minimised', 'docked', 'hidden']; // CIF numbers them 0, 1, 2
  const MODE_ALIASES = { minimized: 'minimised', 0: 'minimised', 1: 'docked', 2: 'hidden' };

  /** CIF event names (addHandler) → ours. */
  const CIF_EVENTS = {
    onclicktoact: 'clickToAct',
    onmodechanged: 'modeChanged',
    onsizechanged: 'widthChanged',
    onsessionswitched: 'sessionSwitched',
    onsessionclosed: 'sessionClosed',
    onpresencechanged: 'presenceChanged',
  };

  const pending = new Map(); // correlation id → { resolve, reject, timer }
  const handlers = new Map(); // event name → Set of functions
  let counter = 0;
  let environment = null;
  let resolveReady;
  let rejectReady;
  const ready = new Promise((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => {}); // a page that never asks must not see an unhandled rejection

  function correlationId() {
    counter += 1;
    const random = global.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
    return `${counter}-${random}`;
  }

  function post(message) {
    global.parent.postMessage({ protocol: PROTOCOL, version: VERSION, ...message }, workspaceOrigin);
  }

  function fromWorkspace(event) {
    return (
      event.source === global.parent &&
      event.origin === workspaceOrigin &&
      event.data !== null &&
      typeof event.data === 'object' &&
      event.data.protocol === PROTOCOL
    );
  }

  function emit(name, data) {
    const set = handlers.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(data);
      } catch (error) {
        console.error(`omniroute-cif: a ${name} handler failed`, error);
      }
    }
  }

  global.addEventListener('message', (event) => {
    if (!fromWorkspace(event)) return; // anyone can post to us; only the workspace is heard
    const msg = event.data;
    if (msg.kind === 'ready') {
      const first = environment === null;
      environment = msg.environment || {};
      if (first) {
        resolveReady(environment);
        // The init-done event, under our name and CIF's, for code written against either.
        for (const name of ['omniroute-cif-ready', 'CIFInitDone']) {
          global.dispatchEvent(new CustomEvent(name, { detail: environment }));
        }
      }
    } else if (msg.kind === 'response' && pending.has(msg.id)) {
      const call = pending.get(msg.id);
      pending.delete(msg.id);
      clearTimeout(call.timer);
      if (msg.ok) call.resolve(msg.result);
      else {
        const err = msg.error || {};
        call.reject(new CifError(err.code || 'failed', err.message, err.details));
      }
    } else if (msg.kind === 'event' && typeof msg.event === 'string') {
      if (msg.event === 'modeChanged' && environment) environment.panel = { ...environment.panel, mode: msg.data.mode };
      if (msg.event === 'widthChanged' && environment) environment.panel = { ...environment.panel, width: msg.data.width };
      emit(msg.event, msg.data);
    }
  });

  function handshake() {
    if (global.parent === global) {
      rejectReady(new CifError('not_embedded', 'This page is not inside an Omniroute workspace.'));
      return;
    }
    if (!workspaceOrigin) {
      rejectReady(new CifError('no_origin', 'Load omniroute-cif.js from the workspace, or set data-omniroute-origin.'));
      return;
    }
    const started = Date.now();
    let attempt = 0;
    const hello = () => {
      if (environment !== null) return;
      if (Date.now() - started > HELLO_GIVE_UP_MS) {
        rejectReady(new CifError('no_workspace', `The workspace at ${workspaceOrigin} did not answer.`));
        return;
      }
      post({ kind: 'hello', page: location.href });
      setTimeout(hello, HELLO_EVERY_MS[Math.min(attempt, HELLO_EVERY_MS.length - 1)]);
      attempt += 1;
    };
    hello();
  }

  /** One request to the workspace; resolves with its result or rejects with a CifError. */
  async function call(method, params) {
    await ready;
    return new Promise((resolve, reject) => {
      const id = correlationId();
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new CifError('timeout', `The workspace did not answer ${method} in time.`));
      }, CALL_TIMEOUT_MS);
      pending.set(id, { resolve, reject, timer });
      post({ kind: 'request', id, method, params: params || {} });
    });
  }

  function on(name, fn) {
    if (typeof fn !== 'function') throw new TypeError('a handler must be a function');
    if (!handlers.has(name)) handlers.set(name, new Set());
    handlers.get(name).add(fn);
    return () => off(name, fn);
  }

  function off(name, fn) {
    const set = handlers.get(name);
    if (set) set.delete(fn);
  }

  function mode(value) {
    const name = MODE_ALIASES[value] || value;
    if (!MODES.includes(name)) throw new CifError('invalid', `mode must be one of ${MODES.join(', ')}`);
    return name;
  }

  const api = {
    version: VERSION,
    CifError,
    /** Resolves with the environment once the workspace has answered (the init-done event). */
    ready,
    get isReady() {
      return environment !== null;
    },
    workspaceOrigin,

    // -- events ------------------------------------------------------------------------------
    on,
    off,
    onClickToAct: (fn) => on('clickToAct', fn),
    onModeChanged: (fn) => on('modeChanged', fn),
    onWidthChanged: (fn) => on('widthChanged', fn),
    onSessionSwitched: (fn) => on('sessionSwitched', fn),
    onSessionClosed: (fn) => on('sessionClosed', fn),
    onPresenceChange: (fn) => on('presenceChanged', fn),
    /** CIF's addHandler/removeHandler, with its event names. */
    addHandler(cifName, fn) {
      return on(CIF_EVENTS[String(cifName).toLowerCase()] || cifName, fn);
    },
    removeHandler(cifName, fn) {
      off(CIF_EVENTS[String(cifName).toLowerCase()] || cifName, fn);
    },

    // -- environment ---------------------------------------------------------------------------
    getEnvironment: () => call('getEnvironment'),

    // -- the panel -----------------------------------------------------------------------------
    getMode: () => call('getMode'),
    setMode: async (value) => call('setMode', { mode: mode(value) }),
    getWidth: () => call('getWidth'),
    setWidth: (width) => call('setWidth', { width: Number(width) }),

    // -- records -------------------------------------------------------------------------------
    /** Search and open: one match opens it, none opens a quick-create form, several the search page. */
    searchAndOpenRecords: (entity, query, options) =>
      call('searchAndOpenRecords', { entity, query, searchOnly: Boolean(options && options.searchOnly) }),
    searchRecords: (entity, query) => call('searchAndOpenRecords', { entity, query, searchOnly: true }),
    renderSearchPage: (entity, searchText) => call('renderSearchPage', { entity, searchText }),
    openForm: (entity, options) => call('openForm', { entity, ...(options || {}) }),
    createRecord: (entity, data) => call('createRecord', { entity, data }),
    retrieveRecord: (entity, id) => call('retrieveRecord', { entity, id }),
    updateRecord: (entity, id, data) => call('updateRecord', { entity, id, data }),

    // -- notifications -------------------------------------------------------------------------
    /** Resolves with { action: 'Accept' | 'Reject' | 'Timeout' | 'Cancel', reason }. */
    notifyEvent: (input) => call('notifyEvent', input || {}),
    cancelEvent: (cancellationToken) => call('cancelEvent', { cancellationToken }),

    // -- sessions and tabs ---------------------------------------------------------------------
    canCreateSession: () => call('canCreateSession'),
    createSession: (input) => call('createSession', input || {}),
    getSession: (sessionId) => call('getSession', { sessionId }),
    getAllSessions: () => call('getAllSessions'),
    getFocusedSession: () => call('getFocusedSession'),
    focusSession: (sessionId) => call('focusSession', { sessionId }),
    setSessionTitle: (sessionId, title) => call('setSessionTitle', { sessionId, title }),
    createTab: (input) => call('createTab', input || {}),
    focusTab: (tabId) => call('focusTab', { tabId }),
    closeTab: (tabId) => call('closeTab', { tabId }),
    getFocusedTab: () => call('getFocusedTab'),

    // -- presence ------------------------------------------------------------------------------
    getPresence: () => call('getPresence'),
    setPresence: (presence) => call('setPresence', { presence }),

    // -- click-to-act --------------------------------------------------------------------------
    getClickToAct: () => call('getClickToAct'),
    setClickToAct: (enabled) => call('setClickToAct', { enabled: Boolean(enabled) }),
  };

  global.OmnirouteCIF = Object.freeze(api);
  handshake();
})(window);
