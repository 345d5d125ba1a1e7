"""The workspace's pure script helpers, imported in a real page through its import map:
notification template slugs, placeholders, durations, the per-user browser storage, and feature
detection from the server's route table."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_workspace_helpers import (
    Pages,
    pages_fixture,  # noqa: F401 - fixture
    sign_in,
)

pytestmark = pytest.mark.browser

CHECKS = """
async () => {
  const slugs = await import('/static/js/workspace/slugs.js');
  const i18n = await import('/static/js/workspace/i18n.js');
  const dom = await import('/static/js/workspace/dom.js');
  const storage = await import('/static/js/workspace/storage.js');
  const { Features } = await import('/static/js/workspace/features.js');
  const { ApiError } = await import('/static/js/omniroute-client.js');
  const features = new Features(null, [
    'get /api/v1/conversations/{conversation_id}/notes',
    'post /api/v1/conversations/{id}/notes',
  ]);
  let changes = 0;
  features.addEventListener('change', () => { changes += 1; });
  const detected = ['notes', 'addNote', 'consult'].map((name) => features.has(name));
  const refusal = features.noteFailure('notes', new ApiError(404, 'no conversation c1'));
  const missing = features.noteFailure('addNote', new ApiError(405, 'Method Not Allowed'));
  const offer = {
    customer_name: 'Jane Doe', queue_name: 'Sales', channel: 'sms', preview: 'Hi there',
    prechat: { email: 'jane@example.com', queue: 'Wholesale', tags: ['x'] },
  };
  const drafts = new storage.Drafts('u1');
  drafts.set('c1', 'half a reply');
  const other = new storage.Drafts('u2');
  const settings = new storage.SettingsStore('u1');
  settings.save({ sound: 'loud', desktop: 'always', titleTemplate: 't', bodyTemplate: 7 });
  return {
    full: slugs.renderTemplate('{customerName} ({email}) in {queue} via {channel}: {preview}', offer),
    qualified: slugs.renderTemplate('{queue} / {prechat.queue}', offer),
    unknown: slugs.renderTemplate('{customerName} {nope}  {tags}!', offer),
    format: i18n.format('{name} is typing… {missing}', { name: 'Ana' }),
    durations: [dom.formatDuration(0), dom.formatDuration(75), dom.formatDuration(3725)],
    sla: [[null, 60], [29, 60], [30, 60], [59, 60], [60, 60], [600, 60]].map(([w, t]) => dom.slaLevel(w, t)),
    draftMine: drafts.get('c1'),
    draftOther: other.get('c1'),
    settings: settings.load(),
    features: { detected, refusal, missing, after: features.has('addNote'), changes },
    endpoints: JSON.parse(document.getElementById('workspace-data').textContent).endpoints,
  };
}
"""


def test_script_helpers(live_server: str, pages: Pages) -> None:
    page = pages.new()
    sign_in(page, live_server)
    result: dict[str, Any] = page.evaluate(CHECKS)
    assert result["full"] == "Jane Doe (jane@example.com) in Sales via SMS: Hi there"
    assert result["qualified"] == "Sales / Wholesale"  # built-in slugs win; prechat.* reaches the answer
    assert result["unknown"] == "Jane Doe !"  # unknown slugs and non-text answers render as nothing
    assert result["format"] == "Ana is typing… {missing}"
    assert result["durations"] == ["0:00", "1:15", "1:02:05"]
    # The waiting clock turns amber at half the queue's reply target and red at the target.
    assert result["sla"] == ["idle", "ok", "warn", "warn", "breach", "breach"]
    assert result["draftMine"] == "half a reply"
    assert result["draftOther"] == ""  # drafts are per user
    # Bad stored values fall back to the defaults instead of breaking the page.
    assert result["settings"] == {
        "sound": "background",
        "desktop": "always",
        "titleTemplate": "t",
        "bodyTemplate": "",
    }
    # Controls follow the endpoints the server has; a 404 "Not Found" (no route) or 405 at run
    # time hides them too, but a 404 about the conversation itself does not.
    assert result["features"] == {
        "detected": [True, True, False],
        "refusal": False,
        "missing": True,
        "after": False,
        "changes": 1,
    }
    assert "post /api/v1/conversations/{conversation_id}/consults" in result["endpoints"]
    assert all(e.split(" ", 1)[1].startswith("/api/v1/") for e in result["endpoints"])
    pages.assert_no_errors(page)


DESK_CHECKS = """
async () => {
  const prechat = await import('/static/js/workspace/prechat.js');
  const { quickReplyQuery } = await import('/static/js/workspace/quick-replies.js');
  const { callRows } = await import('/static/js/workspace/call.js');
  return {
    rows: prechat.prechatRows({
      question: 'Grey?', name: 'Jane', empty: '', order_ref: 'A-17', offline: 'yes', language: 'es',
      consent: true, colours: ['grey', 'blue'], ivr: { menu: 'billing' }, direction: 'inbound',
    }).map((r) => [r.field, r.label, r.text]),
    humanised: [prechat.humanise('order_ref'), prechat.humanise('deliveryDate')],
    queries: ['/q', '/q  ship soon ', '/quick', 'hello /q', '/q\\nrefund'].map(quickReplyQuery),
    call: callRows({
      state: 'held', direction: 'outbound', from_number: '+1555', to_number: null, queue: 'Billing',
      ivr_data: { account_number: '4521' }, durations: { talk: 75, hold: 30 }, hold_count: 2,
    }),
  };
}
"""


def test_desk_helpers(live_server: str, pages: Pages) -> None:
    page = pages.new()
    sign_in(page, live_server)
    result: dict[str, Any] = page.evaluate(DESK_CHECKS)
    # Every pre-chat key shows: the known ones first under their names, the survey's after.
    assert result["rows"] == [
        ["name", "Name", "Jane"],
        ["question", "Question", "Grey?"],
        ["language", "Language", "Spanish"],
        ["offline", "Offline message", "Yes"],
        ["direction", "Direction", "Inbound"],
        ["ivr", "IVR", "Menu: billing"],
        ["colours", "Colours", "grey, blue"],
        ["consent", "Consent", "Yes"],
        ["order_ref", "Order ref", "A-17"],
    ]
    assert result["humanised"] == ["Order ref", "Delivery date"]
    assert result["queries"] == ["", "ship soon", None, None, "refund"]
    assert result["call"] == [
        ["Call", "On hold"],
        ["Direction", "Outbound"],
        ["From", "+1555"],
        ["Voice queue", "Billing"],
        ["Account number", "4521"],
        ["Talk time", "1:15"],
        ["On hold", "0:30 (2 times)"],
    ]
    pages.assert_no_errors(page)
