"""Paper links: which arXiv ID / DOI an abstract or front matter names (fixture-driven)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sitegen.content import paperlinks
from sitegen.content.paperlinks import PaperLinks

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "paperlinks"


def read_cases(path: Path) -> list:
    """markdown-it style cases: name, ".", input, ".", expected, "." (lines starting with # are comments)."""
    lines = [l for l in path.read_text(encoding="utf-8").split("\n") if not l.startswith("#")]
    cases, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        name = lines[i]
        assert lines[i + 1] == ".", f"{path.name}: case {name!r} needs a '.' line"
        j = lines.index(".", i + 2)
        k = lines.index(".", j + 1)
        cases.append(pytest.param("\n".join(lines[i + 2:j]), "\n".join(lines[j + 1:k]), id=name))
        i = k + 1
    return cases


@pytest.mark.parametrize("abstract, expected", read_cases(FIXTURES / "abstracts.txt"))
def test_detection(abstract, expected):
    found = paperlinks.find_links(abstract)
    if expected == "none":
        assert found is None
    else:
        kind, value = expected.split(" ", 1)
        assert found == (PaperLinks(arxiv=value) if kind == "arxiv" else PaperLinks(doi=value))


def test_link_targets():
    new = PaperLinks(arxiv="2401.12345v2")
    assert new.arxiv_abs == "https://arxiv.org/abs/2401.12345v2"
    assert new.arxiv_pdf == "https://arxiv.org/pdf/2401.12345v2"
    assert new.huggingface == "https://huggingface.co/papers/2401.12345"
    assert new.year == 2024
    old = PaperLinks(arxiv="cs.CL/0101001")
    assert old.huggingface is None and old.year == 2001
    assert PaperLinks(arxiv="hep-th/9901001").year == 1999
    assert PaperLinks(doi="10.1/x").doi_url == "https://doi.org/10.1/x"


@pytest.mark.parametrize("value, canonical", [
    ("2401.12345", "2401.12345"), ("arXiv:2401.12345v3", "2401.12345v3"), (" 1409.0473 ", "1409.0473"),
    ("https://arxiv.org/abs/2401.12345", "2401.12345"), ("math.GT/0309136", "math.GT/0309136")])
def test_arxiv_key_accepts(value, canonical):
    assert paperlinks.parse_arxiv_key(value) == canonical


@pytest.mark.parametrize("value", ["2401.123", "2413.12345", "v1.2", "2024", "cs.CL/01", "foo/0101001",
                                   "2401.12345 and more", ""])
def test_arxiv_key_rejects(value):
    with pytest.raises(ValueError, match="is not an arXiv ID; expected one like"):
        paperlinks.parse_arxiv_key(value)


@pytest.mark.parametrize("value", ["https://example.org/p", "http://example.org/a?b=c#d", "HTTPS://X.ORG/"])
def test_url_key_accepts(value):
    assert paperlinks.parse_url_key(value) == value


@pytest.mark.parametrize("value", ["javascript:alert(1)", "ftp://example.org/x", "//example.org/x", "example.org",
                                   "https://", "https://exa mple.org/", "data:text/html,x", "https://x.org/\nb"])
def test_url_key_rejects(value):
    with pytest.raises(ValueError, match="is not an http\\(s\\) URL"):
        paperlinks.parse_url_key(value)


def test_front_matter_wins_and_url_kinds():
    abstract = "See arXiv:2301.00001."
    assert paperlinks.links_for(None, None, abstract) == PaperLinks(arxiv="2301.00001")
    assert paperlinks.links_for("2402.00002", None, abstract) == PaperLinks(arxiv="2402.00002", source="front matter")
    assert paperlinks.links_for(None, "https://arxiv.org/abs/2403.00003", abstract) == \
        PaperLinks(arxiv="2403.00003", source="front matter")
    assert paperlinks.links_for("2402.00002", "https://doi.org/10.1234/x", abstract) == \
        PaperLinks(arxiv="2402.00002", doi="10.1234/x", source="front matter")
    assert paperlinks.links_for(None, "https://example.org/p", abstract) == \
        PaperLinks(url="https://example.org/p", source="front matter")


def test_bibtex_escapes_everything():
    entry = paperlinks.bibtex("a-slug", "50% of {A} & B_1 #2 $x$ ~y^ \\z }{",
                              PaperLinks(arxiv="2401.12345"))
    title = entry.split("\n")[1]
    assert title == (r"  title = {{50\% of \{A\} \& B\_1 \#2 \$x\$ \textasciitilde{}y\textasciicircum{} "
                     r"\textbackslash{}z \}\{}},")
    # Braces stay balanced whatever the title holds, so the entry always parses.
    depth = 0
    for i, ch in enumerate(entry):
        if ch in "{}" and entry[i - 1] != "\\":
            depth += 1 if ch == "{" else -1
            assert depth >= 0
    assert depth == 0
    assert entry.startswith("@misc{a-slug,\n") and entry.endswith("\n}")
    assert "  eprint = {2401.12345}," in entry and "  year = {2024}," in entry
    assert paperlinks.bibtex("x", "T", PaperLinks(doi="10.1/x")) is None
