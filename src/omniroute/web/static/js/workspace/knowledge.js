// Knowledge articles beside a conversation (docs/KNOWLEDGE.md): search, preview, and send a link
// or an excerpt into the chat through the ordinary message post (same outbox, same retries).

import { newClientMessageId } from '../omniroute-client.js';
import { announce, fromTemplate, path, showError } from './dom.js';
import { t } from './i18n.js';

const RESULTS = 10;
/** Article headings sit under the panel's own h4, keeping the page's heading outline whole. */
const FIRST_ARTICLE_HEADING = 5;

/**
 * Put server-sanitised HTML (nh3 allow-list, docs/KNOWLEDGE.md) into `target`, with its headings
 * moved below the panel's title. The CSP forbids inline script in any case.
 */
export function placeArticleHtml(target, html) {
  const holder = document.createElement('template');
  holder.innerHTML = html; // sanitised by the server; inert inside a <template>
  const headings = [...holder.content.querySelectorAll('h1, h2, h3, h4, h5, h6')];
  const top = Math.min(...headings.map((h) => Number(h.tagName[1])));
  for (const heading of headings) {
    const level = Math.min(6, Number(heading.tagName[1]) - top + FIRST_ARTICLE_HEADING);
    const replacement = document.createElement(`h${level}`);
    replacement.append(...heading.childNodes);
    heading.replaceWith(replacement);
  }
  target.replaceChildren(holder.content);
}

const VISIBILITY_LABELS = { public: t('Public'), internal: t('Internal') };

export class KnowledgePanel {
  /** @param {import('./conversation.js').ConversationView} view */
  constructor(view) {
    this.view = view;
    this.root = view.q('.knowledge');
    this.q = (selector) => this.root.querySelector(selector);
    this.input = this.q('.kb-query');
    this.results = this.q('.kb-results');
    this.preview = this.q('.kb-preview');
    this.actions = this.q('.kb-actions');
    this.error = this.q('.kb-error');
    this.article = null;
    const id = view.id;
    this.input.id = `kb-query-${id}`;
    this.q('.kb-query-label').htmlFor = this.input.id;
    this.q('.kb-language').id = `kb-language-${id}`;
    this.q('.kb-language-label').htmlFor = `kb-language-${id}`;
    this.q('.kb-title').id = `kb-title-${id}`;
    this.preview.setAttribute('aria-labelledby', `kb-title-${id}`);
    this.q('.kb-search').addEventListener('submit', (event) => {
      event.preventDefault();
      this.search();
    });
    this.q('[data-action="kb-back"]').addEventListener('click', () => this.back());
    this.q('[data-action="kb-link"]').addEventListener('click', () => this.send('link'));
    this.q('[data-action="kb-excerpt"]').addEventListener('click', () => this.send('excerpt'));
  }

  focus() {
    this.input.focus();
  }

  async search() {
    const { api } = this.view.desk;
    const params = new URLSearchParams({ limit: String(RESULTS) });
    const query = this.input.value.trim();
    if (query) params.set('q', query);
    const language = this.q('.kb-language').value;
    if (language) params.set('language', language);
    this.back();
    try {
      const found = await api.get(`/api/v1/knowledge/articles?${params}`);
      this.results.replaceChildren(...found.map((a) => this.resultElement(a)));
      this.q('.kb-status').textContent = found.length
        ? t('Articles found: {count}', { count: found.length })
        : t('No article matches.');
      showError(this.error, null);
    } catch (error) {
      if (!this.view.desk.features.noteFailure('knowledge', error)) showError(this.error, error);
    }
  }

  resultElement(article) {
    const li = fromTemplate('kb-result-template');
    li.dataset.articleId = article.id;
    const open = li.querySelector('.kb-open');
    open.textContent = article.title;
    open.addEventListener('click', () => this.open(article.id));
    li.querySelector('.kb-visibility').textContent =
      VISIBILITY_LABELS[article.visibility] || article.visibility;
    li.querySelector('.kb-visibility').dataset.visibility = article.visibility;
    // snippet_html is escaped text with <mark> around the matched words (docs/KNOWLEDGE.md).
    li.querySelector('.kb-snippet').innerHTML = article.snippet_html || '';
    li.querySelector('.kb-snippet').lang = article.language;
    return li;
  }

  async open(articleId) {
    try {
      const article = await this.view.desk.api.get(path`/api/v1/knowledge/articles/${articleId}`);
      this.article = article;
      this.q('.kb-title').textContent = article.title;
      this.preview.lang = article.language;
      placeArticleHtml(this.q('.kb-body'), article.html);
      this.results.hidden = true;
      this.q('.kb-status').hidden = true;
      this.preview.hidden = false;
      this.actions.hidden = false;
      this.refreshFeatures();
      this.q('[data-action="kb-back"]').focus();
      showError(this.error, null);
    } catch (error) {
      showError(this.error, error);
    }
  }

  back() {
    this.article = null;
    this.preview.hidden = true;
    this.actions.hidden = true;
    this.results.hidden = false;
    this.q('.kb-status').hidden = false;
  }

  /** Sending needs the agent to hold a live conversation; a link needs a public article. */
  refreshFeatures() {
    const canSend = this.view.canReply() && this.view.desk.features.has('share');
    const isPublic = this.article && this.article.visibility === 'public'
      && this.article.status === 'published';
    this.q('[data-action="kb-link"]').hidden = !canSend || !isPublic;
    this.q('[data-action="kb-excerpt"]').hidden = !canSend;
  }

  async send(mode) {
    if (!this.article) return;
    const button = this.q(`[data-action="kb-${mode}"]`);
    button.disabled = true;
    try {
      const shared = await this.view.desk.api.get(
        `${path`/api/v1/knowledge/articles/${this.article.id}/share`}?mode=${mode}`,
      );
      this.view.post(shared.text, newClientMessageId());
      announce(t('Article sent: {title}', { title: this.article.title }));
      showError(this.error, null);
    } catch (error) {
      showError(this.error, error);
    } finally {
      button.disabled = false;
    }
  }
}
