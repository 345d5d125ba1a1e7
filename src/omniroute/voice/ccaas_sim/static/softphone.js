// The reference CCaaS softphone, running in the Omniroute workspace's phone panel. It shows how a
// vendor uses omniroute-cif.js: wait for the handshake, learn the agent, follow Omniroute presence,
// raise a notification for a ringing call, screen-pop the caller once the call is answered, and
// dial numbers the agent clicks in the workspace. The call itself lives in the simulator's back
// end (/api/agents/…), which reports every change to Omniroute as signed call events.

const $ = (id) => document.getElementById(id);
const CIF = window.OmnirouteCIF;
const POLL_MS = 1000;

let agentId = null;
let view = null; // the last { agent, call, queues } from the back end
let notified = null; // the call id a notification is showing for
let popped = null; // the call id whose caller was screen-popped
let sessionNote = '';

async function api(method, path, body) {
  const write = method !== 'GET';
  const response = await fetch(path, {
    method,
    headers: write ? { 'Content-Type': 'application/json' } : {}, // the simulator refuses other writes
    body: write ? JSON.stringify(body ?? {}) : undefined,
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Error((data && data.detail) || `HTTP ${response.status}`);
  return data;
}

function status(text, state) {
  $('status').textContent = text;
  $('status').dataset.state = state;
}

function showError(error) {
  $('error').textContent = error ? error.message || String(error) : '';
  $('error').hidden = !error;
}

async function act(task) {
  try {
    showError(null);
    const next = await task();
    if (next && next.agent) await apply(next);
  } catch (error) {
    showError(error);
  }
}

const agentPath = (suffix = '') => `/api/agents/${encodeURIComponent(agentId)}${suffix}`;

// -- rendering -------------------------------------------------------------------------------

const STATE_TEXT = {
  offline: 'signed out',
  not_ready: 'not ready',
  available: 'ready for calls',
  ringing: 'ringing',
  on_call: 'on a call',
  wrap_up: 'wrap-up',
};

function render() {
  const { agent, call } = view;
  $('agent-state').textContent = STATE_TEXT[agent.status] || agent.status;
  $('agent-state').dataset.state = agent.status;
  const live = call && agent.status !== 'wrap_up' ? call : null;
  $('call').hidden = !live;
  $('wrapup').hidden = agent.status !== 'wrap_up';
  if (agent.status === 'ringing') status(`Incoming call from ${call.from}`, 'ringing');
  else if (agent.status === 'on_call') status(call.status === 'held' ? 'On hold' : 'On a call', 'on_call');
  else if (agent.status === 'wrap_up') status('Wrap-up: choose a disposition', 'wrap_up');
  else status(agent.status === 'available' ? 'Waiting for calls' : 'Not ready for calls', agent.status);
  if (!live) return;
  const customer = live.direction === 'inbound' ? live.from : live.to;
  $('call-title').textContent = `${live.direction === 'inbound' ? 'Call from' : 'Calling'} ${customer}`;
  const rows = [
    ['State', live.status],
    ['Queue', live.queue],
    ...Object.entries(live.ivr_data || {}).map(([k, v]) => [k.replace('_', ' '), v]),
  ].filter(([, v]) => v);
  $('call-details').replaceChildren(
    ...rows.flatMap(([k, v]) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      return [dt, dd];
    }),
  );
  const buttons = (name) => document.querySelector(`[data-action="${name}"]`);
  buttons('accept').hidden = agent.status !== 'ringing';
  buttons('decline').hidden = agent.status !== 'ringing';
  buttons('hold').hidden = live.status !== 'connected';
  buttons('resume').hidden = live.status !== 'held';
  buttons('hangup').hidden = agent.status !== 'on_call';
  $('transfer').hidden = !['connected', 'held'].includes(live.status);
}

// -- what happens between two views -----------------------------------------------------------

async function apply(next) {
  const before = view;
  view = next;
  render();
  const call = next.call;
  const ringing = next.agent.status === 'ringing' ? call : null;
  if (ringing && notified !== ringing.id) announce(ringing);
  if (notified && (!ringing || ringing.id !== notified)) {
    CIF.cancelEvent(notified).catch(() => {}); // answered here, or the ring is over
    notified = null;
  }
  const talking = next.agent.status === 'on_call' && call && call.status !== 'dialling' ? call : null;
  if (talking && popped !== talking.id) {
    popped = talking.id;
    await screenPop(talking);
  }
  if (before && before.agent.status !== next.agent.status) {
    console.info('softphone:', before.agent.status, '→', next.agent.status);
  }
}

async function announce(call) {
  notified = call.id;
  CIF.setMode('docked').catch(() => {});
  let customer = null;
  try {
    const found = await CIF.searchRecords('customer', { phone: call.from });
    customer = found.records.length === 1 ? found.records[0].display_name : found.records.length ? `${found.records.length} matches` : 'New caller';
  } catch {
    /* the toast still shows the number */
  }
  const secondsLeft = call.ring_until ? Math.max(1, Math.round((Date.parse(call.ring_until) - Date.now()) / 1000)) : 20;
  try {
    const answer = await CIF.notifyEvent({
      template: 'incoming-call',
      cancellationToken: call.id,
      timeoutSeconds: secondsLeft,
      params: { from: call.from, customer, queue: call.queue, ivr: call.ivr_data },
    });
    if (answer.action === 'Accept') await act(() => api('POST', agentPath('/accept'), { call_id: call.id }));
    else if (answer.action === 'Reject' && answer.reason === 'declined') {
      await act(() => api('POST', agentPath('/decline'), { call_id: call.id }));
    }
  } catch (error) {
    showError(error);
  }
}

async function screenPop(call) {
  const phone = call.direction === 'inbound' ? call.from : call.to;
  try {
    const found = await CIF.searchAndOpenRecords('customer', { phone });
    console.info('softphone: screen pop', found.outcome);
  } catch (error) {
    showError(error);
  }
  try {
    await CIF.createSession({
      template: 'voice-call',
      title: phone,
      context: { call_id: call.id, phone, queue: call.queue, ivr_data: call.ivr_data },
    });
  } catch (error) {
    // Sessions are the workspace's to give; without them the caller's record is still open.
    if (error.code !== 'not_supported') showError(error);
    sessionNote = error.code === 'not_supported' ? 'This workspace does not open call sessions.' : '';
    $('workspace-note').textContent = sessionNote;
  }
}

// -- controls --------------------------------------------------------------------------------

document.querySelector('.call').addEventListener('click', (event) => {
  const button = event.target.closest('button[data-action]');
  if (!button || !view || !view.call) return;
  const callId = view.call.id;
  const routes = {
    accept: () => api('POST', agentPath('/accept'), { call_id: callId }),
    decline: () => api('POST', agentPath('/decline'), { call_id: callId }),
    hold: () => api('POST', agentPath('/hold')),
    resume: () => api('POST', agentPath('/resume')),
    hangup: () => api('POST', agentPath('/hangup')),
  };
  act(routes[button.dataset.action]);
});

$('transfer').addEventListener('submit', (event) => {
  event.preventDefault();
  act(() => api('POST', agentPath('/transfer'), { queue: $('transfer-queue').value }));
});

$('wrapup').addEventListener('submit', (event) => {
  event.preventDefault();
  act(() => api('POST', agentPath('/wrapup'), { disposition: $('disposition').value, notes: $('notes').value }));
  $('notes').value = '';
});

$('dial').addEventListener('submit', (event) => {
  event.preventDefault();
  act(() => api('POST', agentPath('/dial'), { to: $('dial-to').value }));
});

// The answer is applied at once; the workspace's presence event says the same thing later.
$('ready').addEventListener('click', () => act(async () => followPresence(await CIF.setPresence('available'))));
$('not-ready').addEventListener('click', () => act(async () => followPresence(await CIF.setPresence('away'))));

// -- start -------------------------------------------------------------------------------------

async function followPresence(presence) {
  $('presence').textContent = presence.custom_presence || presence.presence;
  // The phone takes calls exactly when the agent is available in Omniroute.
  if (agentId) await act(() => api('PUT', agentPath('/ready'), { ready: presence.presence === 'available' }));
}

async function poll() {
  try {
    await apply(await api('GET', agentPath()));
  } catch (error) {
    showError(error);
  }
  setTimeout(poll, POLL_MS);
}

async function start() {
  if (!CIF) {
    status('The Omniroute SDK did not load.', 'error');
    return;
  }
  let env;
  try {
    env = await CIF.ready;
  } catch (error) {
    status(`${error.message} Open this softphone from the Omniroute workspace.`, 'error');
    return;
  }
  agentId = env.agent.provider_agent_id || env.agent.id;
  $('agent').textContent = `${env.agent.name || agentId} · ${env.provider.name}`;
  const signedIn = await api('PUT', agentPath(), { name: env.agent.name || agentId });
  $('transfer-queue').replaceChildren(
    ...signedIn.queues.map((q) => {
      const option = document.createElement('option');
      option.textContent = q;
      return option;
    }),
  );
  CIF.onPresenceChange(followPresence);
  await followPresence(await CIF.getPresence());
  if ((env.provider.features || []).includes('click_to_dial')) {
    await CIF.setClickToAct(true);
    CIF.onClickToAct((e) => {
      $('dial-to').value = e.value;
      act(() => api('POST', agentPath('/dial'), { to: e.value }));
    });
  }
  await apply(await api('GET', agentPath()));
  setTimeout(poll, POLL_MS);
}

start().catch((error) => status(error.message, 'error'));
