"""How a message Steward writes names people and rooms, so that people read names rather than platform ids.

Discord and Slack render ``<@id>`` as the person's name and ``<#id>`` as the channel's; the console and other
platforms show text as written, so there a display name (or, lacking one, the id) is the best there is. In direct
messages a known display name is preferred: a mention of someone who shares no server with the reader does not
render on Discord.
"""

from __future__ import annotations

from domain.identity import Actor, ActorKind, Room

# Platforms whose clients turn <@id> and <#id> into names.
MENTION_PLATFORMS = frozenset({"discord", "slack"})


def user_ref(platform: str, user_id: str, name: str = "", *, in_dm: bool = False) -> str:
    """A person as a message should name them: a mention where it renders, else their name, else the id."""
    if platform in MENTION_PLATFORMS and user_id and not (in_dm and name):
        return f"<@{user_id}>"
    return name or user_id


def actor_ref(actor: Actor, *, in_dm: bool = False) -> str:
    """An actor as a message should name them; an agent or the system by its name (an agent's id is its Steward
    name, not a platform user)."""
    if actor.kind in (ActorKind.AGENT, ActorKind.SYSTEM):
        return actor.name
    return user_ref(actor.platform, actor.id, actor.display_name, in_dm=in_dm)


def room_ref(room: Room) -> str:
    """A room as a message should name it: a channel mention where it renders, else ``#channel``."""
    if room.platform in MENTION_PLATFORMS and room.channel:
        return f"<#{room.channel}>"
    return f"#{room.channel}"
