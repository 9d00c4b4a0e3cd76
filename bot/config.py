"""Configuration: a typed pydantic-settings model read from TOML, with secrets from environment variables.

Core keys are declared here. Each cog and adapter owns a *section* (``[moderator]``, ``[discord]`` ...) whose model
its plug-in brings (``bot/plugins.py``); the section is validated with that model, so an unknown or mistyped key
anywhere is an error that names it. Cog sections may be overridden per server and per
channel::

    [moderator]                              # defaults
    [servers."1234".moderator]               # this server
    [servers."1234".channels."5678".moderator]   # this channel

Environment variables ``STEWARD_<SECTION>__<KEY>`` (``__`` between nesting levels) override the file; secrets
(tokens, signing secrets) are read only from there.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from functools import cached_property
from ipaddress import ip_network
from pathlib import Path
from typing import Any, Literal, TypeVar

from cachetools import LRUCache
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.egress import parse_allow_entry
from bot.plugins import installed
from domain import Room
from storage.settings import DatabaseSettings

ENV_PREFIX = "STEWARD_"
# Validated sections kept for servers and channels that override them; rooms without overrides share one object
# per section, so this bounds only what the config itself names (evicted entries are validated again when read).
OVERRIDDEN_SECTIONS_KEPT = 4096

M = TypeVar("M", bound=BaseModel)


class ConfigError(Exception):
    """A configuration that cannot be used. ``problems`` holds one ``key: problem`` line each."""

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"invalid configuration{where}:\n" + "\n".join(f"  - {p}" for p in problems))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpSettings(_Section):
    enabled: bool = Field(default=True, description="Serve /healthz, /metrics and the agent API")
    host: str = Field(default="127.0.0.1", description="Address to listen on (0.0.0.0 to reach it from outside)")
    port: int = Field(default=8080, ge=0, le=65535, description="Port to listen on (0 picks a free one)")
    # A Slack event about a legal 40,000-character message of emoji is ~160 KB.
    max_body_bytes: int = Field(default=1024 * 1024, gt=0, description="Largest request body accepted")
    egress_allow: list[str] = Field(
        default_factory=list,
        description="Non-public hosts or networks (names, addresses, CIDRs) that agents' webhooks may reach; "
        "by default only public addresses",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Proxies (addresses, CIDRs) whose X-Forwarded-For names the client; else the peer is the client",
    )

    @field_validator("egress_allow")
    @classmethod
    def _egress_entries(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            parse_allow_entry(entry)
        return entries

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            try:
                ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an address or CIDR network") from None
        return entries


class BusSettings(_Section):
    shards: int = Field(
        default=4, ge=1, le=64, description="Event queues; one room's events stay on one queue, in order"
    )
    queue_size: int = Field(default=1000, ge=1, description="Events each queue holds before publishers wait")
    put_timeout: float = Field(
        default=1.0, ge=0, description="Seconds a publisher waits for room in a full queue before the event is dropped"
    )
    listener_timeout: float = Field(default=30.0, gt=0, description="Seconds one listener may take on one event")


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", description="Least severe level logged")
    format: Literal["auto", "console", "json"] = Field(
        default="auto", description="console: key=value for people; json: one JSON object a line; auto: by terminal"
    )

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


def _installed_cogs() -> list[str]:
    return installed().default_cogs()


class CogsSettings(_Section):
    enabled: list[str] = Field(
        default_factory=_installed_cogs, description="The cogs to load, in order (default: every installed cog)"
    )

    @field_validator("enabled")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        known = installed().cogs
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown cog(s) {unknown}; installed cogs: {sorted(known)}")
        if len(set(names)) != len(names):
            raise ValueError("a cog is listed twice")
        return names


class ServerOverrides(BaseModel):
    """``[servers."<id>"]``: section overrides for one server, and ``channels."<id>"`` for its channels."""

    model_config = ConfigDict(extra="allow")
    channels: dict[str, dict[str, Any]] = Field(default_factory=dict)


class _SectionEnvSource(PydanticBaseSettingsSource):
    """Reads ``STEWARD_<SECTION>__KEY[__SUBKEY]`` for the sections owned by cogs and adapters."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in os.environ.items():
            if not name.startswith(ENV_PREFIX):
                continue
            path = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
            if len(path) < 2 or path[0] not in installed().sections():
                continue
            node = out.setdefault(path[0], {})
            for part in path[1:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = value
        return out


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="allow", frozen=True, case_sensitive=False
    )

    database: DatabaseSettings = DatabaseSettings()
    http: HttpSettings = HttpSettings()
    bus: BusSettings = BusSettings()
    logging: LoggingSettings = LoggingSettings()
    cogs: CogsSettings = Field(default_factory=CogsSettings)  # built when read: it asks which cogs are installed
    servers: dict[str, ServerOverrides] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the file (passed as init data), so a deployment can override anything.
        return env_settings, _SectionEnvSource(settings_cls), init_settings

    # --- sections ------------------------------------------------------------------------------------------------

    @cached_property
    def _shared_sections(self) -> dict[str, BaseModel]:
        """Section name -> the one validated object every room without overrides of it shares."""
        return {}

    @cached_property
    def _overridden_sections(self) -> LRUCache[tuple[str, str, str], BaseModel]:
        return LRUCache(maxsize=OVERRIDDEN_SECTIONS_KEPT)

    @cached_property
    def _overrides_of(self) -> dict[str, dict[str, tuple[bool, frozenset[str]]]]:
        """Section name -> server -> (whether the server itself overrides it, the channels that do), for the
        servers whose config touches the section."""
        found: dict[str, dict[str, tuple[bool, frozenset[str]]]] = {}
        adapters = installed().adapters
        for server, overrides in self.servers.items():
            own = set(overrides.model_extra or {})
            names = set(own)
            for sections in overrides.channels.values():
                names.update(sections)
            for name in names - set(adapters):
                channels = frozenset(c for c, sections in overrides.channels.items() if name in sections)
                found.setdefault(name, {})[server] = (name in own, channels)
        return found

    def section_key(self, name: str, room: Room | None = None) -> tuple[str, str, str]:
        """The overrides that apply to ``room``: ``(name, "", "")`` for a room that has none of section ``name``,
        ``(name, server, "")`` when only its server overrides it, else ``(name, server, channel)``."""
        servers = self._overrides_of.get(name) if room is not None else None
        found = servers.get(room.server) if servers is not None and room is not None else None
        if found is None or room is None:
            return (name, "", "")
        server_wide, channels = found
        if room.channel in channels:
            return (name, room.server, room.channel)
        return (name, room.server, "") if server_wide else (name, "", "")

    def raw_section(self, name: str) -> dict[str, Any]:
        extra = self.model_extra or {}
        value = extra.get(name, {})
        return dict(value) if isinstance(value, Mapping) else {}

    def layered_section(self, name: str, server: str = "", channel: str = "") -> dict[str, Any]:
        """Section ``name`` as raw data: the defaults, then the server's overrides, then the channel's."""
        raw = self.raw_section(name)
        overrides = self.servers.get(server) if server else None
        if overrides is not None and name not in installed().adapters:
            raw = deep_merge(raw, _as_dict((overrides.model_extra or {}).get(name)))
            raw = deep_merge(raw, _as_dict(overrides.channels.get(channel, {}).get(name)))
        return raw

    def variants_as(self, model: type[M], name: str) -> list[M]:
        """Every form section ``name`` takes: the defaults, then each server's and channel's overrides (what a cog
        reads to size state that every room's settings must fit, such as the longest window any room uses)."""
        keys = [("", "")]
        for server, (server_wide, channels) in self._overrides_of.get(name, {}).items():
            keys += [(server, "")] if server_wide else []
            keys += [(server, channel) for channel in sorted(channels)]
        return [self.section_as(model, name, Room("", server, channel)) for server, channel in keys]

    def section_as(self, model: type[M], name: str, room: Room | None = None) -> M:
        """``section(name, room)``, checked to be a ``model`` (what its plug-in declared), typed as one."""
        section = self.section(name, room)
        if not isinstance(section, model):
            raise TypeError(f"section {name!r} is a {type(section).__name__}, not {model.__name__}")
        return section

    def section(self, name: str, room: Room | None = None) -> BaseModel:
        """The validated section ``name``, with the server's and the channel's overrides layered on for ``room``.

        Rooms without overrides of the section share one object (so memory does not grow with the rooms seen);
        the rest are kept in a bounded LRU keyed by the server and channel whose overrides apply."""
        if room is None or name not in self._overrides_of:
            shared = self._shared_sections.get(name)
            if shared is None:
                shared = self._shared_sections[name] = section_model(name).model_validate(self.raw_section(name))
            return shared
        key = self.section_key(name, room)
        if key[1] == "":
            return self.section(name)
        cached = self._overridden_sections.get(key)
        if cached is None:
            cached = self._overridden_sections[key] = section_model(name).model_validate(self.layered_section(*key))
        return cached


def _as_dict(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def section_model(name: str) -> type[BaseModel]:
    """The model of section ``name``, as its plug-in declares it."""
    model = installed().sections().get(name)
    if model is None:
        raise KeyError(f"no configuration section named {name!r}")
    return model


# --- loading and checking -------------------------------------------------------------------------------------------


def _loc(parts: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in parts) or "(top level)"


def _problems(exc: ValidationError, prefix: tuple[str, ...] = ()) -> list[str]:
    lines = []
    for err in exc.errors():
        where = _loc(prefix + tuple(err["loc"]))
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        elif "input" in err and not isinstance(err["input"], (dict, list)):
            message = f"{message} (got {err['input']!r})"
        lines.append(f"{where}: {message}")
    return lines


class ConfigFileError(ConfigError):
    """The config file itself cannot be read (missing, a directory, not UTF-8, not TOML): said in one line."""

    def __init__(self, path: Path, problem: str, hint: str = "") -> None:
        super().__init__([f"(file): {problem}"], str(path))
        self.path = path
        self.problem = problem
        self.hint = hint

    def __str__(self) -> str:
        return f"cannot read the config file {self.path}: {self.problem}" + (f" ({self.hint})" if self.hint else "")


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigFileError(
            path, "it does not exist", "give an existing file; `steward config-example` prints one to start from"
        ) from None
    except IsADirectoryError:
        raise ConfigFileError(path, "it is a directory", "give the path of the TOML file in it") from None
    except UnicodeDecodeError as exc:
        raise ConfigFileError(
            path, f"it is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})", "save it as UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(path, f"it is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigFileError(path, f"it cannot be read: {exc.strerror or exc}") from None


def load_settings(path: Path | str | None = None, data: Mapping[str, Any] | None = None) -> Settings:
    """Read, validate and return the settings; raise ``ConfigError`` naming every bad key.

    ``path`` None means: no file, defaults and environment only.
    """
    source = str(path) if path is not None else "defaults"
    raw: dict[str, Any] = dict(data or {})
    if path is not None:
        raw = deep_merge(read_toml(Path(path)), raw)
    try:
        settings = Settings(**raw)
    except ValidationError as exc:
        # Report the sections' problems too, so that one run names every bad key.
        problems = _problems(exc)
        try:
            sections_only = Settings(**{k: v for k, v in raw.items() if k not in Settings.model_fields})
        except ValidationError:
            sections_only = None
        if sections_only is not None:
            problems += check_sections(sections_only)
        raise ConfigError(problems, source) from None
    problems = check_sections(settings)
    if problems:
        raise ConfigError(problems, source)
    return settings


def check_sections(settings: Settings) -> list[str]:
    problems: list[str] = []
    sections = installed().sections()
    for name, value in (settings.model_extra or {}).items():
        if name not in sections:
            problems.append(f"{name}: unknown section; known: {sorted(sections)} and {sorted(Settings.model_fields)}")
            continue
        if not isinstance(value, Mapping):
            problems.append(f"{name}: must be a table, got {type(value).__name__}")
            continue
        problems += _validate_section(name, dict(value), (name,))
    for server_id, overrides in settings.servers.items():
        for name in overrides.model_extra or {}:
            where = ("servers", server_id, name)
            if name not in installed().cogs:
                problems.append(f"{_loc(where)}: not a section that can be set per server")
                continue
            problems += _validate_section(name, settings.layered_section(name, server_id), where)
        for channel_id, sections in overrides.channels.items():
            for name in sections:
                where_channel = ("servers", server_id, "channels", channel_id, name)
                if name not in installed().cogs:
                    problems.append(f"{_loc(where_channel)}: not a section that can be set per channel")
                    continue
                layered = settings.layered_section(name, server_id, channel_id)
                problems += _validate_section(name, layered, where_channel)
    return problems


def _validate_section(name: str, raw: dict[str, Any], where: tuple[str, ...]) -> list[str]:
    model = section_model(name)
    try:
        model.model_validate(raw)
    except ValidationError as exc:
        return _problems(exc, where)
    return []
