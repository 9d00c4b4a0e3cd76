"""The fast model on the loop: a chat-sized text is scored without the round trip to the inference thread, a long
one still goes there, and both score exactly what the model's batch call gives."""

from __future__ import annotations

from bot.app import StewardApp
from bot.scoring import TextScorer
from cogs.toxicity.scorer import INLINE_CHARS
from domain import Room

ROOM = Room(platform="test", server="s1", channel="general")


async def test_short_texts_skip_the_thread_and_long_ones_take_it(make_settings, adapter, clock, monkeypatch) -> None:
    app = StewardApp(make_settings(toxicity={"mode": "fast"}), adapters=[adapter], clock=clock)
    await app.start()
    try:
        scorer = app.services.get(TextScorer)
        batcher = scorer._fast_batcher
        sent: list[str] = []
        submit = batcher.submit

        async def counted(text: str, **kwargs):
            sent.append(text)
            return await submit(text, **kwargs)

        monkeypatch.setattr(batcher, "submit", counted)
        short = "shut up, you pathetic moron"
        friendly = "thanks for the release notes, they read well. "
        long = friendly * (INLINE_CHARS // len(friendly) + 1) + short
        assert len(long) >= INLINE_CHARS
        results = {text: await scorer.assess(text, ROOM, agent=True) for text in (short, long)}
        assert sent == [long]
        expected = scorer.fast.score_batch([short, long])
        assert [dict(results[text].scores) for text in (short, long)] == expected
        assert results[short].action == "reject"
    finally:
        await app.stop()
