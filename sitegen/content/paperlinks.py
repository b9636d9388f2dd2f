"""Where a paper can be read: its arXiv ID or URL, from front matter or the abstract.

Pure functions over strings (no I/O, no config), so the rules are easy to test
from fixture files (``tests/fixtures/paperlinks/``).

Known links come from, in this order:

1. the paper's front matter: ``arxiv:`` (an ID, ``arXiv:`` prefix allowed) and
   ``url:`` (http or https; an arxiv.org or doi.org URL also yields the ID / DOI);
   both are validated by :func:`parse_arxiv_key` / :func:`parse_url_key`;
2. else the first arXiv ID or doi.org URL in the abstract: ``https://arxiv.org/abs/…``
   or ``/pdf/…``, ``arXiv:2401.12345``, a bare new-style ID ``2401.12345`` /
   ``2401.12345v2`` or an old-style ``cs.CL/0101001``, ``https://doi.org/10.…``.

Bare numbers are matched conservatively: a new-style ID needs a real month
(``YYMM`` with MM 01-12, from 0704 on), four digits after the dot up to 1412
and five from 1501, and no digit, dot or letter glued to either end, so
``2024.01``, ``v1.2``, ``3.14159`` and years stay text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# Old-style archives (arXiv identifier scheme before April 2007).
_ARCHIVES = ("astro-ph|cond-mat|cs|econ|eess|gr-qc|hep-ex|hep-lat|hep-ph|hep-th|math|math-ph|nlin|"
             "nucl-ex|nucl-th|physics|q-bio|q-fin|quant-ph|stat|acc-phys|adap-org|alg-geom|ao-sci|"
             "atom-ph|bayes-an|chao-dyn|chem-ph|cmp-lg|comp-gas|dg-ga|funct-an|mtrl-th|patt-sol|"
             "plasm-ph|q-alg|solv-int|supr-con")
_NEW = r"(?P<yymm>\d{4})\.(?P<num>\d{4,5})(?P<ver>v\d{1,3})?"
_OLD = rf"(?P<arch>(?:{_ARCHIVES})(?:\.[A-Za-z]{{2}})?)/(?P<oyymm>\d{{4}})(?P<onum>\d{{3}})(?P<over>v\d{{1,3}})?"
_ID = rf"(?:{_NEW}|{_OLD})"
_ID_RE = re.compile(rf"^{_ID}$")

# Glued characters that make a bare number something else (1.2401.12345, 2401.12345.6, x2401.1234).
_BEFORE = r"(?<![\w.\-/])"
_AFTER = r"(?![\w\-]|\.\d)"
_URL_ID = re.compile(rf"https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/{_ID}(?:\.pdf)?{_AFTER}", re.I)
_PREFIXED_ID = re.compile(rf"{_BEFORE}arxiv:\s?{_ID}{_AFTER}", re.I)
_BARE_ID = re.compile(rf"{_BEFORE}{_ID}{_AFTER}")
_DOI_URL = re.compile(r"https?://(?:dx\.)?doi\.org/(?P<doi>10\.\d{4,9}/[^\s\"<>]+)", re.I)
_ARXIV_DOI = re.compile(rf"^10\.48550/arxiv\.{_ID}$", re.I)
_TRAILING = ".,;:!?)]}'\""
# Cheap gates (a C-speed scan each): the full patterns run only on abstracts that pass one.
_GATE_NEW = re.compile(r"\.\d{4}")
_GATE_OLD = re.compile(r"/\d{7}")


def _maybe_bare(text: str) -> bool:
    """Could ``text`` hold a bare ID?  ``dddd.dddd`` or ``/ddddddd`` somewhere."""
    for m in _GATE_NEW.finditer(text):
        if m.start() >= 4 and text[m.start() - 4:m.start()].isdigit():
            return True
    return "/" in text and _GATE_OLD.search(text) is not None


@dataclass(frozen=True)
class PaperLinks:
    """What is known about where to read a paper; ``source`` is ``front matter`` or ``abstract``."""

    arxiv: str | None = None      # "2401.12345v2", "cs.CL/0101001"
    doi: str | None = None        # "10.1234/abc"
    url: str | None = None        # a hand-given http(s) URL that is neither arXiv nor DOI
    source: str = "abstract"

    @property
    def arxiv_abs(self) -> str | None:
        return f"https://arxiv.org/abs/{self.arxiv}" if self.arxiv else None

    @property
    def arxiv_pdf(self) -> str | None:
        return f"https://arxiv.org/pdf/{self.arxiv}" if self.arxiv else None

    @property
    def huggingface(self) -> str | None:
        """Hugging Face paper pages exist for new-style IDs, without version."""
        m = _ID_RE.match(self.arxiv or "")
        return f"https://huggingface.co/papers/{m['yymm']}.{m['num']}" if m and m["yymm"] else None

    @property
    def doi_url(self) -> str | None:
        return f"https://doi.org/{self.doi}" if self.doi else None

    @property
    def year(self) -> int | None:
        """The year of the arXiv submission, from the ID's YYMM."""
        m = _ID_RE.match(self.arxiv or "")
        if not m:
            return None
        yy = int((m["yymm"] or m["oyymm"])[:2])
        return 2000 + yy if yy < 91 else 1900 + yy


def _valid(m: re.Match) -> bool:
    """A real identifier: an existing month, and the digit count of its era."""
    if m["yymm"]:
        yymm, digits = m["yymm"], len(m["num"])
        if not 1 <= int(yymm[2:]) <= 12 or yymm < "0704":
            return False
        return digits == (4 if yymm <= "1412" else 5)
    yymm = m["oyymm"]
    return 1 <= int(yymm[2:]) <= 12 and (yymm >= "9107" or yymm <= "0703")


def _canonical(m: re.Match) -> str:
    if m["yymm"]:
        return f"{m['yymm']}.{m['num']}{m['ver'] or ''}"
    return f"{m['arch']}/{m['oyymm']}{m['onum']}{m['over'] or ''}"


def arxiv_id(text: str) -> str | None:
    """``text`` as one arXiv ID (``arXiv:`` prefix and arxiv.org URL allowed), else None."""
    s = text.strip()
    m = _URL_ID.fullmatch(s) or _PREFIXED_ID.fullmatch(s) or _ID_RE.match(s)
    return _canonical(m) if m and _valid(m) else None


def _doi(match: re.Match) -> str:
    doi = match["doi"].rstrip(_TRAILING)
    if doi.count(")") < doi.count("("):      # "(see https://doi.org/10.1/x(1))." kept its own ")"
        doi = match["doi"][:len(doi) + 1]
    return doi


def find_links(abstract: str) -> PaperLinks | None:
    """The first arXiv ID (URL, ``arXiv:``-prefixed or bare) or doi.org URL in an abstract."""
    if not abstract:
        return None
    low = abstract.lower()
    found: list[tuple[int, str, str]] = []
    patterns = (_URL_ID, _PREFIXED_ID) if "arxiv" in low else ()
    if _maybe_bare(abstract):
        patterns += (_BARE_ID,)
    for rx in patterns:
        for m in rx.finditer(abstract):
            if _valid(m):
                found.append((m.start(), "arxiv", _canonical(m)))
                break
    for m in _DOI_URL.finditer(abstract) if "doi.org/" in low else ():
        doi = _doi(m)
        a = _ARXIV_DOI.match(doi)
        found.append((m.start(), "arxiv", _canonical(a)) if a and _valid(a) else (m.start(), "doi", doi))
        break
    if not found:
        return None
    _, kind, value = min(found)
    return PaperLinks(arxiv=value) if kind == "arxiv" else PaperLinks(doi=value)


def parse_arxiv_key(value: str) -> str:
    """Front matter ``arxiv:``: the canonical ID; ValueError with what was expected."""
    found = arxiv_id(value)
    if found is None:
        raise ValueError(f"{value!r} is not an arXiv ID; expected one like '2401.12345', '2401.12345v2' "
                         "or 'cs.CL/0101001' (quote it: YAML reads 2401.10010 as a number)")
    return found


def parse_url_key(value: str) -> str:
    """Front matter ``url:``: an absolute http(s) URL; ValueError with what was expected."""
    s = value.strip()
    try:
        parts = urlsplit(s)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname
            or any(c.isspace() or ord(c) < 32 for c in s)):
        raise ValueError(f"{value!r} is not an http(s) URL; expected one like 'https://example.org/paper'")
    return s


def links_for(arxiv: str | None, url: str | None, abstract: str) -> PaperLinks | None:
    """Front-matter keys (already validated) win; else what the abstract holds.

    A ``url:`` on arxiv.org or doi.org gives the ID / DOI (an arXiv DOI, ``10.48550/arXiv.…``,
    gives the ID); any other URL is kept as the paper's page.
    """
    if not (arxiv or url):
        return find_links(abstract)
    doi = page = None
    if url:
        doi_match = _DOI_URL.fullmatch(url)
        if arxiv_id(url):
            arxiv = arxiv or arxiv_id(url)
        elif doi_match:
            a = _ARXIV_DOI.match(_doi(doi_match))
            if a and _valid(a):
                arxiv = arxiv or _canonical(a)
            else:
                doi = _doi(doi_match)
        else:
            page = url
    return PaperLinks(arxiv=arxiv, doi=doi, url=page, source="front matter")


_BIB_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "%": r"\%", "&": r"\&", "#": r"\#",
                "$": r"\$", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_BIB_RE = re.compile(r"[\\{}%&#$_~^]")


def bibtex_escape(text: str) -> str:
    """Plain text as a BibTeX field value: TeX's special characters escaped, whitespace collapsed."""
    return _BIB_RE.sub(lambda m: _BIB_SPECIAL[m.group()], " ".join(text.split()))


def bibtex(key: str, title: str, links: PaperLinks) -> str | None:
    """A ``@misc`` entry for an arXiv paper (None without an arXiv ID).

    ``title`` is plain text (accents already decoded); it is escaped, never
    passed through as TeX, so a stray brace cannot break the entry.
    """
    if not links.arxiv:
        return None
    fields = [("title", "{" + bibtex_escape(title) + "}"), ("year", str(links.year)),
              ("eprint", links.arxiv), ("archivePrefix", "arXiv")]
    m = _ID_RE.match(links.arxiv)
    if m and m["arch"]:
        fields.append(("primaryClass", m["arch"]))
    fields.append(("url", links.arxiv_abs))
    if links.doi:
        fields.append(("doi", links.doi))
    body = ",\n".join(f"  {name} = {{{bibtex_escape(value) if name != 'title' else value}}}"
                      for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}"
