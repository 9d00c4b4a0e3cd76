"""Mention spam: distinct users and roles per message, in Discord's and Slack's forms."""

from __future__ import annotations

from policy.moderation_mentions import MentionSettings, count_mentions, human_mention_problem, spam_reason


def test_distinct_users_and_roles_are_counted_in_both_platforms_forms():
    text = "<@1> <@!1> <@2> <@&10> <@&10> <@U0ALICE> <@U0ALICE|alice> <@W0BOB> <!subteam^S0OPS|@ops> <!here>"
    count = count_mentions(text)
    assert (count.users, count.roles) == (4, 2)  # <@1> and <@!1> are one user; <!here> is a mass mention
    assert count_mentions("mail me at a@b.c, <#C123|general>") == count_mentions("")


def test_the_limit_is_per_message_and_zero_turns_it_off():
    pings = " ".join(f"<@{i}>" for i in range(1, 21))
    assert human_mention_problem(pings, MentionSettings()) == (
        "mention spam: pings 20 people in one message (at most 10 here)"
    )
    assert human_mention_problem(" ".join(f"<@{i}>" for i in range(10)), MentionSettings()) is None
    assert human_mention_problem(pings, MentionSettings(human_max_mentions=0)) is None
    assert human_mention_problem("<@1> " * 40, MentionSettings(human_max_mentions=1)) is None  # one person
    assert spam_reason(count_mentions("<@1> <@&2> <@&3>"), 2) == (
        "mention spam: pings 1 person and 2 roles in one message (at most 2 here)"
    )
