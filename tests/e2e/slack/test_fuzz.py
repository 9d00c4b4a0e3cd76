"""Fuzzed Slack input against the real HTTP endpoint: thousands of signed, malformed payloads (seeded, so a failure
names a case that can be replayed) never get a 5xx, a traceback or a large answer, nothing escapes into bolt's own
error handling, and the next normal message is moderated as usual."""

from __future__ import annotations

import json
import logging
from collections import Counter

from tests.e2e.slack.fuzz import cases, signed
from tests.e2e.slack.mock_slack import ADMIN_TOKEN, BOT_TOKEN, SIGNING_SECRET, event_body, message_event, wait_for

CHANNEL = "C0GENERAL"
ENV = {"BOT_TOKEN": BOT_TOKEN, "SIGNING_SECRET": SIGNING_SECRET, "ADMIN_TOKEN": ADMIN_TOKEN}
MODERATOR = {"moderator": {"filters": {"words": ["frobnicate"]}}}
CASES = 2000


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _small_answer(text: str) -> bool:
    if not text:
        return True
    try:
        json.loads(text)
    except ValueError:
        return False
    return len(text) < 1000


async def test_fuzzed_payloads_get_no_5xx_and_no_traceback_and_moderation_goes_on(start_slack):
    h = await start_slack(env=ENV, cogs=["moderator"], sections=MODERATOR)
    bolt_log = _Records()
    logging.getLogger("steward.slack.bolt").addHandler(bolt_log)
    statuses: Counter[int] = Counter()
    try:
        for case in cases(CASES, h.mock.response_url("fuzz")):
            async with h.session.post(
                h.base + "/slack/events", data=case.body, headers=signed(case, SIGNING_SECRET)
            ) as r:
                text = await r.text(errors="replace")
                statuses[r.status] += 1
                assert r.status < 500, (r.status, case.what)
                assert "Traceback" not in text, case.what
                assert _small_answer(text), (case.what, text[:200])
        await h.app.bus.join()
    finally:
        logging.getLogger("steward.slack.bolt").removeHandler(bolt_log)

    metrics = h.app.metrics
    # Nothing reached bolt's default error handler or its unhandled-request path (both log on bolt's logger) ...
    assert [r.getMessage()[:200] for r in bolt_log.records] == []
    # ... nor Steward's error handler for bolt: every malformed payload was stopped by the screening.
    for reason in ("listener_error", "unhandled", "internal_error"):
        for kind in ("events_api", "block_actions", "view_submission", "interactive", "slash_command", "unknown"):
            assert metrics.value("steward_slack_payload_rejected_total", kind=kind, reason=reason) == 0, (kind, reason)
    assert statuses[400] > 0 and statuses[200] > 0
    assert metrics.value("steward_slack_payload_rejected_total", kind="events_api", reason="invalid_shape") > 0
    assert metrics.value("steward_slack_payload_rejected_total", kind="request", reason="unparseable") > 0
    assert metrics.value("steward_slack_payload_rejected_total", kind="events_api", reason="bad_timestamp") > 0

    ts = h.mock.post_message(CHANNEL, "U0ALICE")
    response = await h.send_event(event_body(message_event(CHANNEL, "U0ALICE", "please frobnicate it", ts)))
    assert response.status == 200
    deletes = await wait_for(lambda: len(h.mock.calls_to("chat.delete")) == 2 and h.mock.calls_to("chat.delete"))
    assert all(c.params == {"channel": CHANNEL, "ts": ts} for c in deletes)
