"""The supervisors' CSAT report (/admin/csat and its API): who may read it, what a period and the
queue, agent and widget filters count, the trend per day, the latest comments, the CSV export,
and the reasons bad parameters are refused."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import httpx

from omniroute.identity.model import Scope
from tests.e2e.conftest import Agent, LiveServer, Socket
from tests.e2e.test_webchat_after_chat import ended_chat
from tests.e2e.test_webchat_widget import bearer, start_chat, widget_id, widget_url

Clients = dict[str, Any]
DAY = timedelta(days=1)
REPORT = "/api/v1/admin/csat/report"
EXPORT = "/api/v1/admin/csat/export"
FORMULA = '=HYPERLINK("https://evil.example","click")'


async def rate(
    http: httpx.AsyncClient, server: LiveServer, token: str, rating: int, comment: str = ""
) -> None:
    r = await http.post(
        widget_url(server, "/conversation/csat"),
        json={"rating": rating, "comment": comment},
        headers=bearer(server, token),
    )
    assert r.status_code == 201, r.text


async def rated_without_agent(
    http: httpx.AsyncClient, server: LiveServer, rating: int, comment: str = "", **start: Any
) -> str:
    """A chat the customer left before anyone answered, then rated; its conversation id."""
    token, conversation_id = await ended_chat(http, server, **start)
    await rate(http, server, token, rating, comment)
    return conversation_id


async def rated_with_agent(
    http: httpx.AsyncClient, server: LiveServer, agent: Agent, sock: Socket, rating: int, comment: str
) -> str:
    """A chat ``agent`` accepted; the customer ends it (wrap-up) and rates it."""
    r = await start_chat(http, server, question="Can you help?")
    assert r.status_code == 201, r.text
    token, conversation_id = r.json()["token"], r.json()["conversation"]["id"]
    offer = await sock.next("offer.created", conversation_id=conversation_id)
    accepted = await agent.post(f"/api/v1/offers/{offer['session_id']}/accept")
    assert accepted.status_code == 200, accepted.text
    ended = await http.post(widget_url(server, "/conversation/end"), headers=bearer(server, token))
    assert ended.status_code == 200, ended.text
    await rate(http, server, token, rating, comment)
    return conversation_id


def period(start: datetime, days: int) -> dict[str, str]:
    return {"since": start.isoformat(), "until": (start + days * DAY).isoformat()}


async def test_who_may_read_the_report_and_open_the_page(server: LiveServer, clients: Clients) -> None:
    midnight = server.clock.now().replace(hour=0)
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        assert (await anonymous.get(REPORT, params=period(midnight, 1))).status_code == 401
        assert (await anonymous.get(EXPORT, params=period(midnight, 1))).status_code == 401
        page = await anonymous.get("/admin/csat")
    assert (page.status_code, page.headers["location"]) == (303, "/login?next=/admin/csat")

    ana = await clients["agent"]("ana")
    for path in (REPORT, EXPORT, "/api/v1/admin/csat", "/api/v1/admin/csat/summary"):
        assert (await ana.http.get(path, params=period(midnight, 1))).status_code == 403, path
    refused = await ana.http.get("/admin/csat")
    assert refused.status_code == 403
    assert "Customer satisfaction is for supervisors and admins" in refused.text
    assert "admin-csat.js" not in refused.text

    # A supervisor's token without the admin scope reads nothing either.
    sam = await clients["agent"]("sam")
    token = await server.container.identity.create_api_token(
        sam.user_id, "read-only", frozenset({Scope.CONVERSATIONS_READ})
    )
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}
    ) as api:
        assert (await api.get(REPORT, params=period(midnight, 1))).status_code == 403

    page = await sam.http.get("/admin/csat")
    assert page.status_code == 200
    assert "admin-csat.js" in page.text
    assert page.headers["content-language"] == "en"
    spanish = await sam.http.get("/admin/csat?lang=es")
    assert spanish.headers["content-language"] == "es"
    assert '<html lang="es">' in spanish.text
    assert "Satisfacción del cliente" in spanish.text
    assert "Puntuación media" in spanish.text  # the script's catalogue, in Spanish
    admin = await clients["agent"]("admin")
    assert (await admin.http.get(REPORT, params=period(midnight, 1))).status_code == 200
    assert 'href="/admin/csat"' in (await sam.http.get("/admin")).text


async def test_figures_trend_filters_comments_and_export(server: LiveServer, clients: Clients) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        await rated_without_agent(http, server, 1, "Too early to count")  # 2026-01-05, before the period
        await server.clock.advance(86400)
        day_one = server.clock.now().replace(hour=0)  # 2026-01-06T00:00Z; the clock reads 09:00
        fine = await rated_without_agent(http, server, 4, "Fine")
        await server.clock.advance(60)
        await rated_without_agent(http, server, 3)  # no comment: counted, not listed
        await server.clock.advance(60)
        formula = await rated_without_agent(http, server, 2, FORMULA, queue="Support")
        await server.clock.advance(86400 - 120)  # day two, 09:00
        # Signed in now: a session does not outlive the clock's jumps.
        sam, ana = await clients["agent"]("sam"), await clients["agent"]("ana")
        sock, _ = await ana.connect()
        await ana.presence("available")
        praised = await rated_with_agent(http, server, ana, sock, 5, "Ana was <b>great</b>")

    report = (await sam.http.get(REPORT, params=period(day_one, 3))).json()
    assert (report["responses"], report["average"], report["satisfied"]) == (4, 3.5, 2)
    assert report["csat_rate"] == 0.5
    assert report["distribution"] == {"1": 0, "2": 1, "3": 1, "4": 1, "5": 1}
    assert [(d["day"], d["responses"], d["average"], d["csat_rate"]) for d in report["by_day"]] == [
        ("2026-01-06", 3, 3.0, 0.3333),
        ("2026-01-07", 1, 5.0, 1.0),
        ("2026-01-08", 0, None, None),  # a quiet day stays in the trend
    ]
    latest = [(c["conversation_id"], c["rating"], c["comment"]) for c in report["comments"]]
    assert latest == [(praised, 5, "Ana was <b>great</b>"), (formula, 2, FORMULA), (fine, 4, "Fine")]
    first = report["comments"][0]
    assert (first["agent_name"], first["queue_name"], first["widget_name"]) == (
        "Ana García",
        "Sales",
        "Demo website",
    )
    assert report["comments"][1]["agent_name"] is None
    assert report["comments"][1]["queue_name"] == "Support"

    queues = {q["name"]: q["id"] for q in (await sam.http.get("/api/v1/queues")).json()}
    only_support = (
        await sam.http.get(REPORT, params={**period(day_one, 3), "queue_id": queues["Support"]})
    ).json()
    assert (only_support["responses"], only_support["average"]) == (1, 2.0)
    only_ana = (await sam.http.get(REPORT, params={**period(day_one, 3), "agent_id": ana.user_id})).json()
    assert (only_ana["responses"], only_ana["csat_rate"]) == (1, 1.0)
    wid = await widget_id(server)
    by_widget = (await sam.http.get(REPORT, params={**period(day_one, 3), "widget_id": wid})).json()
    assert by_widget["responses"] == 4
    two_comments = (await sam.http.get(REPORT, params={**period(day_one, 1), "comments": 1})).json()
    assert (two_comments["responses"], len(two_comments["comments"])) == (3, 1)
    # The older list and summary take the new filters too.
    listed = (await sam.http.get("/api/v1/admin/csat", params={"agent_id": ana.user_id})).json()
    assert [r["conversation_id"] for r in listed] == [praised]
    summary = (await sam.http.get("/api/v1/admin/csat/summary", params={"widget_id": wid})).json()
    assert summary["responses"] == 5  # all time

    exported = await sam.http.get(EXPORT, params=period(day_one, 3))
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.headers["content-disposition"] == (
        'attachment; filename="csat-2026-01-06-to-2026-01-08.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["conversation_id"] for r in rows][:1] == [praised]
    assert len(rows) == 4
    assert rows[0]["agent"] == "Ana García"
    assert rows[0]["submitted_at"] == "2026-01-07T09:00:00Z"
    by_conversation = {r["conversation_id"]: r for r in rows}
    assert by_conversation[formula]["comment"] == "'" + FORMULA  # never run as a formula
    assert by_conversation[formula]["queue"] == "Support"
    only_ana_csv = await sam.http.get(EXPORT, params={**period(day_one, 3), "agent_id": ana.user_id})
    assert len(list(csv.DictReader(io.StringIO(only_ana_csv.text)))) == 1


async def test_bad_parameters_get_422_with_the_reason(server: LiveServer, clients: Clients) -> None:
    sam = await clients["agent"]("sam")
    start = server.clock.now().replace(hour=0)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"until": (start + DAY).isoformat()}, "since is required"),
        ({"since": start.isoformat()}, "until is required"),
        ({"since": "2026-01-05T00:00:00", "until": "2026-01-06T00:00:00Z"}, "since needs a time zone"),
        ({**period(start, 1), "until": start.isoformat()}, "until must be after since"),
        (period(start, 367), "the period is longer than 366 days"),
        ({**period(start, 1), "queue_id": "nope"}, "queue_id: no such queue"),
        ({**period(start, 1), "agent_id": "nope"}, "agent_id: no such agent"),
        ({**period(start, 1), "widget_id": "nope"}, "widget_id: no such widget"),
    ]
    for params, reason in cases:
        for path in (REPORT, EXPORT):
            r = await sam.http.get(path, params=params)
            assert r.status_code == 422, (path, params)
            assert r.json()["detail"].startswith(reason), (path, r.json())
    not_a_time = await sam.http.get(REPORT, params={"since": "yesterday", "until": "today"})
    assert not_a_time.status_code == 422
    too_many = await sam.http.get(REPORT, params={**period(start, 1), "comments": 201})
    assert too_many.status_code == 422
    # A blank filter is "all", as a form's first option sends it.
    blank = await sam.http.get(REPORT, params={**period(start, 1), "queue_id": "", "agent_id": ""})
    assert blank.status_code == 200
    assert (blank.json()["queue_id"], blank.json()["responses"]) == (None, 0)
    old_list = await sam.http.get("/api/v1/admin/csat", params={"queue_id": "nope"})
    assert (old_list.status_code, old_list.json()["detail"]) == (422, "queue_id: no such queue")
