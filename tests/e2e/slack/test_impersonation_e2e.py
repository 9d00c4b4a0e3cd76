"""Registering an agent with /steward on Slack: a name that passes for Steward or for another agent is refused in
the command's answer, whoever asks, and the agent is not registered; an honest name is."""

from __future__ import annotations

from tests.e2e.slack.mock_slack import command_body, wait_for

CHANNEL = "C0GENERAL"


async def test_slash_command_registration_refuses_impersonating_names(start_slack):
    h = await start_slack(cogs=["presence"])

    async def command(user: str, text: str, key: str) -> str:
        body = command_body(user=user, text=text, channel=CHANNEL, response_url=h.mock.response_url(key))
        assert (await h.send_form(body)).status == 200
        [answer] = await wait_for(lambda: h.mock.responses.get(key))
        return answer["text"]

    assert "Registered" in await command("U0OWNER", "agent register scout --bot U0SCOUTBOT Scout", "one")
    refused = await command("U0MALLORY", "agent register ѕcout", "two")  # a Cyrillic "ѕ"
    assert "looks like the agent scout ('scout')" in refused and "Registered" not in refused
    refused = await command("U0MALLORY", "agent register helper Steward", "three")
    assert "the display name 'Steward' is Steward itself" in refused
    assert "Registered" in await command("U0MALLORY", "agent register helper Helpful Hal", "four")
    assert [a.name for a in await h.app.agents.list()] == ["helper", "scout"]
