// Files in conversations: what a message carries (image previews, file chips with download
// links) and the composer's tray (attach button, drag-and-drop, paste, upload state, remove).
//
// A file is uploaded as soon as it is chosen (POST …/attachments, multipart); sending the reply
// names the uploaded ids. The server sniffs the type and enforces the limits (413, 415), and its
// reason is shown next to the file.

import { path } from './dom.js';
import { t } from './i18n.js';

/** Shown inline as a preview; everything else is a download chip (the server agrees). */
const PREVIEW_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** 2048 → "2 KB": sizes at a glance. */
export function formatSize(bytes) {
  if (!Number.isFinite(bytes)) return '';
  if (bytes < 1024) return t('{size} B', { size: bytes });
  if (bytes < 1024 * 1024) return t('{size} KB', { size: Math.round(bytes / 1024) });
  return t('{size} MB', { size: (bytes / (1024 * 1024)).toFixed(1) });
}

export function downloadUrl(conversationId, attachmentId) {
  return path`/api/v1/conversations/${conversationId}/attachments/${attachmentId}`;
}

function safeExternal(url) {
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
  } catch {
    return null;
  }
}

/** The files of one message: previews for images, chips for the rest. */
export function attachmentsElement(conversationId, attachments) {
  const list = document.createElement('ul');
  list.className = 'msg-files';
  list.dataset.testid = 'message-attachments';
  list.setAttribute('aria-label', t('Attachments'));
  for (const file of attachments) {
    const item = document.createElement('li');
    const link = document.createElement('a');
    const stored = Boolean(file.id);
    const href = stored ? downloadUrl(conversationId, file.id) : safeExternal(file.url || '');
    if (!href) continue;
    link.href = href;
    if (stored && PREVIEW_TYPES.has(file.content_type)) {
      // A preview: the image opens full size in a new tab.
      link.target = '_blank';
      link.rel = 'noopener';
      link.className = 'msg-file-preview';
      link.dataset.testid = 'attachment-preview';
      link.setAttribute('aria-label', t('Open {name}', { name: file.filename }));
      const img = document.createElement('img');
      img.src = href;
      img.alt = file.filename;
      img.loading = 'lazy';
      link.append(img);
    } else {
      link.className = 'msg-file-chip';
      link.dataset.testid = 'attachment-chip';
      if (stored) link.download = file.filename;
      else {
        link.target = '_blank';
        link.rel = 'noopener noreferrer';
      }
      const name = document.createElement('span');
      name.className = 'msg-file-name';
      name.textContent = file.filename;
      const size = document.createElement('span');
      size.className = 'msg-file-size';
      size.textContent = file.size ? formatSize(file.size) : '';
      link.append(name, ' ', size);
      link.setAttribute('aria-label', t('Download {name}', { name: file.filename }));
    }
    item.append(link);
    list.append(item);
  }
  return list;
}

/**
 * Upload with progress (fetch cannot report upload progress). Resolves with the stored file,
 * rejects with an Error whose message is the server's reason.
 */
function upload(url, file, csrfToken, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && data) resolve(data);
      else {
        const reason = (data && data.detail) || t('The file could not be uploaded.');
        reject(Object.assign(new Error(reason), { userFacing: true, status: xhr.status }));
      }
    });
    xhr.addEventListener('error', () =>
      reject(Object.assign(new Error(t('The server could not be reached.')), { userFacing: true })));
    const body = new FormData();
    body.append('file', file, file.name);
    xhr.send(body);
  });
}

/** The composer's files: chosen, uploading, ready or failed; removed with one click. */
export class AttachmentTray {
  /** @param {import('./conversation.js').ConversationView} view */
  constructor(view) {
    this.view = view;
    this.items = []; // {file, state: 'uploading'|'ready'|'failed', stored, element, promise}
    const composer = view.q('.composer');
    this.input = document.createElement('input');
    this.input.type = 'file';
    this.input.multiple = true;
    this.input.hidden = true;
    this.input.id = `files-${view.id}`;
    this.input.dataset.testid = 'attach-input';
    this.button = document.createElement('button');
    this.button.type = 'button';
    this.button.className = 'button attach-button';
    this.button.dataset.testid = 'attach-button';
    this.button.textContent = t('Attach');
    this.button.setAttribute('aria-label', t('Attach files'));
    this.button.setAttribute('aria-controls', this.input.id);
    this.list = document.createElement('ul');
    this.list.className = 'composer-files';
    this.list.dataset.testid = 'composer-files';
    this.list.setAttribute('aria-label', t('Files to send'));
    this.list.hidden = true;
    const send = composer.querySelector('[type="submit"]');
    composer.insertBefore(this.list, composer.querySelector('label'));
    composer.insertBefore(this.button, send);
    composer.append(this.input);

    this.button.addEventListener('click', () => this.input.click());
    this.input.addEventListener('change', () => {
      this.add([...this.input.files]);
      this.input.value = '';
    });
    composer.addEventListener('dragover', (event) => {
      if (![...(event.dataTransfer?.types || [])].includes('Files')) return;
      event.preventDefault();
      composer.classList.add('drop-target');
    });
    composer.addEventListener('dragleave', () => composer.classList.remove('drop-target'));
    composer.addEventListener('drop', (event) => {
      composer.classList.remove('drop-target');
      const files = [...(event.dataTransfer?.files || [])];
      if (!files.length) return;
      event.preventDefault();
      this.add(files);
    });
    view.input.addEventListener('paste', (event) => {
      const files = [...(event.clipboardData?.files || [])];
      if (!files.length) return;
      event.preventDefault();
      this.add(files);
    });
  }

  add(files) {
    for (const file of files) {
      const entry = { file, state: 'uploading', stored: null };
      entry.element = this.row(entry);
      this.items.push(entry);
      this.list.append(entry.element);
      entry.promise = upload(
        path`/api/v1/conversations/${this.view.id}/attachments`,
        file,
        this.view.desk.api.csrfToken,
        (ratio) => this.setState(entry, 'uploading', Math.round(ratio * 100)),
      ).then(
        (stored) => {
          entry.stored = stored;
          this.setState(entry, 'ready');
        },
        (error) => this.setState(entry, 'failed', null, error.message),
      );
    }
    this.list.hidden = this.items.length === 0;
  }

  row(entry) {
    const li = document.createElement('li');
    li.className = 'composer-file';
    li.dataset.testid = 'composer-file';
    const name = document.createElement('span');
    name.className = 'composer-file-name';
    name.textContent = entry.file.name;
    const size = document.createElement('span');
    size.className = 'composer-file-size muted';
    size.textContent = formatSize(entry.file.size);
    const status = document.createElement('span');
    status.className = 'composer-file-state';
    status.dataset.testid = 'composer-file-state';
    status.setAttribute('role', 'status');
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'link-button';
    remove.dataset.testid = 'composer-file-remove';
    remove.textContent = '×';
    remove.setAttribute('aria-label', t('Remove {name}', { name: entry.file.name }));
    remove.addEventListener('click', () => {
      this.items = this.items.filter((x) => x !== entry);
      li.remove();
      this.list.hidden = this.items.length === 0;
      this.view.input.focus();
    });
    li.append(name, ' ', size, ' ', status, ' ', remove);
    this.setStateOn(li, 'uploading', 0);
    return li;
  }

  setState(entry, state, percent = null, error = '') {
    entry.state = state;
    this.setStateOn(entry.element, state, percent, error);
  }

  setStateOn(li, state, percent = null, error = '') {
    li.dataset.state = state;
    const label = li.querySelector('.composer-file-state');
    if (state === 'uploading') {
      label.textContent = percent ? t('Uploading {percent}%', { percent }) : t('Uploading…');
    } else if (state === 'ready') label.textContent = t('Ready');
    else label.textContent = error;
    li.classList.toggle('composer-file-failed', state === 'failed');
  }

  busy() {
    return this.items.some((x) => x.state === 'uploading');
  }

  /** The uploaded files to send; failed ones stay (with their reason) until removed. */
  ready() {
    return this.items.filter((x) => x.state === 'ready').map((x) => x.stored);
  }

  /** Forget the sent files. */
  clearSent() {
    for (const entry of this.items.filter((x) => x.state === 'ready')) entry.element.remove();
    this.items = this.items.filter((x) => x.state !== 'ready');
    this.list.hidden = this.items.length === 0;
  }
}
