// The voice panel (docs/VOICE.md, "Browser SDK reference"): each enabled provider's softphone in
// an iframe beside the sessions, talking to the workspace through cif-host.js. The workspace lends
// its sessions (list, focused, focus), opens screen pops as customer sessions, and forwards
// presence changes and session switches. The page's CSP frames only the providers' origins.

import { mountVoicePanel } from '../cif-host.js';
import { page } from './data.js';
import { t } from './i18n.js';

// Text cif-host.js shows through the workspace's t() by variable (notification templates,
// buttons), listed here so `pybabel extract` puts it in the catalogue.
export const CIF_HOST_TEXT = [
  t('Phone'), t('Minimise'), t('Expand'), t('{count} matching records'), t('No matching records'),
  t('New customer'), t('Create'), t('Close'), t('Notification'), t('{seconds} s left'),
  t('From'), t('Customer'), t('Queue'), t('IVR'), t('Call'), t('Accept'), t('Decline'),
  t('Call now'), t('Skip'), t('OK'), t('Name'), t('Email'),
];

/**
 * Mount the panel in `element` (hidden when no provider is enabled).
 * @returns {Promise<object|null>} cif-host's handle, or null when this server has no voice API
 */
export async function mountVoice(element, {
  api, features, sessions, onScreenPop, openForm, openRecord, onNotification,
}) {
  if (!features.has('voiceProviders')) {
    element.hidden = true;
    return null;
  }
  const providers = await api.get('/api/v1/voice/providers').catch(() => []);
  element.hidden = providers.length === 0;
  return mountVoicePanel(element, {
    providers,
    api,
    t,
    locale: page.locale,
    agent: { id: page.userId, name: page.displayName, email: page.email },
    sessions,
    onScreenPop,
    openForm,
    openRecord,
    onNotification,
  });
}
