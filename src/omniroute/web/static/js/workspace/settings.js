// The settings dialog: language, offer sound and desktop notifications, notification templates.
// The settings live on the user record (PUT /api/v1/me/preferences), so they follow the agent to
// every browser; this browser keeps a copy for when the server cannot be reached (storage.js).

import { page } from './data.js';
import { announce, showError } from './dom.js';
import { t } from './i18n.js';
import {
  askDesktopPermission, beep, desktopNotify, desktopPermission,
} from './notify.js';
import { DEFAULT_BODY_TEMPLATE, DEFAULT_TITLE_TEMPLATE } from './offers.js';
import { renderTemplate } from './slugs.js';
import { settingsFromApi, settingsToApi, startingSettings } from './storage.js';

const PERMISSION_TEXT = {
  granted: t('Desktop notifications are allowed in this browser.'),
  denied: t('This browser blocks notifications from the workspace; allow them in the site settings.'),
  default: t('The browser will ask for permission when you save.'),
  unsupported: t('This browser cannot show desktop notifications.'),
};

const SAMPLE_OFFER = {
  customer_name: 'Jane Doe',
  queue_name: 'Sales',
  channel: 'webchat',
  preview: t('Does the wool throw come in grey?'),
  prechat: { name: 'Jane Doe', email: 'jane@example.com', question: t('Does the wool throw come in grey?') },
};

export class SettingsDialog {
  constructor({ store, features, api, onChange }) {
    this.store = store;
    this.features = features;
    this.api = api;
    this.onChange = onChange;
    this.dialog = document.getElementById('settings-dialog');
    this.error = this.dialog.querySelector('.form-error');
    this.saveButton = this.dialog.querySelector('[value="save"]');
    this.fields = {
      language: document.getElementById('settings-language'),
      sound: document.getElementById('settings-sound'),
      desktop: document.getElementById('settings-desktop'),
      titleTemplate: document.getElementById('settings-title-template'),
      bodyTemplate: document.getElementById('settings-body-template'),
    };
    this.fields.titleTemplate.placeholder = DEFAULT_TITLE_TEMPLATE;
    this.fields.bodyTemplate.placeholder = DEFAULT_BODY_TEMPLATE;
    this.dialog.querySelector('form').addEventListener('submit', (event) => {
      if (!event.submitter || event.submitter.value !== 'save') return;
      event.preventDefault(); // closed once the server has them (or cannot be reached)
      this.save();
    });
    this.dialog.addEventListener('close', () => showError(this.error, null));
    document.getElementById('settings-try').addEventListener('click', () => this.tryIt());
    const start = startingSettings({
      server: features.has('preferences') ? page.preferences : undefined,
      local: store.load(),
      localSaved: store.saved(),
      localPending: store.pending(),
    });
    this.settings = start.settings;
    if (start.push) this.keep(start.settings);
    else if (features.has('preferences') && page.preferences) store.save(start.settings);
  }

  current() {
    return this.settings;
  }

  open() {
    this.fields.language.value = page.locale;
    for (const key of ['sound', 'desktop', 'titleTemplate', 'bodyTemplate']) {
      this.fields[key].value = this.settings[key];
    }
    this.showPermission();
    this.dialog.showModal();
  }

  showPermission() {
    document.getElementById('settings-permission').textContent =
      PERMISSION_TEXT[desktopPermission()] || '';
  }

  async save() {
    const next = {
      sound: this.fields.sound.value,
      desktop: this.fields.desktop.value,
      titleTemplate: this.fields.titleTemplate.value.trim(),
      bodyTemplate: this.fields.bodyTemplate.value.trim(),
    };
    // Still inside the click on Save: browsers only ask for permission during a user gesture.
    if (next.desktop !== 'never') askDesktopPermission();
    this.saveButton.disabled = true;
    let refused;
    try {
      refused = await this.keep(next);
    } finally {
      this.saveButton.disabled = false;
    }
    if (refused) {
      showError(this.error, refused);
      return;
    }
    this.dialog.close('save');
    this.onChange(this.settings);
    const language = this.fields.language.value;
    if (language !== page.locale) this.switchLanguage(language);
  }

  /**
   * Use `next` from now on and store it on the user record. Returns the server's refusal (a 4xx
   * with its reason) for the dialog to show; when the server cannot be reached the settings are
   * used and kept in this browser, and the next page load sends them.
   */
  async keep(next) {
    if (!this.features.has('preferences')) {
      this.use(next, false);
      return null;
    }
    try {
      this.use(settingsFromApi(await this.api.put('/api/v1/me/preferences', settingsToApi(next))), false);
      return null;
    } catch (error) {
      if (this.features.noteFailure('preferences', error)) {
        this.use(next, false); // an older server: this browser is all there is
        return null;
      }
      if (!error.retryable) return error;
      this.use(next, true);
      announce(t('Your settings are kept in this browser until the server can be reached.'));
      return null;
    }
  }

  use(settings, pending) {
    this.settings = settings;
    this.store.save(settings, { pending });
  }

  async switchLanguage(language) {
    if (this.features.has('locale')) {
      try {
        await this.api.put('/api/v1/me/locale', { locale: language });
      } catch (error) {
        this.features.noteFailure('locale', error); // the cookie below still carries the choice
      }
    }
    const url = new URL(window.location.href);
    url.searchParams.set('lang', language);
    window.location.assign(url.toString());
  }

  /** Preview the notification with a made-up offer, using the values typed so far. */
  tryIt() {
    const title = renderTemplate(this.fields.titleTemplate.value || DEFAULT_TITLE_TEMPLATE, SAMPLE_OFFER);
    const body = renderTemplate(this.fields.bodyTemplate.value || DEFAULT_BODY_TEMPLATE, SAMPLE_OFFER);
    document.getElementById('settings-preview').textContent = `${title} — ${body}`;
    if (this.fields.sound.value !== 'never') beep();
    if (this.fields.desktop.value !== 'never') {
      askDesktopPermission().then(() => {
        this.showPermission();
        desktopNotify({ title, body, tag: 'omniroute-preview' });
      });
    }
  }
}
