"""The links rule: disguised links, look-alike domains and the server's domain allow and deny lists.

A link reaches the core in one of four shapes: a plain ``https://...`` in the text, a Markdown or Discord masked
link ``[text](url)``, Slack's ``<url|text>`` (Slack's raw mrkdwn is what the event text carries) and Slack's bare
``<url>``. ``find_links`` extracts every one with the text a reader sees; ``link_problem`` says what is wrong with
the first link that breaks a rule, in words a reader understands ("disguised link: shows docs.python.org, goes to
evil.example"). Domains are compared by their registrable part (``docs.python.org`` and ``www.python.org`` are one
site) worked out without the network from a short list of multi-label public suffixes, after decoding IDN
(punycode) labels; a domain that only looks like an allowed or denied one (``pаypal.com`` with a Cyrillic "а") is
caught through the name skeleton of ``policy.impersonation``. Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from policy.impersonation import skeleton
from policy.moderation_rules import Outcome, Reject, RuleState, Subject, TextRule
from policy.moderation_settings import SectionModel
from policy.moderation_text import INVISIBLE

# Public suffixes of more than one label that people meet in chat (the registrable domain is one label more).
# Without the full Public Suffix List (a network fetch) two labels are the registrable part everywhere else.
MULTI_LABEL_SUFFIXES = frozenset(
    {
        "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk", "sch.uk", "nhs.uk",
        "com.au", "net.au", "org.au", "edu.au", "gov.au", "co.nz", "org.nz", "govt.nz", "co.jp", "ne.jp",
        "or.jp", "ac.jp", "go.jp", "co.kr", "or.kr", "com.br", "net.br", "org.br", "gov.br", "com.cn",
        "net.cn", "org.cn", "gov.cn", "com.hk", "com.tw", "com.sg", "com.my", "co.in", "net.in", "org.in",
        "gov.in", "ac.in", "co.id", "or.id", "com.mx", "com.ar", "com.co", "com.pe", "com.tr", "gov.tr",
        "co.za", "org.za", "com.ng", "co.il", "org.il", "ac.il", "com.ua", "com.pl", "com.ru", "com.es",
        "co.th", "com.vn", "com.ph", "com.pk", "com.eg", "com.sa", "ac.at", "co.at", "or.at",
        # hosting platforms where every customer has a subdomain of their own
        "github.io", "gitlab.io", "pages.dev", "workers.dev", "vercel.app", "netlify.app", "web.app",
        "firebaseapp.com", "herokuapp.com", "appspot.com", "blogspot.com", "azurewebsites.net", "cloudfront.net",
        "s3.amazonaws.com", "ngrok.io", "ngrok-free.app", "glitch.me", "repl.co", "onrender.com", "fly.dev",
        "wordpress.com", "tumblr.com", "substack.com", "notion.site", "myshopify.com", "duckdns.org",
    }
)  # fmt: skip

_LABEL_CHARS = r"[^\s/?#<>()\[\]|\"'`*.]"  # what a host's label may hold (loosely: the reader's eye, not RFC 1035)
# Every quantifier below is bounded and possessive (``{m,n}+``: nothing given back), so a message built to make
# the scan backtrack ("[a](https://[a](https://..." ten thousand times) costs a bounded scan per link start.
# [text](url) in Markdown and Discord (Discord also accepts <url> inside the parentheses, and a title after it).
_MASKED = re.compile(
    r"\[([^\]\n]{1,512}+)\]\(\s{0,8}+<?((?:https?|ftp)://[^\s)>]{1,2048}+)>?(?:\s{1,8}+\"[^\"]{0,200}+\")?\s{0,8}+\)",
    re.I,
)
# Slack mrkdwn: <url|text> and <url>.
_SLACK = re.compile(r"<((?:https?|ftp)://[^\s|>]{1,2048}+)(?:\|([^>\n]{0,512}+))?>", re.I)
_PLAIN = re.compile(r"(?:https?|ftp)://[^\s<>\[\]()|\"'`]{1,2048}+", re.I)
# What a reader takes for an address inside a link's visible text: a URL, or a dotted name ending in a TLD.
_SHOWN = re.compile(rf"(?:(?:https?|ftp)://)?((?:{_LABEL_CHARS}{{1,63}}+\.){{1,16}}[^\W\d_]{{2,63}})\b", re.I)
_TRAILING = ".,;:!?'\")]}>*_~"
_CODE = re.compile(r"```.{0,8000}?```|`[^`\n]{1,2000}+`", re.S)


@dataclass(frozen=True, slots=True)
class Link:
    """One link in a message: where it goes and what the reader sees (the URL itself for a plain link)."""

    url: str
    shown: str
    masked: bool  # the visible text is not the URL (Markdown, Discord or Slack masked link)


def find_links(text: str) -> list[Link]:
    """Every link in ``text``, masked ones first, each once."""
    links: list[Link] = []
    rest = text
    for pattern, url_group, shown_group in ((_MASKED, 2, 1), (_SLACK, 1, 2)):
        for match in pattern.finditer(rest):
            url, shown = match.group(url_group), match.group(shown_group)
            links.append(Link(url, shown if shown else url, bool(shown)))
        rest = pattern.sub(" ", rest)
    for match in _PLAIN.finditer(rest):
        url = match.group(0).rstrip(_TRAILING)
        links.append(Link(url, url, False))
    return links


def _decode_label(label: str) -> str:
    if label.startswith("xn--"):
        try:
            return label[4:].encode("ascii").decode("punycode")
        except (UnicodeError, ValueError):
            return label
    return label


@lru_cache(maxsize=4096)
def host_of(url: str) -> str | None:
    """The URL's host, lower-case, IDN labels decoded to Unicode, without a trailing dot; None when it has none."""
    try:
        host = urlsplit(url if "://" in url else f"http://{url}").hostname
    except ValueError:
        return None
    if not host:
        return None
    host = unicodedata.normalize("NFKC", host).casefold().rstrip(".")
    # Full stops that are not "." (ideographic, fullwidth, halfwidth) separate labels too.
    host = re.sub("[\u3002\uff0e\uff61]", ".", host)
    return ".".join(_decode_label(label) for label in host.split(".")) or None


def registrable(host: str) -> str:
    """The part of ``host`` one registrant controls (``docs.python.org`` -> ``python.org``); an IP as it is."""
    labels = host.split(".")
    if len(labels) <= 2 or all(label.isdigit() for label in labels) or ":" in host:
        return host
    if ".".join(labels[-2:]) in MULTI_LABEL_SUFFIXES:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _under(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def _mixed_script(label: str) -> bool:
    """A label that mixes Latin letters with letters of another script (``pаypal``): a look-alike."""
    scripts = set()
    for char in label:
        if char.isalpha():
            name = unicodedata.name(char, "")
            scripts.add(name.split(" ", 1)[0] if name else "?")
            if len(scripts) > 1 and "LATIN" in scripts:
                return True
    return False


def shown_host(shown: str) -> str | None:
    """The address a link's visible text names (``docs.python.org``, ``https://x.example/a``), if it names one."""
    # Fullwidth or ideographic full stops and invisible characters are dressing: "docs．python．org" names a site.
    folded = "".join(char for char in unicodedata.normalize("NFKC", shown) if char not in INVISIBLE)
    match = _SHOWN.search(re.sub("[\u3002\uff61]", ".", folded))
    if match is None:
        return None
    return host_of(match.group(0))


class LinkSettings(SectionModel):
    """``[moderator.links]``: what the links rule refuses, for agents (before posting) and humans (after)."""

    enabled: bool = Field(default=True, description="Check the links in messages")
    disguised: bool = Field(
        default=True, description="Refuse a link whose visible text names another site than the one it opens"
    )
    lookalike: bool = Field(
        default=True,
        description="Refuse a link whose domain mixes scripts (pаypal.com) or only looks like a listed domain",
    )
    allow: tuple[str, ...] = Field(
        default=(), description="If set, links may go only to these domains (and their subdomains)"
    )
    deny: tuple[str, ...] = Field(default=(), description="Links to these domains (and subdomains) are refused")
    agent_action: Literal["reject", "allow"] = Field(
        default="reject", description="Agents: reject a message with a refused link, or let it through"
    )
    agent_masked: bool = Field(
        default=True,
        description="Agents: also refuse a masked link ([text](url)) whose text names no address, unless its domain "
        "is on the allow list (an agent has no reason to hide where a link goes)",
    )
    humans: bool = Field(
        default=True, description="Act on people's refused links with the warning ladder (delete, warn, timeout)"
    )

    @field_validator("allow", "deny")
    @classmethod
    def _domains(cls, domains: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = []
        for entry in domains:
            host = host_of(entry.strip().removeprefix("*."))  # "*.example.com": subdomains match anyway
            if host is None or "." not in host:
                raise ValueError(f"{entry!r} is not a domain name (e.g. example.com)")
            cleaned.append(host)
        return tuple(dict.fromkeys(cleaned))


@dataclass(frozen=True, slots=True)
class LinkPolicy:
    """``LinkSettings`` made ready to check messages: the lists as hosts and as skeletons."""

    disguised: bool
    lookalike: bool
    agent_masked: bool
    allow: tuple[str, ...]
    deny: tuple[str, ...]
    listed_skeletons: tuple[tuple[str, str], ...]  # (skeleton of the registrable domain, the listed domain)

    @classmethod
    def of(cls, settings: LinkSettings) -> LinkPolicy:
        listed = (*settings.allow, *settings.deny)
        return cls(
            disguised=settings.disguised,
            lookalike=settings.lookalike,
            agent_masked=settings.agent_masked,
            allow=settings.allow,
            deny=settings.deny,
            listed_skeletons=tuple((_domain_skeleton(registrable(d)), d) for d in listed),
        )

    def problem(self, text: str, *, agent: bool) -> str | None:
        """Why ``text`` is refused (its first refused link), or None; an ``agent``'s masked links are held to
        ``agent_masked`` too."""
        if "://" not in text:
            return None
        if "`" in text:
            text = _CODE.sub(" ", text)  # code shows a link as text: nothing there opens it
        for link in find_links(text):
            reason = self.link_problem(link, agent=agent)
            if reason is not None:
                return reason
        return None

    def link_problem(self, link: Link, *, agent: bool = False) -> str | None:
        host = host_of(link.url)
        if host is None:
            return None
        if link.masked:
            reason = self._masked(link, host, agent=agent)
            if reason is not None:
                return reason
        if self.disguised:
            reason = _userinfo_disguise(link.url, host)
            if reason is not None:
                return reason
        denied = next((d for d in self.deny if _under(host, d)), None)
        if denied is not None:
            return f"links to {host}, a domain this server does not allow ({denied})"
        if self.lookalike:
            reason = self._lookalike(host)
            if reason is not None:
                return reason
        if self.allow and not any(_under(host, d) for d in self.allow):
            return f"links to {host}, which is not on this server's list of allowed domains"
        return None

    def _masked(self, link: Link, host: str, *, agent: bool) -> str | None:
        if self.disguised:
            reason = _disguise(link.shown, host)
            if reason is not None:
                return reason
        if agent and self.agent_masked and shown_host(link.shown) is None:
            if not any(_under(host, d) for d in self.allow):
                shown = " ".join(link.shown.split())[:60]
                return f"masked link: shows {shown!r}, goes to {_ascii(host)} (agents' links must show their address)"
        return None

    def _lookalike(self, host: str) -> str | None:
        if any(_mixed_script(label) for label in host.split(".")):
            return f"links to {_ascii(host)} ({host}), a domain that mixes alphabets to look like another"
        if not self.listed_skeletons:
            return None
        mine = registrable(host)
        shape = _domain_skeleton(mine)
        for listed_shape, listed in self.listed_skeletons:
            if shape == listed_shape and mine != registrable(listed):
                return f"links to {_ascii(host)}, a domain made to look like {listed}"
        return None


def _disguise(shown: str, host: str) -> str | None:
    """The reason a masked link is disguised: its visible text names a site other than the one it opens."""
    named = shown_host(shown)
    if named is None or _under(host, named) or registrable(named) == registrable(host):
        return None
    return f"disguised link: shows {named}, goes to {_ascii(host)}"


def _userinfo_disguise(url: str, host: str) -> str | None:
    """``https://paypal.com@evil.example/``: what a reader takes for the site is a user name; the host follows."""
    netloc = url.split("://", 1)[-1].split("/", 1)[0]
    if "@" not in netloc:
        return None
    named = shown_host(netloc.rsplit("@", 1)[0])
    if named is None or registrable(named) == registrable(host):
        return None
    return f"disguised link: shows {named} before an @, goes to {_ascii(host)}"


def _ascii(host: str) -> str:
    """The host as the browser's address bar would show a suspicious one: punycode for non-ASCII labels."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


@lru_cache(maxsize=4096)
def _domain_skeleton(domain: str) -> str:
    """A domain's look: each label's name skeleton (``pаypal.com`` and ``paypa1.com`` -> ``paypal.com``'s)."""
    return ".".join(skeleton(label) for label in domain.split("."))


def link_problem(text: str, settings: LinkSettings, *, agent: bool = False) -> str | None:
    """Why ``text`` (an ``agent``'s, or a person's) breaks the links rule under ``settings``, or None."""
    if not settings.enabled:
        return None
    return _policy(settings).problem(text, agent=agent)


def human_link_problem(text: str, settings: LinkSettings) -> str | None:
    """Why a person's message breaks the links rule, or None (``humans = false``: never)."""
    return link_problem(text, settings) if settings.humans else None


class LinkRule(TextRule[LinkSettings]):
    """An agent's links: disguised, masked, look-alike, denied or not allowed -> rejected (``agent_action``)."""

    name = "links"
    key = "links"
    settings = LinkSettings
    __slots__ = ("policy",)

    def __init__(self, section: LinkSettings) -> None:
        self.policy = _policy(section)

    @classmethod
    def build(cls, section: LinkSettings) -> LinkRule | None:
        return cls(section) if section.enabled and section.agent_action == "reject" else None

    def check(self, subject: Subject, state: RuleState) -> Outcome | None:
        reason = self.policy.problem(subject.text, agent=True)
        return None if reason is None else Reject(reason)


@lru_cache(maxsize=256)
def _policy(settings: LinkSettings) -> LinkPolicy:
    return LinkPolicy.of(settings)
