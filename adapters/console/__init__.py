"""The console adapter: Steward's embedded default, a chat in the terminal.

Parts: ``factory`` (create_adapter), ``config`` (the ``[console]`` section), ``adapter`` (reading lines: speech,
``/as``, commands), ``output`` (printing what Steward does).
"""

from __future__ import annotations

from adapters.console.adapter import ConsoleAdapter
from adapters.console.factory import create_adapter

__all__ = ["ConsoleAdapter", "create_adapter"]
