"""Replay: run a recorded conversation (JSONL) through the same pipeline as a live room.

Parts: ``transcript`` (reading the JSONL), ``runner`` (ReplayRunner: the app on a manual clock, line by line),
``adapter`` (the recording 'platform'), ``summary`` (what a replay found, as tables), ``cli`` (``steward replay``).
"""

from __future__ import annotations

from adapters.replay.runner import ReplayRunner
from adapters.replay.summary import ReplaySummary, render_summary

__all__ = ["ReplayRunner", "ReplaySummary", "render_summary"]
