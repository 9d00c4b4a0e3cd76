"""CPU work too long for the event loop, run on a worker thread with a bounded number waiting.

Per-message text work is bounded (a few milliseconds at most, see ``docs/performance.md``), but some of it still
grows with the text up to the platform's limit (Slack: 40,000 characters). ``run_off_loop`` runs such a call on
one worker thread when its input is long (``LONG_TEXT`` characters or more) and inline otherwise, so an ordinary
message pays no thread hand-off. At most ``MAX_WAITING`` calls wait or run at a time per event loop; more wait
for a place (back-pressure on the caller, not an unbounded queue).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

LONG_TEXT = 4000
MAX_WAITING = 8

_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="steward-text")
_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _slots(loop: asyncio.AbstractEventLoop) -> asyncio.Semaphore:
    slots = _SLOTS.get(loop)
    if slots is None:
        slots = _SLOTS[loop] = asyncio.Semaphore(MAX_WAITING)
    return slots


async def run_off_loop(fn: Callable[[str], T], text: str) -> T:
    """``fn(text)``: inline for a short text, on the worker thread for a long one."""
    if len(text) < LONG_TEXT:
        return fn(text)
    loop = asyncio.get_running_loop()
    async with _slots(loop):
        return await loop.run_in_executor(_EXECUTOR, fn, text)
