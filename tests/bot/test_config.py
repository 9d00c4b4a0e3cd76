from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from bot.config import ConfigError, load_settings
from bot.plugins import CogPlugin, installed
from domain import Room

ROOT = Path(__file__).resolve().parents[2]


class ExampleCogSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    threshold: float = Field(default=0.5, ge=0, le=1)
    words: list[str] = Field(default_factory=list)
    nested: dict[str, int] = Field(default_factory=dict)


@pytest.fixture
def example_section(monkeypatch):
    plugin = CogPlugin(name="examplecog", settings=ExampleCogSettings, cog=f"{__name__}:ExampleCog")
    monkeypatch.setitem(installed().cogs, "examplecog", plugin)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "steward.toml"
    path.write_text(text)
    return path


def problems(exc: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return exc.value.problems


def test_defaults_are_valid_without_a_file() -> None:
    settings = load_settings(None)
    assert settings.database.path == Path("data/steward.db")
    assert settings.http.port == 8080


def test_a_bad_core_key_is_named(tmp_path) -> None:
    path = write(tmp_path, "[http]\nport = 99999\n[bus]\nshards = 'many'\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    assert any(p.startswith("http.port:") and "99999" in p for p in problems(exc))
    assert any(p.startswith("bus.shards:") for p in problems(exc))


def test_unknown_keys_and_sections_are_errors(tmp_path) -> None:
    path = write(tmp_path, "[database]\npaht = 'x.db'\n[moderatr]\nenabled = true\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    assert "database.paht: unknown key" in problems(exc)
    assert any(p.startswith("moderatr: unknown section") for p in problems(exc))


def test_toml_syntax_errors_say_where(tmp_path) -> None:
    path = write(tmp_path, "[http\nport = 1\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    assert "line 1" in problems(exc)[0]


def test_unknown_cog_is_an_error() -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(data={"cogs": {"enabled": ["moderator", "nonsense"]}})
    assert problems(exc)[0].startswith("cogs.enabled:") and "nonsense" in problems(exc)[0]


def test_server_and_channel_overrides_layer_over_defaults(tmp_path, example_section) -> None:
    path = write(
        tmp_path,
        """
[examplecog]
threshold = 0.5
words = ["a"]
nested = { x = 1, y = 2 }

[servers."100".examplecog]
threshold = 0.7
nested = { y = 20 }

[servers."100".channels."7".examplecog]
words = ["b", "c"]
""",
    )
    settings = load_settings(path)
    assert settings.section("examplecog").threshold == 0.5
    server = settings.section("examplecog", Room("discord", "100", "8"))
    assert (server.threshold, server.words, server.nested) == (0.7, ["a"], {"x": 1, "y": 20})
    channel = settings.section("examplecog", Room("discord", "100", "7"))
    assert (channel.threshold, channel.words) == (0.7, ["b", "c"])
    other = settings.section("examplecog", Room("discord", "200", "7"))
    assert other.threshold == 0.5


def test_a_bad_override_names_its_full_path(tmp_path, example_section) -> None:
    path = write(tmp_path, '[servers."100".channels."7".examplecog]\nthreshold = 3\n')
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    assert problems(exc)[0].startswith("servers.100.channels.7.examplecog.threshold:")


def test_adapter_sections_cannot_be_overridden_per_server(tmp_path) -> None:
    path = write(tmp_path, '[servers."1".console]\nuser = "x"\n')
    with pytest.raises(ConfigError) as exc:
        load_settings(path)
    assert "servers.1.console: not a section that can be set per server" in problems(exc)


def test_environment_overrides_the_file_and_carries_secrets(tmp_path, monkeypatch, example_section) -> None:
    path = write(tmp_path, "[http]\nport = 8000\n[examplecog]\nthreshold = 0.2\n")
    monkeypatch.setenv("STEWARD_HTTP__PORT", "9000")
    monkeypatch.setenv("STEWARD_EXAMPLECOG__THRESHOLD", "0.9")
    monkeypatch.setenv("STEWARD_EXAMPLECOG__NESTED__Z", "5")
    settings = load_settings(path)
    assert settings.http.port == 9000
    assert settings.section("examplecog").threshold == 0.9
    assert settings.section("examplecog").nested == {"z": 5}


def test_the_example_config_is_valid() -> None:
    load_settings(ROOT / "config.example.toml")


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


def test_check_config_command_names_the_bad_key(tmp_path) -> None:
    bad = write(tmp_path, "[logging]\nlevel = 'LOUD'\n")
    result = run_cli("check-config", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert "logging.level:" in result.stderr and "LOUD" in result.stderr
    good = tmp_path / "good.toml"
    good.write_text("[logging]\nlevel = 'debug'\n")
    result = run_cli("check-config", str(good), cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("ok:")


def test_run_refuses_a_bad_config_with_the_same_message(tmp_path) -> None:
    bad = write(tmp_path, "[http]\nprot = 1\n")
    result = run_cli("run", "--config", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert "http.prot: unknown key" in result.stderr


def test_the_example_config_documents_every_key_as_the_code_has_it() -> None:
    from bot.config_doc import render_example

    committed = (ROOT / "config.example.toml").read_text()
    assert committed == render_example(), (
        "config.example.toml is stale: run `steward config-example > config.example.toml`"
    )
