// The presence selector (base presences and the configured custom ones) and the agent's load.

import { announce, errorText } from './dom.js';
import { t } from './i18n.js';
import { channelLabel } from './labels.js';

export const PRESENCE_LABELS = {
  available: t('Available'),
  busy: t('Busy'),
  busy_dnd: t('Do not disturb'),
  away: t('Away'),
  offline: t('Offline'),
  inactive: t('Inactive (missed an offer)'),
};

export class PresenceControl {
  constructor({ api }) {
    this.api = api;
    this.select = document.getElementById('presence-select');
    this.load = document.getElementById('agent-load');
    this.capacity = null;
    this.serverLoad = null;
    this.select.addEventListener('change', () => this.choose(this.select.value));
  }

  /** Show what routing says the agent is: a custom presence if one is chosen, else the base. */
  show(presence, custom = null) {
    let value = presence;
    if (custom) {
      if (!this.select.querySelector(`option[value="${CSS.escape(custom)}"]`)) this.addCustom(custom);
      value = custom;
    }
    this.select.value = value;
    this.select.dataset.current = value;
    this.select.dataset.base = presence;
    this.select.disabled = false;
    document.getElementById('presence-dot').dataset.presence = presence;
  }

  /** A custom presence configured after this page was rendered: show it by its id. */
  addCustom(id) {
    let group = this.select.querySelector('optgroup[data-group="custom"]');
    if (!group) {
      group = document.createElement('optgroup');
      group.dataset.group = 'custom';
      group.label = t('Custom');
      this.select.append(group);
    }
    const option = document.createElement('option');
    option.value = id;
    option.textContent = id;
    group.append(option);
  }

  async choose(wanted) {
    this.select.disabled = true;
    try {
      const reply = await this.api.put('/api/v1/me/presence', { presence: wanted });
      this.show(reply.presence, reply.custom_presence);
    } catch (error) {
      this.select.value = this.select.dataset.current || 'offline';
      this.select.disabled = false;
      announce(t('Presence not changed: {reason}', { reason: errorText(error) }));
    }
  }

  focus() {
    this.select.focus();
  }

  /** Capacity figures, when the server reports them ({used_units, total_units}). */
  setCapacity(capacity) {
    this.capacity = capacity && Number.isFinite(capacity.total_units) ? capacity : null;
  }

  /**
   * What GET /api/v1/me says: open conversations per channel and the capacity profile. The
   * sessions on the page say the same once the socket's snapshot is in; until then (and for
   * work the page shows no tab for) the server's figures are shown.
   */
  setServerLoad(load, profile = null) {
    this.serverLoad = load && typeof load === 'object' ? load : null;
    this.load.title = profile ? t('Capacity profile: {name}', { name: profile }) : '';
  }

  /** The sessions the agent holds, by channel; capacity units too when known. */
  showLoad(views) {
    const byChannel = new Map();
    let total = 0;
    for (const view of views) {
      if (view.role !== 'holder' || !view.data) continue;
      total += 1;
      byChannel.set(view.data.channel, (byChannel.get(view.data.channel) || 0) + 1);
    }
    if (total === 0 && this.serverLoad) {
      for (const [channel, n] of Object.entries(this.serverLoad)) {
        if (!(n > 0)) continue;
        total += n;
        byChannel.set(channel, n);
      }
    }
    const parts = [...byChannel].map(([channel, n]) => `${channelLabel(channel)} ${n}`);
    let text = t('Open sessions: {count}', { count: total });
    if (this.capacity) {
      text = t('Capacity used: {used} of {total} units', {
        used: this.capacity.used_units, total: this.capacity.total_units,
      });
    }
    this.load.textContent = parts.length ? `${text} (${parts.join(', ')})` : text;
    this.load.dataset.count = String(total);
  }
}
