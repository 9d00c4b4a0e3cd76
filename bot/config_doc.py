"""Renders ``config.example.toml`` from the config models themselves, so the example documents every key with
its real default and cannot drift from the code (a test compares the committed file with this output)."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from bot.config import ENV_PREFIX, Settings
from bot.plugins import installed

HEADER = """\
# Steward configuration: every key with its default. Copy to steward.toml and change what you need.
# Generated from the config models (`steward config-example`); `steward check-config FILE` validates a file.
#
# Any key can also be set from the environment: STEWARD_<SECTION>__<KEY> (double underscore between levels),
# e.g. STEWARD_HTTP__PORT=9000. Secrets (tokens, signing secrets) are read only from there.
#
# Cog sections can be overridden per server and per channel:
#   [servers."<server id>".moderator]
#   [servers."<server id>".channels."<channel id>".moderator]
"""


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return _value(value.value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (str, Path)):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, BaseModel):
        return _value(value.model_dump(mode="json"))
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return "[" + ", ".join(_value(v) for v in items) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    raise TypeError(f"cannot render {value!r} as TOML")


def _key(name: str) -> str:
    return (
        name
        if name.replace("_", "").replace("-", "").isascii() and name.replace("_", "").replace("-", "").isalnum()
        else json.dumps(name, ensure_ascii=False)
    )


def _default(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        return info.default_factory()  # type: ignore[call-arg]
    return info.default


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _render_model(model: type[BaseModel], path: list[str], out: list[str]) -> None:
    out.append(f"\n[{'.'.join(path)}]")
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, info in model.model_fields.items():
        if _is_model(info.annotation):
            nested.append((name, info.annotation))  # type: ignore[arg-type]
            continue
        if info.description:
            out.extend(f"# {line}" for line in info.description.splitlines())
        default = _default(info)
        env = f"{ENV_PREFIX}{'__'.join(p.upper() for p in [*path, name])}"
        if isinstance(default, SecretStr) or "SecretStr" in str(info.annotation):
            out.append(f"# {name}: secret, from the environment only: {env}")
        elif default is None:
            out.append(f"# {name} = (unset by default)")
        else:
            out.append(f"{_key(name)} = {_value(default)}")
    for name, sub in nested:
        _render_model(sub, [*path, name], out)


def render_example() -> str:
    out = [HEADER.rstrip("\n")]
    for name, info in Settings.model_fields.items():
        if name == "servers":
            continue
        _render_model(info.annotation, [name], out)  # type: ignore[arg-type]
    plugins = installed()
    for name, model in plugins.sections().items():
        kind = "adapter" if name in plugins.adapters else "cog"
        out.append(f"\n# --- {name} ({kind}) " + "-" * max(0, 100 - len(name) - len(kind)))
        _render_model(model, [name], out)
    return "\n".join(out) + "\n"
