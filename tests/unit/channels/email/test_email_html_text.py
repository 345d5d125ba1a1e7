"""HTML mail bodies become plain text with no markup, scripts or styles left, and no quoted history."""

from omniroute.channels.email.html_text import html_to_text


def test_scripts_styles_and_head_never_survive() -> None:
    html = (
        "<html><head><title>T</title><style>p{color:red}</style><script>alert(1)</script></head>"
        "<body><p onclick='steal()'>Hello <b>there</b></p><noscript>enable js</noscript>"
        "<svg><script>alert(2)</script></svg><iframe src='https://evil.example'>x</iframe>"
        "<img src=x onerror=alert(3)></body></html>"
    )
    text = html_to_text(html)
    assert text == "Hello there"


def test_blocks_lists_links_and_entities() -> None:
    html = (
        "<div>Order&nbsp;1042 &amp; 1043</div><ul><li>lamp</li><li>shade</li></ul>"
        "<p>See <a href='https://acme.test/returns'>returns</a> or "
        "<a href='https://acme.test/faq'>https://acme.test/faq</a>.</p>"
        "<pre>  keep   spacing</pre>"
    )
    assert html_to_text(html) == (
        "Order 1042 & 1043\n\n- lamp\n- shade\n\n"
        "See returns (https://acme.test/returns) or https://acme.test/faq.\n\nkeep   spacing"
    )


def test_quoted_history_is_dropped_unless_asked_to_keep_it() -> None:
    html = (
        "<div>Thanks!</div><div class='gmail_quote'>On Mon, Acme wrote:"
        "<blockquote><div>nested <div>deep</div></div>old</blockquote></div><div>PS: call me</div>"
    )
    assert html_to_text(html) == "Thanks!\nPS: call me"
    assert "old" in html_to_text(html, drop_quotes=False)


def test_outlook_quote_marker_cuts_the_rest() -> None:
    html = "<p>New text</p><div id='appendonsend'></div><hr><div id='divRplyFwdMsg'>From: x</div><p>Old</p>"
    assert html_to_text(html) == "New text"


def test_gmail_line_divs_and_empty_line_idiom() -> None:
    html = (
        '<div dir="ltr"><div>Hello,</div><div><br></div><div>It broke.</div>'
        "<div>Thanks,</div><div>Lee</div></div>"
    )
    assert html_to_text(html) == "Hello,\n\nIt broke.\nThanks,\nLee"
