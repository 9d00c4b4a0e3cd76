"""The chat layer's data: slang valences added to VADER's lexicon, emoji valences that replace VADER's emoji
descriptions, phrase rewrites (insults, threats, technical idioms), and the cues of sarcasm. ``chat.py`` applies
them; valences are on VADER's scale (-4 .. +4).
"""

from __future__ import annotations

# Slang and abbreviations VADER does not know or weighs for prose rather than chat. ``lol`` is mostly a softener in
# chat ("lol ok", "lol what time is it"), not the strong joy VADER gives it (1.8).
SLANG: dict[str, float] = {
    "lol": 0.6,
    "lmao": 1.4,
    "lmfao": 1.4,
    "rofl": 1.6,
    "ngl": 0.0,
    "tbh": 0.0,
    "imo": 0.0,
    "imho": 0.0,
    "fwiw": 0.0,
    "iirc": 0.0,
    "afaik": 0.0,
    "np": 0.0,
    "idk": 0.0,
    "smh": -1.5,
    "smdh": -1.8,
    "fml": -2.4,
    "ffs": -2.2,
    "kys": -3.5,
    "stfu": -2.6,
    "gtfo": -2.6,
    "bruh": -0.6,
    "yikes": -1.4,
    "oof": -1.1,
    "rip": -1.0,
    "sus": -1.0,
    "mid": -1.3,
    "cringe": -1.6,
    "tilted": -1.5,
    "laggy": -1.6,
    "buggy": -1.6,
    "crashed": -1.6,
    "crashing": -1.6,
    "failing": -1.4,
    "failed": -1.4,
    "clown": -1.8,
    "trash": -1.8,
    "noob": -1.2,
    "loser": -2.4,
    "unbearable": -2.2,
    "ty": 1.8,
    "tysm": 2.6,
    "tyvm": 2.6,
    "thx": 1.6,
    "gg": 1.5,
    "wp": 1.5,
    "ez": 0.8,
    "lgtm": 1.6,
    "legend": 1.8,
    "goated": 2.4,
    "pog": 2.0,
    "poggers": 2.2,
    "slaps": 2.0,
    "banger": 2.4,
    "w": 1.4,
    "gm": 0.0,
    "gn": 0.0,
    "congrats": 2.4,
    "wholesome": 2.0,
    "immaculate": 2.0,
    "lifesaver": 2.4,
    "nope": -0.8,
    "slow": -1.2,
    "confused": -0.4,
    # Acknowledgements: mild, not the praise VADER's prose reading makes of them.
    "ok": 0.5,
    "okay": 0.5,
    "sure": 0.4,
    "yep": 0.3,
    "alright": 0.3,
    # Channel and role names in chat, not feelings.
    "support": 0.0,
}

# Words VADER scores that chat uses as intensifiers ("super slow").
UNSCORED = ("super",)

# Emoji valences: VADER reads an emoji as its description, which for chat is often wrong ("thumbs up", "pouting
# face", "fire" score 0, 0 and negative). Each listed emoji becomes one token ``emoji:<name>`` with this valence;
# emoji not listed keep VADER's description.
EMOJI: dict[str, tuple[str, float]] = {
    "👍": ("thumbs_up", 1.6),
    "👎": ("thumbs_down", -1.6),
    "👌": ("ok_hand", 1.2),
    "🙏": ("folded_hands", 1.4),
    "🙌": ("raised_hands", 2.0),
    "👏": ("clapping", 1.8),
    "💪": ("flexed_biceps", 1.5),
    "🏆": ("trophy", 1.8),
    "🐐": ("goat", 2.0),
    "🔥": ("fire", 1.8),
    "💯": ("hundred", 1.6),
    "✨": ("sparkles", 1.2),
    "✅": ("check_mark", 1.0),
    "❌": ("cross_mark", -1.0),
    "❤": ("red_heart", 2.4),
    "💕": ("two_hearts", 2.4),
    "💔": ("broken_heart", -2.4),
    "🎉": ("party_popper", 2.2),
    "🥳": ("party_face", 2.4),
    "🎂": ("birthday_cake", 1.6),
    "😀": ("grinning", 2.0),
    "😃": ("grinning_big_eyes", 2.0),
    "😄": ("grinning_smiling_eyes", 2.0),
    "😁": ("beaming", 2.0),
    "😆": ("squinting_laugh", 2.0),
    "😂": ("tears_of_joy", 1.8),
    "🤣": ("rolling_laughing", 2.0),
    "💀": ("skull", 1.0),  # "I'm dead": laughing, in chat
    "😊": ("smiling_eyes", 2.0),
    "🙂": ("slight_smile", 1.0),
    "😍": ("heart_eyes", 2.5),
    "🥰": ("smiling_hearts", 2.5),
    "🥹": ("holding_back_tears", 1.6),
    "😎": ("sunglasses", 1.6),
    "😅": ("sweat_smile", 0.3),
    "🤷": ("shrug", 0.0),
    "👀": ("eyes", 0.0),
    "🤔": ("thinking", 0.0),
    "😭": ("loudly_crying", -0.8),
    "😢": ("crying", -2.0),
    "🥲": ("smile_tear", -0.3),
    "😞": ("disappointed", -1.8),
    "🙁": ("frowning", -1.5),
    "😕": ("confused", -0.8),
    "😬": ("grimacing", -1.0),
    "😒": ("unamused", -1.6),
    "🙄": ("rolling_eyes", -1.4),
    "🙃": ("upside_down", -0.4),
    "😤": ("steam_nose", -1.8),
    "😩": ("weary", -1.6),
    "😫": ("tired_face", -1.6),
    "🤦": ("facepalm", -1.6),
    "😠": ("angry_face", -2.4),
    "😡": ("pouting", -2.8),
    "🤬": ("cursing", -3.2),
    "🖕": ("middle_finger", -3.2),
    "🤡": ("clown", -1.8),
}

# Emoji that mark a positive word as meant the other way ("wow thanks for deleting my message 🙄").
SARCASM_EMOJI = frozenset({"🙄", "🙃"})

# Phrases rewritten into one token before VADER reads the text: insults and threats VADER's word-by-word reading
# underrates or misses, idioms it reads backwards ("killing it", "kill the process"). Order matters: the first
# pattern that matches a span wins. (pattern, token, valence); a token with valence None is plain text VADER scores.
_KILL_TARGET = (
    r"kill(?:ed|ing|s)? (?:the |that |this |a |my )?"
    r"(?:process(?:es)?|task|job|container|pod|server|worker|session|thread|tab|pid|app|build|query)"
)
PHRASES: tuple[tuple[str, str, float | None], ...] = (
    (_KILL_TARGET, "chat:kill_process", 0.0),
    (r"kill(?:ed|ing|s)? -9", "chat:kill_process", 0.0),
    (r"killer (?:feature|app)", "chat:great_feature", 2.0),
    (r"killing it", "chat:killing_it", 2.6),
    (r"shoot me (?:a |an )?(?:message|msg|dm|email|line|ping)", "chat:send_message", 0.0),
    (r"kill (?:your ?self|urself|yo self)", "chat:kys", -3.6),
    (r"go (?:die|kill yourself)(?: in a hole)?", "chat:go_die", -3.4),
    (r"(?:i'?ll|i will|i'?m (?:going|gonna) to|i'?m gonna|gonna) (?:kill|hurt|find|end) you", "chat:threat", -3.4),
    (r"(?:i'?ll|i will) find you and (?:hurt|kill) you", "chat:threat", -3.4),
    (r"watch your back", "chat:threat", -3.0),
    (r"i know where you live", "chat:threat", -3.2),
    (r"nobody (?:asked|likes you|cares about you)", "chat:insult", -2.2),
    (r"delete your account", "chat:insult", -2.4),
    (r"piece of (?:trash|shit|garbage|crap)", "chat:insult", -3.0),
    (r"get lost", "chat:insult", -1.8),
    (r"shut (?:up|your mouth)", "chat:shut_up", -2.2),
    (r"(?:not gonna lie|to be honest|in my opinion)", "ngl", None),
    (r"can'?t complain", "chat:content", 1.4),
    (r"hell yeah", "chat:hell_yeah", 2.6),
    (r"let'?s go+", "chat:lets_go", 2.2),
    (r"(?:thanks|thank you) for nothing", "chat:thanks_for_nothing", -2.0),
    (r"said no one ever", "chat:sarcasm", -1.5),
    (r"sick of", "chat:sick_of", -2.0),
    (r"(?:it'?s|this is|that'?s) sick", "chat:its_sick", 2.2),
    (r"(?:crazy|stupidly|wicked|insanely) (?:good|easy|fast|cheap)", "chat:very_good", 2.6),
    (r"that (?:play|clutch|shot) was insane", "chat:insane_play", 2.6),
    (r"i can'?t even", "chat:cant_even", 0.0),
    (r"(?:i'?m|im) (?:dead|deceased|dying)", "chat:laughing", 1.6),
    (r"you rock", "chat:you_rock", 2.2),
    (r"no way", "chat:no_way", 0.4),
    (r"no (?:bugs|issues|problems|complaints|errors|worries)", "chat:no_problem", 1.0),
    (
        r"(?:(?:that|it|this) )?work(?:s|ed) (?:for me|now|fine|great|perfectly)|(?:that|it|this) work(?:s|ed)",
        "chat:works",
        1.4,
    ),
    (r"nothing works", "chat:nothing_works", -1.8),
    (
        r"(?:doesn'?t|does not|didn'?t|did not|won'?t|isn'?t|is not|not|still not) (?:work|working|help|load|loading)",
        "chat:not_working",
        -1.6,
    ),
    (
        r"(?:can'?t|cannot|unable to|couldn'?t) (?:log ?in|connect|access|sign in|load|open|install|find|start)",
        "chat:cant_do",
        -1.4,
    ),
    (r"give up", "chat:give_up", -1.8),
    (r"same error", "chat:same_error", -1.2),
    (r"(?:is|are|went|goes|was) down", "chat:is_down", -1.4),
    (r"(?:timed|times|timing) out|(?:getting|got|get|hit|hitting) (?:a |the )?time ?outs?", "chat:timeout", -1.0),
    (r"still waiting", "chat:still_waiting", -1.2),
    (r"are you (?:kidding|serious|joking)(?: me)?", "chat:kidding", -1.8),
    (r"how dare you", "chat:how_dare", -2.4),
    (r"rough (?:week|day|night|time|year)", "chat:rough_time", -1.8),
)

# Phrases that mark what follows as meant the other way when the message also says something went wrong.
SARCASM_OPENERS = (
    "great", "oh great", "just great", "oh wonderful", "wonderful", "fantastic", "oh fantastic", "perfect",
    "oh perfect", "just perfect", "lovely", "oh lovely", "awesome", "oh awesome", "amazing", "oh amazing", "nice",
    "oh nice", "wow", "cool cool", "brilliant", "oh brilliant", "yay", "oh yay", "oh joy", "oh good", "oh sure",
    "sure", "yeah right", "love it when", "i love it when", "love waiting", "love how", "thanks a lot",
    "so glad", "best support ever", "great job", "good job", "well that's just", "just what i needed",
    "yeah that went great", "super helpful",
)  # fmt: skip
# Phrases that are sarcastic on their own, whatever follows.
SARCASM_MARKERS = (
    "/s", "yeah right", "just what i needed", "oh sure", "oh joy", "said no one ever", "well that's just great",
    "well that's just perfect", "great, just great",
)  # fmt: skip
# Words and phrases of something having gone wrong: with a sarcasm opener they make the message sarcastic.
TROUBLE = (
    "again", "broke", "broken", "breaks", "down", "crash", "crashed", "crashes", "died", "dead", "outage", "lost",
    "nothing", "no answer", "nobody", "failing", "fails", "failed", "another", "mandatory", "merge conflicts",
    "waiting", "deleting", "deleted", "for this", "friday", "stayed up", "only been", "no longer",
)  # fmt: skip

# Verbs that raise a negation to the clause they introduce: "I don't think this is a good idea" negates "good".
NEG_RAISING = frozenset({"think", "believe", "feel", "seem", "seems", "say", "expect", "suppose", "guess"})
