"""The replay's plug-in: the ``steward replay`` subcommand (imported only when the CLI runs)."""

from bot.plugins import CommandsPlugin

COMMANDS = CommandsPlugin(name="replay", module="adapters.replay.cli")
