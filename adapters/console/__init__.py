"""The console adapter: Steward's embedded default, a chat in the terminal.

Parts: ``plugin`` (the plug-in and its create_adapter), ``config`` (the ``[console]`` section), ``adapter``
(reading lines: speech, ``/as``, commands), ``output`` (printing what Steward does).
"""

from __future__ import annotations

from adapters.console.adapter import ConsoleAdapter

__all__ = ["ConsoleAdapter"]
