"""The probe set `steward model export` scores with both backends to measure the ONNX model's drift.

A mix of lengths and tones: friendly, neutral, heated, insulting, threatening, and a few long texts that need
several chunks, so that padding, truncation and the chunk maximum are all exercised.
"""

from __future__ import annotations

PROBES: tuple[str, ...] = (
    "hello everyone, how is it going?",
    "thanks, that was really helpful",
    "ok",
    "I disagree with this proposal, the numbers do not add up.",
    "Could you share the link to the design doc again?",
    "lol",
    "This is the worst release we have ever shipped.",
    "you are an idiot",
    "shut up, nobody asked you",
    "what a stupid question",
    "get lost, loser",
    "I will find you and hurt you",
    "people like you should not be allowed to post here",
    "this is damn annoying",
    "go to hell",
    "you're a complete moron and everyone knows it",
    "That's a fair point, I had not considered the cache.",
    "Merging now, please rebase your branches.",
    "I hate mondays",
    "I love this community!",
    "Your code is garbage and so are you",
    "can someone explain how the scheduler re-arms timers after a restart?",
    "the weather in the north is awful this week",
    "kill the process and restart it",
    "this bot keeps replying to itself, someone stop it",
    "What the hell is going on with the build?",
    "you people are pathetic",
    "Nice work on the release notes, very clear.",
    "I am going to report you to the admins",
    "Stop spamming the channel.",
    "é, ü, ñ and emoji 🎉 should tokenize too",
    "1234567890 !!! ??? ...",
    " ".join(["The meeting notes cover the roadmap, the budget and the hiring plan."] * 40),
    " ".join(["I disagree strongly and I think this idea is foolish, but let us talk."] * 60),
    " ".join(["friendly words"] * 300) + " and then you are a worthless idiot at the very end",
)
