"""The mentions rule: mass mentions (@everyone, @here, <!channel>) and mention spam (too many people pinged).

``count_mentions`` counts the DISTINCT users and roles a message pings, in the forms the platforms deliver them to
the core: Discord's ``<@id>``, ``<@!id>`` (nickname form, the same user) and ``<@&id>`` (a role); Slack's
``<@U..>`` / ``<@W..>`` (with or without ``|name``) and ``<!subteam^S..>`` (a user group). A message naming the
same person five times pings them once; a mention inside code (a code block or inline code) pings nobody and is
not counted. The limit is per message, like Discord AutoMod's mention-spam rule (which allows 1 to 50): by default
an agent may ping 5 and a person 10. Mass mentions are the older part of the rule: an agent's are defused
(``@here`` -> ``here``) or rejected. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from policy.moderation import find_mass_mentions, strip_mass_mentions
from policy.moderation_rules import Edit, Outcome, Reject, RuleState, Subject, TextRule
from policy.moderation_settings import SectionModel

_USER = re.compile(r"<@!?(\d{1,20}+)>|<@([UW][A-Z0-9]{2,20}+)(?:\|[^>]{0,100}+)?>")
_ROLE = re.compile(r"<@&(\d{1,20}+)>|<!subteam\^([A-Z0-9]{2,20}+)(?:\|[^>]{0,100}+)?>")
# Code blocks and inline code: both platforms show a mention there as text and ping nobody.
_CODE = re.compile(r"```.{0,8000}?```|`[^`\n]{1,2000}+`", re.S)


@dataclass(frozen=True, slots=True)
class MentionCount:
    users: int
    roles: int

    @property
    def total(self) -> int:
        return self.users + self.roles

    def described(self) -> str:
        parts = []
        if self.users:
            parts.append(f"{self.users} {'person' if self.users == 1 else 'people'}")
        if self.roles:
            parts.append(f"{self.roles} role{'' if self.roles == 1 else 's'}")
        return " and ".join(parts) or "nobody"


def count_mentions(text: str) -> MentionCount:
    """The distinct users and roles (user groups) ``text`` mentions."""
    if "<@" not in text and "<!subteam" not in text:
        return MentionCount(0, 0)  # every counted mention has one of these: most texts need no scan
    if "`" in text:
        text = _CODE.sub(" ", text)
    users = {m.group(1) or m.group(2) for m in _USER.finditer(text)}
    roles = {m.group(1) or m.group(2) for m in _ROLE.finditer(text)}
    return MentionCount(len(users), len(roles))


def spam_reason(count: MentionCount, limit: int) -> str | None:
    """Why ``count`` is mention spam under ``limit`` (0: no limit), or None."""
    if limit <= 0 or count.total <= limit:
        return None
    return f"mention spam: pings {count.described()} in one message (at most {limit} here)"


class MentionSettings(SectionModel):
    """``[moderator.mentions]``: mass mentions and the mention-spam limits."""

    action: Literal["edit", "reject", "allow"] = Field(
        default="edit", description="Agents' mass mentions (@everyone, @here, <!channel>): strip, reject or allow"
    )
    max_mentions: int = Field(
        default=5,
        ge=0,
        le=100,
        description="Agents: most distinct users and roles one message may ping; more is rejected (0: no limit)",
    )
    human_max_mentions: int = Field(
        default=10,
        ge=0,
        le=100,
        description="People: most distinct users and roles one message may ping; more goes to the warning ladder "
        "(0: no limit; Discord AutoMod allows 1 to 50)",
    )


def human_mention_problem(text: str, settings: MentionSettings) -> str | None:
    """Why a person's message is mention spam under ``settings``, or None."""
    if settings.human_max_mentions <= 0:
        return None
    return spam_reason(count_mentions(text), settings.human_max_mentions)


class MentionRule(TextRule[MentionSettings]):
    """Mention spam (rejected) and mass mentions (@everyone, @here, <!channel> ...: defused with ``edit``, or
    rejected)."""

    name = "mentions"
    key = "mentions"
    settings = MentionSettings
    __slots__ = ("edit", "limit", "mass")

    def __init__(self, section: MentionSettings) -> None:
        self.mass = section.action != "allow"
        self.edit = section.action == "edit"
        self.limit = section.max_mentions

    @classmethod
    def build(cls, section: MentionSettings) -> MentionRule | None:
        if section.action == "allow" and section.max_mentions <= 0:
            return None
        return cls(section)

    def check(self, subject: Subject, state: RuleState) -> Outcome | None:
        text = subject.text
        if self.limit:
            reason = spam_reason(count_mentions(text), self.limit)
            if reason is not None:
                return Reject(reason)
        if not self.mass:
            return None
        found = find_mass_mentions(text)
        if not found:
            return None
        reason = f"mass mention {', '.join(sorted(set(found)))}"
        return Edit(strip_mass_mentions(text), f"defused {reason}") if self.edit else Reject(reason)
