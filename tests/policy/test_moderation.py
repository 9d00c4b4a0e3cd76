from __future__ import annotations

import pytest

from policy.moderation import (
    AuthorKind,
    LadderStep,
    MatchMode,
    Recent,
    check_pattern,
    compile_filters,
    cooldown_reason,
    cut_to_limit,
    decayed_points,
    depth_reason,
    duplicate_reason,
    find_mass_mentions,
    held_points,
    ladder_step,
    loop_reason,
    make_payload,
    replay_bucket,
    reply_depth,
    spend,
    strip_mass_mentions,
    within_window,
    word_similarity,
)
from policy.moderation_text import canonical, normalize
from policy.ratelimit import TokenBucket, take

A, H = AuthorKind.AGENT, AuthorKind.HUMAN


def agent(at: float, name: str, text: str = "", *, depth: int = 0, message: int = 0) -> Recent:
    payload = make_payload(text, MatchMode.NEAR)
    return Recent(at, name, A, message, depth, *payload)


def human(at: float, message: int = 0) -> Recent:
    return Recent(at, "", H, message, 0, 0, ())


# --- duplicates ---------------------------------------------------------------------------------------------------


def dup(
    text: str,
    earlier: list[tuple[float, str, str]],
    *,
    author: str = "a",
    at: float = 100.0,
    window: float = 60.0,
    any_agent: bool = False,
    mode: MatchMode = MatchMode.NEAR,
    humans: tuple[float, ...] = (),
) -> str | None:
    """Judge ``text`` against agent messages ``(at, author, text)`` keyed the way ``mode`` keys payloads."""
    history = sorted(
        [Recent(t_at, name, A, 0, 0, *make_payload(t, mode)) for t_at, name, t in earlier] + [human(h) for h in humans]
    )
    payload = make_payload(text, mode)
    return duplicate_reason(
        author=author,
        key=payload.key,
        sketch=payload.sketch,
        at=at,
        history=history,
        window=window,
        any_agent=any_agent,
        near_threshold=0.8,
        mode=mode,
        words=payload.words,
        length=payload.length,
    )


@pytest.mark.parametrize(
    ("mode", "earlier", "now", "rejected"),
    [
        (MatchMode.EXACT, "Hello there", "Hello there", True),
        (MatchMode.EXACT, "Hello there", "hello there", False),
        (MatchMode.CASE_INSENSITIVE, "Hello there", "HELLO THERE", True),
        (MatchMode.CASE_INSENSITIVE, "Hello there", "Hello  there", False),
        (MatchMode.NORMALIZED, "Hello there", "  héllo\u200b   THERE ", True),
        (MatchMode.NORMALIZED, "buy paypal now", "buy раураl now", True),  # Cyrillic look-alikes
        (MatchMode.NORMALIZED, "Hello there", "Hello there!", False),
        (
            MatchMode.NEAR,
            "the meeting is moved to thursday at noon",
            "the meeting is moved to thursday at noon!!",
            True,
        ),
        (MatchMode.NEAR, "the meeting is moved to thursday at noon", "lunch options near the office today", False),
    ],
)
def test_duplicate_modes(mode: MatchMode, earlier: str, now: str, rejected: bool) -> None:
    reason = dup(now, [(90.0, "a", earlier)], mode=mode)
    assert (reason is not None) is rejected


def test_duplicate_window_author_and_any_agent() -> None:
    history = [(10.0, "a", "same words"), (95.0, "b", "other words")]
    assert dup("same words", history, window=60.0) is None  # too old
    assert dup("same words", history, window=120.0) is not None
    history = [(95.0, "b", "same words")]
    assert dup("same words", history) is None  # another agent's payload
    reason = dup("same words", history, any_agent=True)
    assert reason is not None and "agent b" in reason


def test_duplicate_ignores_humans() -> None:
    assert dup("anything", [], humans=(95.0,)) is None
    assert dup("anything", [(90.0, "a", "anything")], humans=(95.0,)) is not None


# --- cooldown -----------------------------------------------------------------------------------------------------


def test_token_bucket_burst_then_rate() -> None:
    bucket = TokenBucket.full(3, 0.0)
    allowed = []
    for t in [0.0, 0.1, 0.2, 0.3, 2.3, 2.4, 4.3]:
        result = take(bucket, now=t, rate=1 / 2.0, capacity=3)
        allowed.append(result.allowed)
        if result.allowed:
            bucket = result.bucket
    assert allowed == [True, True, True, False, True, False, True]


def _level(bucket: TokenBucket | None, at: float, rate: float, capacity: float) -> float:
    """Tokens in ``bucket`` at ``at`` (None: a full bucket)."""
    if bucket is None:
        return float(capacity)
    return take(bucket, now=at, rate=rate, capacity=capacity, cost=0.0).bucket.tokens


def test_bucket_replay_and_refill_cap() -> None:
    assert replay_bucket([], 1.0, 3) is None
    bucket = replay_bucket([0.0, 0.0, 0.0], 1.0, 3)
    assert bucket == TokenBucket(0.0, 0.0)
    assert _level(bucket, 100.0, 1.0, 3) == 3.0  # never above the burst
    refused = take(TokenBucket(0.25, 0.0), now=0.0, rate=1 / 2.0, capacity=3)
    assert not refused.allowed
    reason = cooldown_reason(refused.retry_after, 2.0, 3, "across rooms")
    assert reason is not None and "across rooms" in reason and "1.5s" in reason


@pytest.mark.parametrize("bucket", [None, TokenBucket(0.0, 0.0), TokenBucket(0.7, 3.0), TokenBucket(2.5, 4.0)])
@pytest.mark.parametrize("now", [0.0, 3.0, 3.9, 4.0, 4.3, 9.0, 1000.0])
@pytest.mark.parametrize(("rate", "capacity"), [(0.5, 3), (2.0, 10), (1 / 3, 1)])
def test_spend_is_take(bucket: TokenBucket | None, now: float, rate: float, capacity: int) -> None:
    result = take(TokenBucket.full(capacity, now) if bucket is None else bucket, now=now, rate=rate, capacity=capacity)
    expected = result.bucket if result.allowed else TokenBucket(0.0, result.bucket.at)
    assert spend(bucket, now, rate, capacity) == expected


def test_a_post_without_a_token_empties_the_bucket() -> None:
    assert spend(None, 5.0, 0.5, 3) == TokenBucket(2.0, 5.0)  # the first post, from a full bucket
    assert spend(TokenBucket(0.5, 5.0), 5.0, 0.5, 3) == TokenBucket(0.0, 5.0)  # (log-only, or around the gate)
    assert spend(TokenBucket(0.5, 5.0), 7.0, 0.5, 3) == TokenBucket(0.5, 7.0)


# --- loops ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("turns", "author", "limit", "rejected", "shape"),
    [
        (["a", "b", "a", "b"], "a", 3, True, "a ↔ b"),  # 3 exchanges happened, a 4th is refused
        (["a", "b", "a"], "b", 3, False, None),  # only 2 so far
        (["a", "b", "H", "a", "b"], "a", 3, False, None),  # a human turn reset the count
        (["a", "b", "c", "a", "b", "c"], "a", 4, True, "a→b→c→a"),  # three-agent cycle
        (["a", "a", "a", "a", "a"], "a", 2, False, None),  # one agent talking alone is no loop
        (["a", "b", "a", "b"], "b", 3, False, None),  # b following itself is not an exchange
    ],
)
def test_loop_rule(turns: list[str], author: str, limit: int, rejected: bool, shape: str | None) -> None:
    history = [human(float(i)) if t == "H" else agent(float(i), t) for i, t in enumerate(turns)]
    reason = loop_reason(
        author=author, replying_to_agent=None, at=10.0, history=history, max_exchanges=limit, window=60.0
    )
    assert (reason is not None) is rejected
    if shape is not None:
        assert shape in reason


def loops(history: list[Recent], *, at: float, limit: int, window: float, replying_to: str | None = None) -> bool:
    reason = loop_reason(
        author="a", replying_to_agent=replying_to, at=at, history=history, max_exchanges=limit, window=window
    )
    return reason is not None


def test_loop_window_and_reply_target() -> None:
    history = [agent(0.0, "a"), agent(1.0, "b"), agent(50.0, "a"), agent(51.0, "b")]
    # Only the last two are within 20 s: one exchange.
    assert not loops(history, at=60.0, limit=2, window=20.0)
    assert loops(history, at=60.0, limit=1, window=20.0)
    # Replying to another agent's message is an exchange even when the room's last speaker was oneself.
    history = [agent(0.0, "a"), agent(1.0, "b"), agent(2.0, "a")]
    assert loops(history, at=3.0, limit=2, window=60.0, replying_to="b")
    assert not loops(history, at=3.0, limit=2, window=60.0)


# --- depth -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply_to", "parent", "depth"),
    [
        (None, None, 0),
        ("m1", None, 1),  # parent forgotten
        ("m1", human(0.0), 1),
        ("m1", agent(0.0, "a", depth=3), 4),
    ],
)
def test_reply_depth(reply_to: str | None, parent: Recent | None, depth: int) -> None:
    assert reply_depth(reply_to, parent) == depth


def test_depth_limit() -> None:
    assert depth_reason(5, 5) is None
    reason = depth_reason(6, 5)
    assert reason is not None and "6" in reason and "limit 5" in reason


# --- filters ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "patterns", "text", "hit"),
    [
        (("darn",), (), "well darn it", "darn"),
        (("darn",), (), "DARN!", "darn"),
        (("darn",), (), "ԁаrn", "darn"),  # Cyrillic look-alikes
        (("darn",), (), "d\u200barn", "darn"),  # zero-width split
        (("darn",), (), "darned", None),  # whole words only
        (("two words",), (), "say two   words now", "two words"),
        ((), (r"free\s+crypto",), "get FREE crypto now", r"free\s+crypto"),
        ((), (r"https?://bit\.ly/\S+",), "see http://bit.ly/x1", r"https?://bit\.ly/\S+"),
        ((), (r"(a+)+$",), "a" * 5000 + "b", None),  # catastrophic for backtracking engines; linear in RE2
        ((), (), "anything", None),
    ],
)
def test_filters_find(words: tuple[str, ...], patterns: tuple[str, ...], text: str, hit: str | None) -> None:
    found = compile_filters(words, patterns).find(normalize(text))
    assert (found.source if found else None) == hit


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("well darn it", "well **** it"),
        ("Darn, DARN and darn.", "****, **** and ****."),
        ("ԁаrn you", "**** you"),
        ("d\u200barn!", "*****!"),  # the invisible character inside the word goes too
    ],
)
def test_filters_mask(text: str, masked: str) -> None:
    assert compile_filters(("darn",), ()).mask(text) == masked


def test_invalid_pattern_reason() -> None:
    assert check_pattern(r"ok\d+") is None
    problem = check_pattern("broken(")
    assert problem is not None and "missing )" in problem
    assert check_pattern(r"(?<=x)y") is not None  # look-behind: not RE2


# --- edits ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found", "stripped"),
    [
        ("@everyone look", ["@everyone"], "everyone look"),
        ("hey @here and <!channel>", ["@here", "<!channel>"], "hey here and channel"),
        ("<!here|here> ping", ["<!here|here>"], "here ping"),
        ("mail me@heredoc.com", [], "mail me@heredoc.com"),
        ("plain text", [], "plain text"),
    ],
)
def test_mass_mentions(text: str, found: list[str], stripped: str) -> None:
    assert find_mass_mentions(text) == found
    assert strip_mass_mentions(text) == stripped


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("word " * 10, 20, "word word word word…"),
        ("x" * 30, 10, "x" * 9 + "…"),
    ],
)
def test_cut_to_limit(text: str, limit: int, expected: str) -> None:
    cut = cut_to_limit(text, limit)
    assert cut == expected and len(cut) <= limit


# --- escalation ------------------------------------------------------------------------------------------------


def test_within_window() -> None:
    assert within_window([1.0, 50.0, 99.0], 100.0, 50.0) == [50.0, 99.0]


@pytest.mark.parametrize(
    ("points", "at", "expected"),
    [
        (3.0, 0.0, 3.0),
        (3.0, 3600.0, 2.5),
        (3.0, 36000.0, 0.0),
        (0.0, 10.0, 0.0),
    ],
)
def test_points_decay(points: float, at: float, expected: float) -> None:
    assert decayed_points(points, 0.0, at, decay_per_hour=0.5) == pytest.approx(expected)


LADDER = [LadderStep(1, "warn"), LadderStep(3, "timeout", 600), LadderStep(5, "timeout", 86400)]


@pytest.mark.parametrize(
    ("points", "step"),
    [(0.5, None), (1.0, LADDER[0]), (2.9, LADDER[0]), (3.0, LADDER[1]), (7.0, LADDER[2])],
)
def test_ladder(points: float, step: LadderStep | None) -> None:
    assert ladder_step(points, LADDER) == step


def test_points_are_held_to_a_tenth_so_what_is_shown_is_what_the_ladder_reads() -> None:
    # Two points held 10 s and 20 s at 0.25 a hour, plus the third violation's point: 2.9997 shows "3.0" and is 3.
    total = decayed_points(2.0, 0.0, 20.0, decay_per_hour=0.25) + 1.0
    assert f"{total:.1f}" == "3.0" and ladder_step(total, LADDER) == LADDER[1]
    assert ladder_step(2.9997, LADDER) == LADDER[1] and ladder_step(2.94, LADDER) == LADDER[0]
    assert held_points(2.96) == 3.0 and held_points(-0.4) == 0.0


def test_patterns_sharing_a_group_name_are_told_apart() -> None:
    filters = compile_filters((), (r"(?P<x>spam)", r"(?P<x>scam)", r"plain"))
    hit = filters.find("a scam here")
    assert hit is not None and hit.source == r"(?P<x>scam)"


def test_which_pattern_matched_is_named() -> None:
    filters = compile_filters((), (r"(a)(b)", r"(?P<mine>cd)", r"ef"))
    assert filters.find("xx ef").source == "ef"
    assert filters.find("cd").source == r"(?P<mine>cd)"
    assert filters.find("ab").source == r"(a)(b)"


@pytest.mark.parametrize(
    "times",
    [[], [0.0], [0.0, 0.1], [0.0, 0.1, 0.2], [0.0, 0.1, 0.2, 0.3], [0.0, 5.0, 5.1, 5.2, 9.0], [0.0, 0.0, 0.0, 30.0]],
)
@pytest.mark.parametrize("at", [0.3, 6.0, 100.0])
def test_replayed_level_matches_the_bucket(times: list[float], at: float) -> None:
    expected: TokenBucket | None = None
    for t in times:
        expected = spend(expected, t, 1 / 2.0, 3)
    replayed = replay_bucket(times, 1 / 2.0, 3)
    assert (replayed is None) == (expected is None)
    assert _level(replayed, at, 1 / 2.0, 3) == pytest.approx(_level(expected, at, 1 / 2.0, 3))


@pytest.mark.parametrize("threshold", [0.5, 0.8, 1.0])
@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("the deploy is done", "the deploy is done now"),
        ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu", "alpha beta gamma delta"),
        ("one two three", "four five six"),
        ("same", "same"),
    ],
)
def test_a_near_duplicate_is_decided_on_the_exact_similarity(a: str, b: str, threshold: float) -> None:
    earlier = Recent(1.0, "x", A, 0, 0, *make_payload(a, MatchMode.NEAR))
    mine = make_payload(b, MatchMode.NEAR)
    reason = duplicate_reason(
        author="x",
        key=mine.key,
        sketch=mine.sketch,
        at=2.0,
        history=[earlier],
        window=10.0,
        any_agent=False,
        near_threshold=threshold,
        mode=MatchMode.NEAR,
        words=mine.words,
        length=mine.length,
    )
    theirs = make_payload(a, MatchMode.NEAR)
    exact = word_similarity(mine.words, mine.length, theirs.words, theirs.length)
    assert (reason is not None) is (canonical(a) == canonical(b) or exact > threshold)
