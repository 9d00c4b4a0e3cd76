"""The links and mentions rules in the human pipeline: steps that find a person's refused link or mention spam.

Each step only finds (``HumanReview.found``); what follows is the pipeline's as for any check: the warning ladder
(delete, warn, time out), the case and the counters. The rules themselves are ``policy.moderation_links`` and
``policy.moderation_mentions``, the same ones that gate agents.
"""

from __future__ import annotations

from functools import partial

from bot.offload import run_off_loop
from cogs.moderator.humans import HumanReview, HumanStep
from policy.moderation_links import human_link_problem
from policy.moderation_mentions import human_mention_problem


class LinkCheck(HumanStep):
    """Disguised links, look-alike domains, the deny and allow lists (``[moderator.links]``)."""

    name = "links"

    async def run(self, review: HumanReview) -> bool:
        settings = review.settings.links
        if review.rule is None and settings.enabled and settings.humans:
            reason = await run_off_loop(partial(human_link_problem, settings=settings), review.event.text)
            if reason is not None:
                review.found("links", reason)
        return True


class MentionCheck(HumanStep):
    """Mention spam: more distinct users and roles pinged than ``mentions.human_max_mentions``."""

    name = "mentions"

    async def run(self, review: HumanReview) -> bool:
        settings = review.settings.mentions
        if review.rule is None and settings.human_max_mentions:
            reason = human_mention_problem(review.event.text, settings)
            if reason is not None:
                review.found("mentions", reason)
        return True


def with_rule_checks(steps: list[HumanStep]) -> list[HumanStep]:
    """``steps`` with the links and mentions checks right after the word filters (or before the verdict step
    when there is no filter step), so the ladder and the case treat them like any check."""
    names = [step.name for step in steps]
    at = names.index("filters") + 1 if "filters" in names else names.index("violation")
    return [*steps[:at], LinkCheck(), MentionCheck(), *steps[at:]]
