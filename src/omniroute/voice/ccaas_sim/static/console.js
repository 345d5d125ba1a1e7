// The reference CCaaS console: place test calls, play the caller in the IVR, watch queues, agents
// and what was reported to Omniroute. It polls /api/state once a second (a simulator: simple
// beats clever).

const $ = (id) => document.getElementById(id);
const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

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

function showError(error) {
  $('error').textContent = error ? error.message : '';
  $('error').hidden = !error;
}

async function act(task) {
  try {
    showError(null);
    await task();
    await refresh();
  } catch (error) {
    showError(error);
  }
}

$('place').addEventListener('submit', (event) => {
  event.preventDefault();
  const keys = $('keys').value.replace(/\s+/g, '');
  act(() => api('POST', '/api/calls', { from: $('from').value, keys }));
});

function renderCalls(calls) {
  const list = $('calls');
  list.replaceChildren();
  $('no-calls').hidden = calls.length > 0;
  for (const call of calls) {
    const row = $('call-template').content.firstElementChild.cloneNode(true);
    row.dataset.callId = call.id;
    row.dataset.status = call.status;
    row.querySelector('.who').textContent = call.direction === 'inbound' ? call.from : `→ ${call.to}`;
    row.querySelector('.state').textContent = call.status + (call.end_reason ? ` (${call.end_reason})` : '');
    row.querySelector('.queue').textContent = [call.queue, call.agent_id && `agent ${call.agent_id}`]
      .filter(Boolean)
      .join(' · ');
    row.querySelector('.prompt').textContent = call.ivr_prompt ? `IVR: “${call.ivr_prompt}”` : '';
    const data = Object.entries(call.ivr_data || {});
    row.querySelector('.ivr').textContent = data.length ? data.map(([k, v]) => `${k}: ${v}`).join(', ') : '';
    if (call.status === 'ivr') {
      const pad = row.querySelector('.keypad');
      for (const key of KEYS) {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = key;
        b.setAttribute('aria-label', `Press ${key}`);
        b.addEventListener('click', () => act(() => api('POST', `/api/calls/${call.id}/dtmf`, { keys: key })));
        pad.append(b);
      }
    }
    const answer = row.querySelector('[data-action="answer"]');
    answer.hidden = call.status !== 'dialling';
    answer.addEventListener('click', () => act(() => api('POST', `/api/calls/${call.id}/answer`)));
    const hangup = row.querySelector('[data-action="hangup"]');
    hangup.hidden = call.status === 'ended';
    hangup.addEventListener('click', () => act(() => api('POST', `/api/calls/${call.id}/hangup`)));
    list.append(row);
  }
}

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

function render(state) {
  renderCalls(state.calls);
  $('queues').replaceChildren(
    ...state.queues.map((q) => {
      const tr = document.createElement('tr');
      tr.append(cell(q.name), cell(String(q.waiting.length)));
      return tr;
    }),
  );
  $('agents').replaceChildren(
    ...state.agents.map((a) => {
      const tr = document.createElement('tr');
      tr.dataset.agentId = a.id;
      tr.append(cell(a.name), cell(a.status.replace('_', ' ')), cell(new Date(a.since).toLocaleTimeString()));
      return tr;
    }),
  );
  $('webhook').textContent = state.reporting.url;
  $('delivered').textContent = String(state.reporting.delivered);
  $('pending').textContent = String(state.reporting.pending);
  $('deliveries').replaceChildren(
    ...state.reporting.recent.map((r) => {
      const li = document.createElement('li');
      li.textContent = `${new Date(r.at).toLocaleTimeString()} · ${r.events} event(s) · ${r.status || 'no answer'} ${r.detail}`;
      return li;
    }),
  );
}

async function refresh() {
  render(await api('GET', '/api/state'));
}

async function loop() {
  try {
    await refresh();
  } catch (error) {
    showError(error);
  }
  setTimeout(loop, 1000);
}
loop();
