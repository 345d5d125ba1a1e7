// Omniroute browser client: REST calls, a self-healing WebSocket and per-conversation transcripts.
//
// The workspace builds on these three pieces. They carry the delivery rules of the real-time
// protocol: messages are identified by (conversation_id, seq), may arrive more than once (REST
// and socket overlap, replays after a reconnect) and must be shown once, in seq order.

/** An HTTP error with the server's `detail` text, so the UI can show why something failed. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `request failed (${status})`);
    this.name = 'ApiError';
    this.status = status;
  }

  /** Network failures and 5xx may succeed when retried; 4xx will not. */
  get retryable() {
    return this.status === 0 || this.status >= 500 || this.status === 429;
  }
}

/**
 * JSON over fetch with the session cookie; writes carry the CSRF token the page was given.
 * `onUnauthorized` runs on any 401, i.e. when the session has expired or was signed out.
 */
export class ApiClient {
  constructor({ csrfToken, base = '', onUnauthorized = () => {} }) {
    this.csrfToken = csrfToken;
    this.base = base;
    this.onUnauthorized = onUnauthorized;
  }

  get(path) {
    return this.request('GET', path);
  }

  post(path, body) {
    return this.request('POST', path, body);
  }

  put(path, body) {
    return this.request('PUT', path, body);
  }

  async request(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET') headers['X-CSRF-Token'] = this.csrfToken;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers,
        credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, 'The server could not be reached.');
    }
    if (response.status === 204) return null;
    if (response.status === 401) this.onUnauthorized();
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, data && data.detail);
    return data;
  }
}

/** A random id for the idempotency key of a message; retries reuse it so nothing posts twice. */
export function newClientMessageId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The messages of one conversation, keyed by seq.
 *
 * `cursor` is the highest seq up to which nothing is missing. It, not the highest seq seen, is
 * what we resume from: a REST reply can hand us seq 12 before the socket delivers 11, and
 * resuming after 12 would lose 11 for good.
 */
export class Transcript {
  constructor() {
    this.bySeq = new Map();
    this.cursor = 0;
  }

  /** Store a message; returns false when it is a duplicate and must not be rendered again. */
  add(message) {
    if (!Number.isInteger(message.seq) || this.bySeq.has(message.seq)) return false;
    this.bySeq.set(message.seq, message);
    while (this.bySeq.has(this.cursor + 1)) this.cursor += 1;
    return true;
  }

  has(seq) {
    return this.bySeq.has(seq);
  }
}

/** Exponential backoff with jitter, so a restarting server is not hit by every client at once. */
export class Backoff {
  constructor({ initialMs = 500, maxMs = 30000 } = {}) {
    this.initialMs = initialMs;
    this.maxMs = maxMs;
    this.attempt = 0;
  }

  next() {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt);
    this.attempt += 1;
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  reset() {
    this.attempt = 0;
  }
}

/**
 * Run `task` again after retryable failures (network, 5xx), waiting longer each time.
 * The task must be safe to repeat: message posts are, thanks to their client_message_id.
 */
export async function withRetries(task, { attempts = 3 } = {}) {
  const backoff = new Backoff({ initialMs: 1000, maxMs: 8000 });
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await task();
    } catch (error) {
      const retryable = error instanceof ApiError && error.retryable;
      if (!retryable || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, backoff.next()));
    }
  }
}

const PING_EVERY_MS = 25000;
const SILENCE_LIMIT_MS = 60000;

/**
 * A WebSocket that reconnects by itself.
 *
 * `hello()` builds the first frame on every (re)connect, so it always carries fresh cursors.
 * A `resync` frame means the server lost track of what we saw: reconnect at once for a fresh
 * snapshot. Pings keep idle proxies from dropping the socket and reveal a silently dead one.
 */
export class LiveSocket {
  constructor(url, { hello, onFrame, onStatus, shouldRetry = () => true }) {
    this.url = url;
    this.hello = hello;
    this.onFrame = onFrame;
    this.onStatus = onStatus || (() => {});
    this.shouldRetry = shouldRetry;
    this.backoff = new Backoff();
    this.ws = null;
    this.stopped = false;
    this.retryTimer = null;
    this.pingTimer = null;
    this.lastHeard = 0;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.stopPing();
    if (this.ws) this.ws.close(1000);
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  /** Drop the current socket and connect again straight away (used for `resync`). */
  reconnectNow() {
    if (!this.ws) return;
    const old = this.ws;
    this.closed(old, { code: 4000 }); // don't wait for the close handshake
    old.close(4000, 'resync');
  }

  connect() {
    this.onStatus(this.backoff.attempt === 0 ? 'connecting' : 'reconnecting');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener('open', () => {
      this.lastHeard = Date.now();
      ws.send(JSON.stringify(this.hello()));
      this.startPing();
    });
    ws.addEventListener('message', (event) => {
      if (ws === this.ws) this.receive(event); // frames from an abandoned socket are stale
    });
    ws.addEventListener('close', (event) => this.closed(ws, event));
  }

  receive(event) {
    this.lastHeard = Date.now();
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (frame.type === 'snapshot') {
      this.backoff.reset();
      this.onStatus('live');
    }
    if (frame.type === 'resync') {
      this.reconnectNow();
      return;
    }
    if (frame.type !== 'pong') this.onFrame(frame);
  }

  closed(ws, event) {
    if (ws !== this.ws) return;
    this.stopPing();
    this.ws = null;
    if (this.stopped) return;
    if (!this.shouldRetry(event.code)) {
      this.onStatus('failed', event.code);
      return;
    }
    const delay = event.code === 4000 ? 0 : this.backoff.next(); // 4000: our own resync
    this.onStatus('reconnecting');
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  startPing() {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastHeard > SILENCE_LIMIT_MS && this.ws) this.abandon();
      else this.send({ type: 'ping' });
    }, PING_EVERY_MS);
  }

  /** Give up on a socket that went quiet: on a dead link its close event can take minutes. */
  abandon() {
    const dead = this.ws;
    this.closed(dead, { code: 4001 }); // reconnect now; the late close event is then ignored
    dead.close(4001, 'silent');
  }

  stopPing() {
    clearInterval(this.pingTimer);
    this.pingTimer = null;
  }
}

/** ws:// or wss:// for a path on this page's origin. */
export function socketUrl(path) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}

/** Send typing on/off without flooding: at most one "on" per interval, "off" after a pause. */
export class TypingSignal {
  constructor(send, { everyMs = 3000, idleMs = 4000 } = {}) {
    this.sendSignal = send;
    this.everyMs = everyMs;
    this.idleMs = idleMs;
    this.lastOn = 0;
    this.idleTimer = null;
  }

  /** Call on every keystroke that changes the draft. */
  poke() {
    const now = Date.now();
    if (now - this.lastOn > this.everyMs) {
      this.lastOn = now;
      this.sendSignal(true);
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stop(), this.idleMs);
  }

  /** Call when the draft is sent or abandoned. */
  stop() {
    clearTimeout(this.idleTimer);
    if (this.lastOn) {
      this.lastOn = 0;
      this.sendSignal(false);
    }
  }
}
