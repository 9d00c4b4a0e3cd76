"""The links rule's pure parts: finding links in every shape the platforms deliver, and what is refused."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy.moderation_links import Link, LinkSettings, find_links, host_of, link_problem, registrable
from policy.moderation_mentions import count_mentions

DEFAULT = LinkSettings()


def test_links_are_found_in_plain_markdown_discord_and_slack_forms():
    text = (
        "see [the docs](https://docs.python.org/3/) or <https://evil.example/x|docs.python.org>, "
        "<https://slack.com/help> and https://example.com/page."
    )
    assert find_links(text) == [
        Link("https://docs.python.org/3/", "the docs", True),
        Link("https://evil.example/x", "docs.python.org", True),
        Link("https://slack.com/help", "https://slack.com/help", False),
        Link("https://example.com/page", "https://example.com/page", False),
    ]
    # Discord's masked link with the target in angle brackets (no embed) and a title.
    assert find_links('[x](<https://a.example/p> "title")') == [Link("https://a.example/p", "x", True)]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[docs.python.org](https://evil.example)", "disguised link: shows docs.python.org, goes to evil.example"),
        ("<https://evil.example|docs.python.org>", "disguised link: shows docs.python.org, goes to evil.example"),
        ("[https://github.com/x](http://evil.example)", "disguised link: shows github.com, goes to evil.example"),
        (
            "[github.com](https://github.com.evil.example/login)",
            "disguised link: shows github.com, goes to github.com.evil.example",
        ),
        ("[paypal.com](https://xn--pypal-4ve.com)", "disguised link: shows paypal.com, goes to xn--pypal-4ve.com"),
        ("https://paypal.com@evil.example/x", "disguised link: shows paypal.com before an @, goes to evil.example"),
        (
            "<https://paypal.com%2F@evil.example|a>",
            "disguised link: shows paypal.com before an @, goes to evil.example",
        ),
    ],
)
def test_a_link_showing_another_site_is_disguised(text, reason):
    assert link_problem(text, DEFAULT) == reason


@pytest.mark.parametrize(
    "text",
    [
        "[docs.python.org](https://docs.python.org/3/library/)",
        "[www.python.org](https://docs.python.org/3/)",  # one registrable domain
        "<https://docs.python.org|docs.python.org>",  # how Slack sends a link someone typed
        "[the tutorial](https://docs.python.org/3/tutorial/)",  # text that names no site (people)
        "[bbc.co.uk](https://www.bbc.co.uk/news)",
        "read https://example.com, then reply",
        "version 3.12.1 is out, see file.txt",
        "the mirror: https://ftp:anonymous@ftp.example.org/pub/",  # a user name that names no site
    ],
)
def test_honest_links_pass_for_people(text):
    assert link_problem(text, DEFAULT) is None


def test_agents_must_show_where_a_masked_link_goes_unless_its_domain_is_allowed():
    reason = link_problem("[docs](https://evil.example)", DEFAULT, agent=True)
    assert reason == "masked link: shows 'docs', goes to evil.example (agents' links must show their address)"
    assert link_problem("[docs](https://evil.example)", DEFAULT) is None  # a person's masked link is ordinary
    allowed = LinkSettings(allow=("python.org",))
    assert link_problem("[docs](https://docs.python.org/3/)", allowed, agent=True) is None
    assert link_problem("[docs](https://evil.example)", LinkSettings(agent_masked=False), agent=True) is None


def test_deny_and_allow_lists_match_subdomains_and_look_alikes():
    deny = LinkSettings(deny=("evil.example", "https://PayPal.com/", "*.evil.example"))
    assert deny.deny == ("evil.example", "paypal.com")
    assert link_problem("go https://cdn.evil.example/a", deny) == (
        "links to cdn.evil.example, a domain this server does not allow (evil.example)"
    )
    assert (
        link_problem("https://paypa1.com/login", deny) == "links to paypa1.com, a domain made to look like paypal.com"
    )
    assert link_problem("https://notevil.example", deny) is None  # not a subdomain
    allow = LinkSettings(allow=("python.org",))
    assert link_problem("https://docs.python.org", allow) is None
    assert link_problem("https://example.com", allow) == (
        "links to example.com, which is not on this server's list of allowed domains"
    )
    assert link_problem("https://pyth0n.org/", allow) == "links to pyth0n.org, a domain made to look like python.org"


def test_a_domain_mixing_alphabets_is_refused_in_any_form():
    for text in ("https://pаypal.com/login", "https://xn--pypal-4ve.com/login"):
        assert link_problem(text, DEFAULT) == (
            "links to xn--pypal-4ve.com (pаypal.com), a domain that mixes alphabets to look like another"
        )
    assert link_problem("https://почта.рф/", DEFAULT) is None  # one script throughout is a real domain
    assert link_problem("https://pаypal.com", LinkSettings(lookalike=False)) is None


def test_the_rule_turned_off_refuses_nothing():
    assert link_problem("[a.com](https://b.com)", LinkSettings(enabled=False), agent=True) is None
    with pytest.raises(ValueError, match="not a domain name"):
        LinkSettings(deny=("localhost",))


def test_registrable_domains_and_hosts():
    assert registrable("docs.python.org") == "python.org"
    assert registrable("news.bbc.co.uk") == "bbc.co.uk"
    assert registrable("alice.github.io") == "alice.github.io"
    assert registrable("10.0.0.1") == "10.0.0.1"
    assert host_of("HTTPS://Docs.Python.ORG./x") == "docs.python.org"
    assert host_of("https://xn--80ak6aa92e.com") == "аррӏе.com"


@given(st.text(max_size=300))
def test_never_raises_on_any_text(text):
    link_problem(text, DEFAULT, agent=True)
    link_problem("https://" + text, DEFAULT, agent=True)
    link_problem(f"[{text}](https://{text})", DEFAULT, agent=True)


@pytest.mark.parametrize(
    "text",
    [
        "[a](https://" * 3000,  # every "[" starts a masked link that never closes
        "<https://" * 3000,
        "<https://a|" * 3000,
        '[a](https://x "' * 3000,
        "[" + "a." * 255 + "](https://x.y) " * 40,
        "<@U12|" * 5000 + "https://" + "a." * 5000,
    ],
)
def test_a_message_built_to_make_the_scan_backtrack_costs_a_bounded_scan(text):
    # Before the quantifiers were bounded and possessive the first of these took 8.5 s; now about 40 ms.
    started = time.perf_counter()
    link_problem(text, LinkSettings(deny=("evil.example",)), agent=True)
    count_mentions(text)
    assert time.perf_counter() - started < 1.5
