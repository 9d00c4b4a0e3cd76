"""Slack text and Block Kit: escaping outbound text, building prompt blocks, reading inbound markup. Pure functions.

Outbound text is escaped so that nothing Steward posts (an agent's words above all) can ping ``@channel`` /
``@here`` / ``@everyone`` or a user group, or dress a link up under other words. Plain user mentions
(``<@U123>``) stay live: agents and notices may address people; so do plain channel links (``<#C123>``, shown as
the channel's name, never a ping).
"""

from __future__ import annotations

import re

from bot.actions import Button, ButtonStyle

# Slack's limits (https://docs.slack.dev/reference/block-kit/): section text 3000, button text 75, action_id 255,
# 50 blocks a message.
SECTION_TEXT_MAX = 3000
BUTTON_TEXT_MAX = 75
ACTION_ID_MAX = 255
MAX_SECTIONS = 40

_USER_MENTION_ESCAPED = re.compile(r"&lt;@([UW][A-Z0-9]{2,30})&gt;")
_CHANNEL_LINK_ESCAPED = re.compile(r"&lt;#([CG][A-Z0-9]{2,30})&gt;")
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,30})(?:\|[^>]*)?>")


def escape_text(text: str) -> str:
    """Escape ``& < >`` as Slack asks; keep plain user mentions and channel links working."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # Not cut to Slack's 40000 characters here: the moderator's length rule applies before posting, and a longer
    # text fails with Slack's own msg_too_long rather than being shortened unseen.
    return _CHANNEL_LINK_ESCAPED.sub(r"<#\1>", _USER_MENTION_ESCAPED.sub(r"<@\1>", escaped))


def unescape_text(text: str) -> str:
    """Inbound message text as people typed it: Slack sends ``& < >`` escaped."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mentioned_users(text: str) -> tuple[str, ...]:
    """User ids mentioned in Slack markup, in order, without repeats."""
    seen: dict[str, None] = {}
    for match in _USER_MENTION.finditer(text):
        seen.setdefault(match.group(1), None)
    return tuple(seen)


# A Block Kit block or element, as JSON.
Block = dict[str, object]


def _chunks(text: str, size: int) -> list[str]:
    if not text:
        return [" "]
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    return pieces[:MAX_SECTIONS]


def section_blocks(text: str) -> list[Block]:
    """``text`` (already escaped) as mrkdwn section blocks of at most 3000 characters each."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": chunk}} for chunk in _chunks(text, SECTION_TEXT_MAX)]


def button_element(button: Button) -> Block:
    if len(button.custom_id) > ACTION_ID_MAX:
        raise ValueError(f"a Slack action_id holds at most {ACTION_ID_MAX} characters: {button.custom_id[:40]}...")
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": button.label[:BUTTON_TEXT_MAX] or "?", "emoji": True},
        "action_id": button.custom_id,
        "value": button.custom_id,
    }
    # Slack knows two styles; "secondary" is its default look, "success" reads best as primary (green).
    if button.style in (ButtonStyle.PRIMARY, ButtonStyle.SUCCESS):
        element["style"] = "primary"
    elif button.style is ButtonStyle.DANGER:
        element["style"] = "danger"
    return element


def message_blocks(text: str, buttons: tuple[Button, ...] = ()) -> list[Block] | None:
    """Blocks for a message with buttons (None when there are none: plain text is then enough)."""
    if not buttons:
        return None
    blocks = section_blocks(text)
    # An actions block holds at most 25 elements.
    for start in range(0, len(buttons), 25):
        blocks.append({"type": "actions", "elements": [button_element(b) for b in buttons[start : start + 25]]})
    return blocks
