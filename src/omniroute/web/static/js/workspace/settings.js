// The settings dialog: language, offer sound and desktop notifications, notification templates.

import { page } from './data.js';
import { t } from './i18n.js';
import {
  askDesktopPermission, beep, desktopNotify, desktopPermission,
} from './notify.js';
import { DEFAULT_BODY_TEMPLATE, DEFAULT_TITLE_TEMPLATE } from './offers.js';
import { renderTemplate } from './slugs.js';

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
    this.settings = store.load();
    this.dialog = document.getElementById('settings-dialog');
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
      if (event.submitter && event.submitter.value === 'save') this.save();
    });
    document.getElementById('settings-try').addEventListener('click', () => this.tryIt());
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

  save() {
    const next = {
      sound: this.fields.sound.value,
      desktop: this.fields.desktop.value,
      titleTemplate: this.fields.titleTemplate.value.trim(),
      bodyTemplate: this.fields.bodyTemplate.value.trim(),
    };
    this.settings = next;
    this.store.save(next);
    // Still inside the click on Save: browsers only ask for permission during a user gesture.
    if (next.desktop !== 'never') askDesktopPermission();
    this.onChange(next);
    const language = this.fields.language.value;
    if (language !== page.locale) this.switchLanguage(language);
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
