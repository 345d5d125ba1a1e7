// "Share a location": the agent types a place (coordinates, optional name and address) and it
// goes to the customer as a message of its own — a map pin on WhatsApp and Telegram, a line with
// an OpenStreetMap link elsewhere. The dialog checks the ranges as the server does; anything the
// server still refuses (422) is shown in the dialog with its reason.

import { showError, userError } from './dom.js';
import { t } from './i18n.js';

const LIMITS = { latitude: 90, longitude: 180 };

/** The place the form describes, or a user error naming what is wrong. Pure (no DOM). */
export function placeFrom({ latitude, longitude, name = '', address = '' }) {
  const place = {};
  for (const [key, raw] of Object.entries({ latitude, longitude })) {
    const value = String(raw).trim() === '' ? Number.NaN : Number(raw);
    if (!Number.isFinite(value) || Math.abs(value) > LIMITS[key]) {
      throw userError(key === 'latitude'
        ? t('Latitude is a number from -90 to 90.')
        : t('Longitude is a number from -180 to 180.'));
    }
    place[key] = value;
  }
  place.name = name.trim() || null;
  place.address = address.trim() || null;
  return place;
}

export class LocationDialog {
  constructor() {
    this.dialog = document.getElementById('location-dialog');
    this.view = null;
    if (!this.dialog) return;
    this.form = this.dialog.querySelector('form');
    this.error = this.dialog.querySelector('.form-error');
    this.submit = this.dialog.querySelector('[value="confirm"]');
    this.form.addEventListener('submit', async (event) => {
      if (event.submitter && event.submitter.value !== 'confirm') return;
      event.preventDefault();
      this.submit.disabled = true;
      try {
        await this.share();
        this.dialog.close('done');
      } catch (error) {
        showError(this.error, error);
      } finally {
        this.submit.disabled = false;
      }
    });
    this.dialog.addEventListener('close', () => showError(this.error, null));
  }

  open(view) {
    if (!this.dialog || !view || view.q('[data-action="share-location"]').hidden) return;
    this.view = view;
    this.form.reset();
    this.dialog.showModal();
    this.field('latitude').focus();
  }

  field(name) {
    return this.dialog.querySelector(`[name="${name}"]`);
  }

  async share() {
    const place = placeFrom({
      latitude: this.field('latitude').value,
      longitude: this.field('longitude').value,
      name: this.field('name').value,
      address: this.field('address').value,
    });
    await this.view.shareLocation(place);
  }
}
