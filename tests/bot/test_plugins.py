"""Plug-ins: a cog shipped in another package is found through its entry point, configured by its own section
and run, without any change to bot/; a broken plug-in is reported and the rest run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from bot.app import StewardApp
from bot.plugins import discover
from tests.support import steward_env

GREETER = '''
"""A cog from another package: greets people who say hi, with its configured greeting."""

from pydantic import BaseModel, ConfigDict

from bot.plugins import CogPlugin


class GreeterSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    greeting: str = "hello"


PLUGIN = CogPlugin(name="greeter", settings=GreeterSettings, cog="greeter.cog:GreeterCog", order=90)
'''

GREETER_COG = '''
"""The greeter cog itself."""

from bot.actions import SendMessage
from bot.cog import Cog, listener
from bot.events import MessageCreated
from greeter import GreeterSettings


class GreeterCog(Cog[GreeterSettings]):
    name = "greeter"

    @listener(MessageCreated)
    async def on_message(self, event: MessageCreated) -> list[SendMessage]:
        if event.author.is_agent or not event.text.lower().startswith("hi"):
            return []
        return [SendMessage(room=event.room, text=f"{self.ctx.config(event.room).greeting}, {event.author.name}!")]
'''


def install_greeter(site: Path, *, broken_too: bool = False) -> Path:
    """Lay out an installed distribution (a package plus its dist-info with entry points) under ``site``."""
    (site / "greeter").mkdir(parents=True)
    (site / "greeter" / "__init__.py").write_text(textwrap.dedent(GREETER))
    (site / "greeter" / "cog.py").write_text(textwrap.dedent(GREETER_COG))
    info = site / "steward_greeter-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: steward-greeter\nVersion: 1.0\n")
    points = "[steward.cogs]\ngreeter = greeter:PLUGIN\n"
    if broken_too:
        points += "broken = no_such_module_anywhere:PLUGIN\n"
    (info / "entry_points.txt").write_text(points)
    return site


def run_steward(tmp_path: Path, site: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        cwd=tmp_path,
        env=steward_env(site),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_cog_from_another_package_is_configured_and_runs(tmp_path) -> None:
    site = install_greeter(tmp_path / "site")
    (tmp_path / "steward.toml").write_text(
        '[database]\npath = "state/steward.db"\n[http]\nport = 0\n[toxicity]\nenabled = false\n'
        '[greeter]\ngreeting = "ahoy"\n'
    )
    checked = run_steward(tmp_path, site, "check-config", "steward.toml")
    assert checked.returncode == 0, checked.stderr
    assert "greeter" in checked.stdout

    ran = run_steward(tmp_path, site, "run", stdin="hi everyone\n/quit\n")
    assert ran.returncode == 0, ran.stderr
    assert "ahoy, you!" in ran.stdout


def test_its_section_is_validated_by_its_own_model(tmp_path) -> None:
    site = install_greeter(tmp_path / "site")
    (tmp_path / "bad.toml").write_text('[greeter]\ngreting = "ahoy"\n')
    checked = run_steward(tmp_path, site, "check-config", "bad.toml")
    assert checked.returncode == 2
    assert "greeter.greting: unknown key" in checked.stderr


async def test_a_broken_plugin_is_reported_and_the_others_run(tmp_path, monkeypatch, make_settings, adapter) -> None:
    site = install_greeter(tmp_path / "site", broken_too=True)
    monkeypatch.syspath_prepend(str(site))
    found = discover()
    assert "greeter" in found.cogs and "moderator" in found.cogs
    assert "ModuleNotFoundError" in found.broken["steward.cogs:broken"]
    assert "broken" not in found.default_cogs()

    app = StewardApp(make_settings(cogs={"enabled": ["sentiment"]}), adapters=[adapter], plugins=found, http=False)
    await app.start()
    try:
        report = app.health()
        assert report["status"] == "degraded"
        assert "no_such_module_anywhere" in report["cogs"]["failed"]["broken"]
        assert report["cogs"]["loaded"] == ["sentiment"]
    finally:
        await app.stop()
