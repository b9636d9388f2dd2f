"""Query syntax: a reader's query -> word groups, date bounds, hint (``search/query.js``'s twin).

``parse_query`` folds the query (:mod:`sitegen.search.fold`), takes out ``after:`` /
``before:`` filters and ``"phrases"``, and parses the rest with lunr.py's
QueryParser (lunr.js's in the browser), then normalises each clause exactly
like ``query.js``: trimmed like the indexing pipeline, stop words dropped,
stemmed; the word being typed is marked as a prefix.  See README "Searching".
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sitegen.search import lunrfast
from sitegen.search.fold import fold
from sitegen.search.stemmer import STOP_WORDS, stem, trim

__all__ = ["Group", "Parsed", "parse_query", "period", "QueryError", "SYNTAX_HELP", "js_key"]

SYNTAX_HELP = ('Use plain words; "two words" for a phrase, +word requires a word, -word excludes it, '
               'word* matches a prefix, title:word searches titles only, after:2025-03 and before:2025-06-01 '
               'filter by date.')
MIN_PREFIX = 3

OPTIONAL, REQUIRED, PROHIBITED = 1, 2, 3

_WS = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"   # JavaScript's \s
_FILTER = re.compile(f"(^|[{_WS}])(after|before):([^{_WS}]*)")
_PHRASE = re.compile(f'(^|[{_WS}])\\+?"([^"]*)("|\\Z)')     # a phrase starts a word
_ENDS_WS = re.compile(f"[{_WS}]\\Z")
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?\Z")
_WILD_LEAD = re.compile(r"^[^A-Za-z0-9_*]+")
_PLAIN_STRIP = re.compile(r"[:^~+*\\]")
_PLAIN_DASH = re.compile(f"(^|[{_WS}])-+")


class QueryError(ValueError):
    """A query that cannot run (our message, for the reader)."""


def js_key(s: str) -> bytes:
    return s.encode("utf-16-be", "surrogatepass")


def period(text: str) -> tuple[str, str] | None:
    """'YYYY[-MM[-DD]]' -> (start ISO date, start of the next period), or None."""
    m = _DATE.match(text)
    if not m:
        return None
    y = int(m[1])
    try:
        if m[2] is None:
            start, nxt = dt.date(y, 1, 1), dt.date(y + 1, 1, 1)
        elif m[3] is None:
            mo = int(m[2])
            start = dt.date(y, mo, 1)
            nxt = dt.date(y + 1, 1, 1) if mo == 12 else dt.date(y, mo + 1, 1)
        else:
            start = dt.date(y, int(m[2]), int(m[3]))
            nxt = start + dt.timedelta(days=1)
    except ValueError:
        return None
    return start.isoformat(), nxt.isoformat()


@dataclass
class Group:
    """One query word (see query.js)."""

    word: str
    term: str
    kind: str                      # "term" | "wildcard" | "fuzzy"
    fields: list[str]
    presence: int
    boost: float = 1
    edit_distance: int = 0
    prefix: bool = False
    # filled by resolution
    terms: list[str] = field(default_factory=list)
    exact: str | None = None
    missing: bool = False
    corrected: bool = False


@dataclass
class Parsed:
    groups: list[Group]
    phrases: list[list[tuple[int, int]]]     # per phrase: (group index, token offset) of its words
    after: str | None
    before: str | None
    hint: str | None
    empty: bool


def _lunr_clauses(text: str, fields: list[str]):
    from lunr.query import Query
    from lunr.query_parser import QueryParser
    query = Query(fields)
    QueryParser(text, query).parse()
    return query.clauses


def parse_query(query_string: str, fields: list[str], typing: bool = False) -> Parsed:
    """query.js ``parseQuery``."""
    from lunr.exceptions import QueryParseError
    text = fold(query_string)
    hints: list[str] = []
    bounds = {"after": None, "before": None}

    def on_filter(m: re.Match) -> str:
        which, value = m[2], m[3]
        p = period(value)
        if p is None:
            hints.append(f"Dates look like {which}:2025, {which}:2025-03 or {which}:2025-03-12.")
        elif which == "after":
            if bounds["after"] is None or p[0] > bounds["after"]:
                bounds["after"] = p[0]
        elif bounds["before"] is None or p[0] < bounds["before"]:
            bounds["before"] = p[0]
        return m[1] + " "

    text = _FILTER.sub(on_filter, text)
    phrase_tokens: list[list[str]] = []

    def on_phrase(m: re.Match) -> str:
        phrase_tokens.append(lunrfast.tokenize(lunrfast.normalize(m[2])))
        return m[1] + " "

    text = _PHRASE.sub(on_phrase, text)
    ends_with_space = bool(_ENDS_WS.search(query_string) or _ENDS_WS.search(text))
    try:
        clauses = _lunr_clauses(text, fields)
    except QueryParseError:
        hints.append("Couldn\u2019t read that as a query, so special characters were ignored. " + SYNTAX_HELP)
        plain = _PLAIN_DASH.sub(r"\1", _PLAIN_STRIP.sub(" ", text))
        try:
            clauses = _lunr_clauses(plain, fields)
        except QueryParseError:
            clauses = []
    groups: list[Group] = []
    last = len(clauses) - 1
    for i, c in enumerate(clauses):
        presence = c.presence.value
        g = Group("", "", "term", list(c.fields), presence, c.boost, c.edit_distance or 0)
        if "*" in c.term:
            lead = _WILD_LEAD.sub("", c.term, count=1)
            if not lead or lead[0] == "*":
                raise QueryError("Searches can\u2019t start with * \u2014 put a few letters first, like diffus*.")
            g.kind, g.word, g.term = "wildcard", lead, lead
        else:
            t = trim(c.term)
            if not t or t in STOP_WORDS:
                continue
            g.word, g.term = t, stem(t)
            if c.edit_distance:
                g.kind = "fuzzy"
            elif (typing and i == last and not ends_with_space and not phrase_tokens and presence == OPTIONAL
                  and len(t) >= MIN_PREFIX):
                g.prefix = True
        groups.append(g)
    phrases = []
    for tokens in phrase_tokens:
        words = []
        offset = 0
        for w in tokens:
            t = trim(w)
            if not t:
                continue            # punctuation only: no position (sitegen/positions.py)
            if t not in STOP_WORDS:
                words.append((len(groups), offset))
                groups.append(Group(t, stem(t), "term", list(fields), REQUIRED))
            offset += 1
        if len(words) > 1:
            phrases.append(words)
    return Parsed(groups, phrases, bounds["after"], bounds["before"], " ".join(hints) or None,
                  not groups and bounds["after"] is None and bounds["before"] is None)
