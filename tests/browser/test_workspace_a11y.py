"""Accessibility of the workspace: an axe-core style audit written here (no third-party code is
copied into the repository), run in each state of the page, plus focus visibility and focus order.

The audit checks: every visible control has an accessible name (label, aria-label(ledby), text, or
title; a placeholder is not a name), images have alt text, one h1 and no skipped heading levels,
the landmarks (banner, navigation, main) exist once, ids are unique, ARIA id references resolve,
tabs and tab panels are wired both ways, the page has a language, and live regions exist for
offers and messages.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_workspace_helpers import (
    Pages,
    accept_offer_from,
    customers_fixture,  # noqa: F401 - fixture
    offer,
    open_conversation,
    pages_fixture,  # noqa: F401 - fixture
    set_presence,
    sign_in,
)

pytestmark = pytest.mark.browser

AUDIT = r"""
() => {
  const problems = [];
  const text = (el) => (el.textContent || '').replace(/\s+/g, ' ').trim();
  const inert = (el) => el.closest('[hidden], template, dialog:not([open])') !== null
    || getComputedStyle(el).display === 'none' || getComputedStyle(el).visibility === 'hidden';
  const modal = document.querySelector('dialog[open]');
  const inScope = (el) => !inert(el) && (!modal || modal.contains(el));
  const describe = (el) => el.outerHTML.replace(/\s+/g, ' ').slice(0, 140);
  const refs = (el, attr) => (el.getAttribute(attr) || '').split(/\s+/).filter(Boolean);

  function accessibleName(el) {
    const labelledBy = refs(el, 'aria-labelledby').map((id) => document.getElementById(id));
    if (labelledBy.length && labelledBy.every(Boolean)) {
      const name = labelledBy.map(text).join(' ').trim();
      if (name) return name;
    }
    const aria = (el.getAttribute('aria-label') || '').trim();
    if (aria) return aria;
    if (el.labels && el.labels.length) {
      const name = [...el.labels].map(text).join(' ').trim();
      if (name) return name;
    }
    if (el.matches('button, a[href], [role="tab"], [role="button"], summary')) {
      const name = text(el);
      if (name) return name;
    }
    if (el.matches('input[type="submit"], input[type="button"]') && el.value) return el.value;
    return (el.getAttribute('title') || '').trim();
  }

  const controls = 'button, a[href], input:not([type="hidden"]), select, textarea, [role="tab"], '
    + '[role="button"], [tabindex]:not([tabindex="-1"])';
  for (const el of document.querySelectorAll(controls)) {
    if (inScope(el) && !accessibleName(el)) problems.push(`control without a name: ${describe(el)}`);
  }
  for (const el of document.querySelectorAll('img, [role="img"]')) {
    if (inert(el)) continue;
    if (el.tagName === 'IMG' && !el.hasAttribute('alt')) problems.push(`no alt: ${describe(el)}`);
    if (el.tagName !== 'IMG' && !accessibleName(el)) problems.push(`unnamed image: ${describe(el)}`);
  }

  const headings = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].filter(inScope);
  if (!modal && headings.filter((h) => h.tagName === 'H1').length !== 1) problems.push('not exactly one h1');
  let previous = modal ? 1 : 0;
  for (const h of headings) {
    const level = Number(h.tagName[1]);
    if (level > previous + 1) problems.push(`heading level skipped to h${level}: "${text(h)}"`);
    if (!text(h)) problems.push(`empty heading: ${describe(h)}`);
    previous = level;
  }

  const count = (selector) => [...document.querySelectorAll(selector)].filter((el) => !inert(el)).length;
  if (count('header.topbar, [role="banner"]') !== 1) problems.push('no single banner');
  if (count('main, [role="main"]') !== 1) problems.push('no single main');
  if (count('nav, [role="navigation"]') < 1) problems.push('no navigation');
  for (const nav of document.querySelectorAll('nav, section[aria-labelledby], aside, [role="region"]')) {
    if (!inert(nav) && !accessibleName(nav)) problems.push(`landmark without a name: ${describe(nav)}`);
  }

  const ids = new Map();
  for (const el of document.querySelectorAll('[id]')) {
    if (el.closest('template')) continue;
    ids.set(el.id, (ids.get(el.id) || 0) + 1);
  }
  for (const [id, n] of ids) if (n > 1) problems.push(`duplicate id ${id}`);
  for (const attr of ['aria-labelledby', 'aria-describedby', 'aria-controls', 'for']) {
    for (const el of document.querySelectorAll(`[${attr}]`)) {
      if (el.closest('template')) continue;
      const wanted = attr === 'for' ? [el.htmlFor] : refs(el, attr);
      for (const id of wanted) {
        if (id && !document.getElementById(id)) problems.push(`${attr} points nowhere: ${describe(el)}`);
      }
    }
  }

  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const panel = document.getElementById(tab.getAttribute('aria-controls') || '');
    if (!panel || panel.getAttribute('role') !== 'tabpanel') {
      problems.push(`tab without panel: ${describe(tab)}`);
    } else if (panel.getAttribute('aria-labelledby') !== tab.id) {
      problems.push(`panel not labelled by its tab: ${describe(tab)}`);
    }
    if (!['true', 'false'].includes(tab.getAttribute('aria-selected'))) {
      problems.push(`tab without aria-selected: ${describe(tab)}`);
    }
  }
  for (const list of document.querySelectorAll('[role="tablist"]')) {
    const tabs = [...list.querySelectorAll('[role="tab"]')].filter((el) => !el.hidden);
    const selected = tabs.filter((el) => el.getAttribute('aria-selected') === 'true').length;
    if (tabs.length && selected !== 1) problems.push(`not one selected tab in ${describe(list)}`);
  }

  if (!document.documentElement.lang) problems.push('no page language');
  if (!document.querySelector('[aria-live="assertive"]')) problems.push('no assertive live region');
  if (!document.querySelector('[aria-live="polite"]')) problems.push('no polite live region');
  return problems;
}
"""


def audit(page: Page) -> None:
    problems: list[str] = page.evaluate(AUDIT)
    assert problems == []


def focus_path(page: Page, presses: int) -> list[str]:
    """What Tab visits from the top of the page, described by test id or text."""
    page.locator(".skip-link").focus()  # the first stop of the page
    seen: list[str] = []
    for _ in range(presses):
        seen.append(
            page.evaluate(
                """() => {
                  const el = document.activeElement;
                  return el.dataset.testid || el.id || el.textContent.trim().slice(0, 30);
                }"""
            )
        )
        page.keyboard.press("Tab")
    return seen


def test_workspace_passes_the_accessibility_audit(live_server: str, pages: Pages, customers: Any) -> None:
    agent = pages.new()
    sign_in(agent, live_server)
    audit(agent)  # empty workspace

    set_presence(agent, "available")
    customers().start("Jane Doe", "Do you deliver to Mallorca?")
    expect(offer(agent, "Jane Doe")).to_have_count(1)
    audit(agent)  # an offer toast
    accept_offer_from(agent, "Jane Doe")
    customers().start("Omar Haddad", "Can I change my order?", queue="Support")
    expect(offer(agent, "Omar Haddad")).to_have_count(1)
    audit(agent)  # a session and an offer

    # Focus order follows the page: top bar, offers, sessions, the conversation and its notes.
    path = focus_path(agent, 30)
    order = [
        "presence-select",
        "offer-accept",
        "session-tab",
        "end-conversation",
        "reply-input",
        "note-input",
    ]
    positions = [path.index(step) for step in order]
    assert positions == sorted(positions), path
    assert path[0] == "Skip to the conversation"

    # Keyboard focus is visible.
    agent.locator(".skip-link").focus()
    agent.keyboard.press("Tab")
    outline = agent.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")

    for opener, dialog in (
        ("transfer-conversation", "transfer-dialog"),
        ("settings-button", "settings-dialog"),
        ("help-button", "help-dialog"),
    ):
        open_conversation(agent).get_by_test_id(opener).or_(agent.get_by_test_id(opener)).first.click()
        expect(agent.get_by_test_id(dialog)).to_be_visible()
        audit(agent)
        agent.keyboard.press("Escape")
        expect(agent.get_by_test_id(dialog)).to_be_hidden()

    conversation = open_conversation(agent)
    conversation.get_by_test_id("side-tab-customer").click()
    expect(conversation.get_by_test_id("c360-name")).to_have_text("Jane Doe")
    audit(agent)  # the Customer 360 tab
    conversation.get_by_test_id("reply-input").fill("/q")
    expect(conversation.get_by_test_id("quick-replies")).to_be_visible()
    audit(agent)  # the quick-reply picker
    pages.assert_no_errors(agent)
