"""Files both ways in the browser: the agent attaches an image in the workspace, the customer sees
its preview in the widget and answers with a PDF, the agent downloads it (the bytes match)."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.test_webchat_flow import (
    go_available,
    open_conversation,
    sign_in,
    start_chat,
    widget_message,
)

pytestmark = pytest.mark.browser

# A 1x1 red PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n" + bytes(range(256)) + b"\n%%EOF\n"


def test_image_to_the_customer_and_a_pdf_back(live_server: str, browser: Browser, tmp_path: Path) -> None:
    agent_context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    customer_context = browser.new_context(viewport={"width": 1100, "height": 760})
    try:
        agent = agent_context.new_page()
        customer = customer_context.new_page()
        sign_in(agent, live_server)
        go_available(agent)
        start_chat(customer, live_server)
        agent.get_by_test_id("offer-accept").click()
        conversation = open_conversation(agent)
        transcript = conversation.get_by_test_id("transcript")

        # The agent attaches an image (labelled button → file chooser), sees it upload, sends it.
        attach = conversation.get_by_role("button", name="Attach files")
        expect(attach).to_be_visible()
        with agent.expect_file_chooser() as chooser:
            attach.click()
        chooser.value.set_files([{"name": "red-dot.png", "mimeType": "image/png", "buffer": PNG}])
        chosen = conversation.get_by_test_id("composer-file")
        expect(chosen).to_contain_text("red-dot.png")
        expect(chosen.get_by_test_id("composer-file-state")).to_have_text("Ready")
        # A blocked file shows the server's reason and can be removed before sending.
        with agent.expect_file_chooser() as chooser:
            attach.click()
        chooser.value.set_files(
            [{"name": "tool.exe", "mimeType": "application/octet-stream", "buffer": b"x"}]
        )
        bad = chosen.filter(has_text="tool.exe")
        expect(bad.get_by_test_id("composer-file-state")).to_contain_text(".exe files are not accepted")
        bad.get_by_role("button", name="Remove tool.exe").click()
        expect(chosen).to_have_count(1)
        conversation.get_by_test_id("reply-input").fill("Here is the colour")
        conversation.get_by_test_id("reply-send").click()
        expect(chosen).to_have_count(0)
        sent = transcript.get_by_test_id("message").filter(has_text="Here is the colour")
        expect(sent.get_by_test_id("attachment-preview").locator("img")).to_have_attribute(
            "alt", "red-dot.png"
        )

        # The customer sees the preview (the image really loaded) in the widget.
        line = widget_message(customer, "Here is the colour")
        preview = line.get_by_test_id("widget-image-preview")
        expect(preview).to_have_attribute("alt", "red-dot.png")
        expect(preview).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
        assert preview.evaluate("img => img.complete && img.naturalWidth") == 1

        # The customer sends a PDF back, with no text.
        with customer.expect_file_chooser() as chooser:
            customer.get_by_test_id("widget-attach").click()
        chooser.value.set_files([{"name": "signed form.pdf", "mimeType": "application/pdf", "buffer": PDF}])
        expect(customer.get_by_test_id("widget-file-state")).to_have_text("Ready")
        customer.get_by_test_id("widget-send").click()
        mine = customer.get_by_test_id("widget-message").filter(has_text="signed form.pdf")
        expect(mine.get_by_test_id("widget-file-link")).to_have_count(1)

        # The agent downloads it: the same bytes.
        chip = transcript.get_by_test_id("attachment-chip").filter(has_text="signed form.pdf")
        expect(chip).to_have_attribute("download", "signed form.pdf")
        with agent.expect_download() as download:
            chip.click()
        saved = tmp_path / "got.pdf"
        download.value.save_as(saved)
        assert saved.read_bytes() == PDF
        assert download.value.suggested_filename == "signed form.pdf"
    finally:
        agent_context.close()
        customer_context.close()
