"""The presence cog's commands, one module per subject; each module is a mixin of ``PresenceCog``, whose loader
registers every ``@command`` method it finds on the cog."""

from cogs.presence.commands.agents import AgentCommands
from cogs.presence.commands.drafts import DraftCommands
from cogs.presence.commands.invitations import InvitationCommands
from cogs.presence.commands.rooms import RoomCommands

__all__ = ["AgentCommands", "DraftCommands", "InvitationCommands", "RoomCommands"]
