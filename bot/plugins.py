"""Plug-ins: how the core finds the cogs and adapters it runs, without naming any of them.

A package declares an entry point in the group ``steward.cogs`` or ``steward.adapters`` (``steward.commands`` for
extra ``steward`` subcommands) whose object is a ``CogPlugin`` / ``AdapterPlugin`` / ``CommandsPlugin``. Each
plug-in brings its own config section model, so installing a package that ships a cog is all it takes to
configure and enable it: nothing in ``bot/`` lists the plug-ins. The objects are light: the cog class, the adapter
factory and the command module are imported only when used, so a config can be validated without a platform SDK.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Protocol

from pydantic import BaseModel

from bot.logging import get_logger

log = get_logger("steward.plugins")

COGS_GROUP = "steward.cogs"
ADAPTERS_GROUP = "steward.adapters"
COMMANDS_GROUP = "steward.commands"


class PluginError(Exception):
    """A plug-in that cannot be used (its entry point names the wrong kind of object, or it cannot be imported)."""


def resolve(target: str) -> Any:
    """Import ``module:attribute`` and return the attribute."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise PluginError(f"a plug-in target must look like 'module:attribute', got {target!r}")
    return getattr(importlib.import_module(module_name), attr)


class _Sections(Protocol):
    """What a plug-in needs of the settings: its own section."""

    def section(self, name: str) -> BaseModel: ...


@dataclass(frozen=True, slots=True)
class CogPlugin:
    """A cog: its name (also its config section), its section model, the class to load, and where it goes in the
    default load order (lower first; the cogs offer each other services, so the order only decides who is ready
    first)."""

    name: str
    settings: type[BaseModel]
    cog: str  # "module:Class"
    order: int = 100
    description: str = ""

    def load(self) -> Any:
        """The cog class (the registry checks that it is a ``Cog``)."""
        return resolve(self.cog)


@dataclass(frozen=True, slots=True)
class AdapterPlugin:
    """A platform adapter: its name (and config section), its section model, and the factory that builds it.

    The core starts every adapter whose settings say it is ``configured`` (tokens present); when none is, it starts
    the ``fallback`` adapter (the console)."""

    name: str
    settings: type[BaseModel]
    create: str  # "module:factory", factory(settings) -> Adapter
    fallback: bool = False

    def build(self, settings: _Sections) -> Any:
        """The adapter, made by its factory from the settings (the app checks that it is an ``Adapter``)."""
        factory: Callable[[Any], Any] = resolve(self.create)
        return factory(settings)

    def configured(self, settings: _Sections) -> bool:
        return bool(getattr(settings.section(self.name), "configured", False))


@dataclass(frozen=True, slots=True)
class CommandsPlugin:
    """Extra ``steward`` subcommands: ``register(subparsers)`` in ``module`` adds them."""

    name: str
    module: str

    def register(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        register: Callable[[Any], None] = importlib.import_module(self.module).register
        register(subparsers)


@dataclass(frozen=True, slots=True)
class Plugins:
    cogs: dict[str, CogPlugin] = field(default_factory=dict)
    adapters: dict[str, AdapterPlugin] = field(default_factory=dict)
    commands: dict[str, CommandsPlugin] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)  # "group:name" -> why it could not be used

    def sections(self) -> dict[str, type[BaseModel]]:
        """Every plug-in's config section model, by section name."""
        found: dict[str, type[BaseModel]] = {name: p.settings for name, p in self.adapters.items()}
        found.update({name: p.settings for name, p in self.cogs.items()})
        return found

    def default_cogs(self) -> list[str]:
        return [p.name for p in sorted(self.cogs.values(), key=lambda p: (p.order, p.name))]


def _load_group(group: str, kind: type[Any], broken: dict[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for point in sorted(entry_points(group=group), key=lambda p: p.name):
        try:
            plugin = point.load()
        except Exception as exc:  # an installed package whose plug-in cannot even be imported
            broken[f"{group}:{point.name}"] = f"{type(exc).__name__}: {exc}"
            log.warning("plugin_unavailable", group=group, name=point.name, error=str(exc))
            continue
        if not isinstance(plugin, kind) or plugin.name != point.name:
            broken[f"{group}:{point.name}"] = f"{point.value} is not a {kind.__name__} named {point.name!r}"
            log.warning("plugin_invalid", group=group, name=point.name, target=point.value)
            continue
        found[point.name] = plugin
    return found


def discover() -> Plugins:
    """The installed plug-ins, read from the entry points (a broken one is reported, the rest are used)."""
    broken: dict[str, str] = {}
    return Plugins(
        cogs=_load_group(COGS_GROUP, CogPlugin, broken),
        adapters=_load_group(ADAPTERS_GROUP, AdapterPlugin, broken),
        commands=_load_group(COMMANDS_GROUP, CommandsPlugin, broken),
        broken=broken,
    )


@cache
def installed() -> Plugins:
    """``discover()``, once per process."""
    return discover()
