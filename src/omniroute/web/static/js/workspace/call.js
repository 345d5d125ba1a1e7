// A voice session's call details (docs/VOICE.md): the CCaaS owns the call, Omniroute mirrors it in
// a conversation on channel "voice". The call is read when the session opens and again on each
// voice.call_changed frame for it; talking happens in the softphone, not in the composer.

import { dateTimeOf, el, formatDuration, path } from './dom.js';
import { t } from './i18n.js';

const CALL_STATES = {
  new: t('New'),
  offered: t('In the IVR or queue'),
  ringing: t('Ringing'),
  connected: t('Connected'),
  held: t('On hold'),
  wrap_up: t('Wrap-up'),
  closed: t('Closed'),
};
const DIRECTIONS = { inbound: t('Inbound'), outbound: t('Outbound') };
const IVR_FIELDS = { menu: t('Menu choice'), account_number: t('Account number'), ivr_result: t('IVR result') };

/** [label, text] rows for a CallOut, leaving out what the call does not have. */
export function callRows(call) {
  const rows = [
    [t('Call'), CALL_STATES[call.state] || call.state],
    [t('Direction'), DIRECTIONS[call.direction] || call.direction],
    [t('From'), call.from_number],
    [t('To'), call.to_number],
    [t('Voice queue'), call.queue],
  ];
  for (const [key, value] of Object.entries(call.ivr_data || {})) rows.push([IVR_FIELDS[key] || key, value]);
  const d = call.durations || {};
  if (d.talk) rows.push([t('Talk time'), formatDuration(d.talk)]);
  if (d.hold || call.hold_count) {
    rows.push([t('On hold'), t('{time} ({count} times)', { time: formatDuration(d.hold || 0), count: call.hold_count })]);
  }
  if (call.answered_at) rows.push([t('Answered'), dateTimeOf(call.answered_at)]);
  if (call.ended_at) rows.push([t('Ended'), dateTimeOf(call.ended_at)]);
  if (call.disposition) rows.push([t('Call disposition'), call.disposition]);
  return rows.filter(([, value]) => value !== null && value !== undefined && value !== '');
}

export class CallDetails {
  /** @param {import('./conversation.js').ConversationView} view */
  constructor(view) {
    this.view = view;
    this.root = view.q('.call-details');
    this.call = null;
  }

  isCall() {
    return Boolean(this.view.data && this.view.data.channel === 'voice');
  }

  async load() {
    const { features, api } = this.view.desk;
    if (!this.isCall() || !features.has('call')) {
      this.root.hidden = true;
      return;
    }
    try {
      this.render(await api.get(path`/api/v1/voice/conversations/${this.view.id}/call`));
    } catch (error) {
      // A call without its conversation mirrored yet is not an error the agent can act on.
      if (!features.noteFailure('call', error)) this.root.hidden = !this.call;
    }
  }

  render(call) {
    this.call = call;
    this.root.replaceChildren(...callRows(call).flatMap(([label, value]) => [
      el('dt', {}, label), el('dd', {}, String(value)),
    ]));
    this.root.dataset.state = call.state;
    this.root.hidden = false;
  }
}
