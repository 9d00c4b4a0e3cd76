from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from adapters.console import ConsoleAdapter
from adapters.console.config import ConsoleSettings
from bot.app import StewardApp
from tests.support import steward_env

ROOT = Path(__file__).resolve().parents[2]


class Script(io.StringIO):
    def isatty(self) -> bool:
        return False


async def run_console(make_settings, script: str, **sections) -> str:
    out = Script()
    console = ConsoleAdapter(ConsoleSettings(user="ann"), stdin=Script(script), stdout=out)
    app = StewardApp(make_settings(**sections), adapters=[console])
    await app.run()  # ends at the end of the script
    return out.getvalue()


async def test_people_and_agents_talk_and_every_decision_is_shown(make_settings) -> None:
    output = await run_console(
        make_settings,
        "hello everyone\n/as helper hi ann, how can I help?\n"
        "/user bob ^2 thanks helper\n/as helper ^3 you are welcome\n",
        cogs={"enabled": []},
    )
    lines = output.splitlines()
    assert "#1 [general] ann: hello everyone" in lines
    assert "(registered agent helper, owned by ann)" in lines
    assert "#2 [general] helper (agent): hi ann, how can I help?" in lines
    assert "#3 [general] bob: thanks helper" in lines
    assert "#4 [general] helper (agent) (reply to #3): you are welcome" in lines
    assert lines.count("  ✓ approved by pass: no gate is configured") == 2


async def test_help_lists_the_commands_of_loaded_cogs_and_unknown_ones_are_refused(make_settings) -> None:
    output = await run_console(make_settings, "/help\n/nope\n/status\n", cogs={"enabled": []})
    assert "/as <agent> [^N] <text>" in output
    assert "status - show what is running and its health" in output
    assert "! unknown command 'nope'; try 'help'" in output
    assert "adapters: console (up)" in output


async def test_bad_input_gets_usage_not_a_crash(make_settings) -> None:
    output = await run_console(
        make_settings,
        "/as\n/as onlyname\n/room two words\n/react x\n/press nonsense\n/as bad:name hi\nstill here\n",
        cogs={"enabled": []},
    )
    assert "usage: /as <agent> [^N] <text>" in output
    assert "usage: /room <name> (one word)" in output
    assert "usage: /react <N> <emoji>" in output
    assert "usage: /press <button-id>" in output
    assert "agent name must be non-empty" in output
    assert "#1 [general] ann: still here" in output


def test_steward_run_reads_a_piped_script_and_prints_the_chat(tmp_path) -> None:
    """The README's run command, end to end: a real process, a real database file, piped standard input."""
    (tmp_path / "steward.toml").write_text(
        '[database]\npath = "state/steward.db"\n[http]\nport = 0\n[toxicity]\nenabled = false\n'
    )
    env = steward_env()
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        input="good morning\n/as helper morning! the deploy finished.\n/status\n/quit\nnever read\n",
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "#1 [general] you: good morning" in result.stdout
    assert "#2 [general] helper (agent): morning! the deploy finished." in result.stdout
    assert "status: ok" in result.stdout
    assert "never read" not in result.stdout
    assert (tmp_path / "state" / "steward.db").exists()
    assert (tmp_path / "state" / "steward.log").read_text().count("steward_started") == 1
