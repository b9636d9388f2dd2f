"""The paper page's way out, TeX, notes' links and one date format, on a built site
(tests/sites/good/notes-and-links: base_url /repo/, date_format %Y/%m/%d)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sitegen.content.records import parse_paper
from sitegen.errors import ContentError
from helpers import SITES, THEME, make_project, run_cli

SITE = SITES / "good" / "notes-and-links"
TULU = "papers/t-ulu-3-pushing-frontiers-in-open-language-model-post-training/index.html"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    site = make_project(tmp_path_factory.mktemp("paper") / "s", site=SITE)
    r = run_cli("build", "--config", str(site / "site.yml"))
    assert r.exit_code == 0, r.output
    return site


def page(built: Path, rel: str) -> str:
    return (built / "_site" / rel).read_text(encoding="utf-8")


def test_known_link_comes_directly_under_the_title(built):
    html = page(built, TULU)
    header = html[html.index('<header class="page-header">'):html.index("</header>", html.index("<article"))]
    h1, nav = header.index("<h1>"), header.index('<nav class="paper-links"')
    assert h1 < nav and "First seen" in header[nav:]          # nothing between title and links but the h1
    for href in ("https://arxiv.org/abs/2411.15124v2", "https://arxiv.org/pdf/2411.15124v2",
                 "https://huggingface.co/papers/2411.15124"):
        assert f'href="{href}"' in header
    assert "Search arXiv" not in html


def test_unknown_link_offers_the_three_searches_under_the_title(built):
    html = page(built, "papers/a-paper-with-no-link-at-all/index.html")
    header = html[html.index('<header class="page-header">', html.index("<main")):]
    header = header[:header.index("</header>")]
    assert [m for m in re.findall(r">Search ([^<]+)</a>", header)] == ["arXiv", "Hugging Face", "Google Scholar"]
    assert "citation_title" not in html and 'class="bibtex"' not in html


def test_doi_in_abstract(built):
    html = page(built, "papers/a-paper-whose-abstract-carries-a-doi/index.html")
    assert 'href="https://doi.org/10.1145/3292500.3330701"' in html
    assert "Search arXiv" not in html and 'class="bibtex"' not in html


def test_citation_meta_and_bibtex(built):
    html = page(built, TULU)
    head = html[:html.index("</head>")]
    assert '<meta name="citation_title" content="Tülu 3: Pushing Frontiers in Open Language Model Post-Training">' in head
    assert '<meta name="citation_arxiv_id" content="2411.15124v2">' in head
    assert '<meta name="citation_pdf_url" content="https://arxiv.org/pdf/2411.15124v2">' in head
    assert '<meta name="citation_abstract_html_url" content="https://arxiv.org/abs/2411.15124v2">' in head
    assert '<meta name="citation_publication_date" content="2024">' in head
    assert "citation_author" not in head                       # authors are unknown: omitted
    bib = re.search(r'<pre class="bibtex" id="bibtex"><code>(.*?)</code></pre>', html, re.S).group(1)
    assert bib.startswith("@misc{t-ulu-3-pushing-frontiers-in-open-language-model-post-training,\n")
    assert "  title = {{Tülu 3: Pushing Frontiers in Open Language Model Post-Training}}," in bib
    assert "<script>" not in html.split("</head>")[1].split("<script src")[0]   # no inline script


def test_front_matter_keys_win(built):
    html = page(built, "papers/a-hand-linked-paper/index.html")
    assert 'href="https://arxiv.org/abs/cs.CL/0101001"' in html
    assert 'href="https://example.org/hand-linked"' in html
    assert "huggingface.co/papers/" not in html                 # no Hugging Face page for old-style IDs
    assert "  primaryClass = {cs.CL}," in html


def test_tex_in_title_and_abstract(built):
    html = page(built, TULU)
    assert "<title>Tülu 3: Pushing Frontiers" in html and "<h1><bdi>Tülu 3: Pushing" in html
    abstract = html[html.index('<section class="abstract"'):html.index("</section>", html.index('<section class="abstract"'))]
    assert '<math alttext="\\mathcal{O}(n)" display="inline">' in abstract
    assert "between $5 and $10 per run and 5% more data than the MLLM's baseline" in abstract
    # Raw text stays raw for search, feeds and the API.
    api = json.loads(page(built, "api/days/2025-03-12.json"))
    tulu = next(p for p in api["papers"] if p["slug"].startswith("t-ulu"))
    assert tulu["title"].startswith('T\\"ulu 3') and "$\\mathcal{O}(n)$" in tulu["abstract"]
    assert any(i["title"].startswith('T\\"ulu 3') for i in json.loads(page(built, "feed.json"))["items"])


def test_note_links_are_rebased_and_pass_check(built):
    day = page(built, "days/2025-03-12/index.html")
    note = day[day.index('<div class="day-note">'):]
    note = note[:note.index("</div>")]
    assert '<a href="/repo/archive/">archive</a>' in note
    assert '<a href="/repo/papers/">papers A–Z</a>' in note and '<a href="/repo/">home</a>' in note
    paper = page(built, "papers/a-hand-linked-paper/index.html")
    assert '<a href="/repo/archive/">archive</a>' in paper and '<a href="/repo/days/2025-03-12/#main">' in paper
    r = run_cli("check", str(built / "_site"))
    assert r.exit_code == 0, r.output


def test_note_links_offline_are_relative(tmp_path):
    site = make_project(tmp_path / "s", site=SITE)
    r = run_cli("build", "--config", str(site / "site.yml"), "--offline", "--out", str(tmp_path / "off"))
    assert r.exit_code == 0, r.output
    day = (tmp_path / "off" / "days" / "2025-03-12" / "index.html").read_text(encoding="utf-8")
    assert '<a href="../../archive/index.html">archive</a>' in day and '<a href="../../index.html">home</a>' in day
    paper = (tmp_path / "off" / "papers" / "a-hand-linked-paper" / "index.html").read_text(encoding="utf-8")
    assert '<a href="../../days/2025-03-12/index.html#main">' in paper
    assert run_cli("check", str(tmp_path / "off")).exit_code == 0


def test_one_date_format_in_every_output_kind(built):
    """date_format %Y/%m/%d: pages, the search doc store, feeds and the API show 2025/03/12, never 12 March."""
    out = built / "_site"
    kinds = {"html": [TULU, "days/2025-03-12/index.html", "index.html", "months/2025-03/index.html"],
             "search": [p.relative_to(out).as_posix() for p in (out / "search").glob("docs-*.json")],
             "api": ["api/days/2025-03-12.json"]}
    for kind, files in kinds.items():
        assert files, kind
        for rel in files:
            text = page(built, rel)
            assert "2025/03/12" in text, (kind, rel)
    for f in out.rglob("*"):
        if f.is_file() and f.suffix in (".html", ".json", ".xml", ".js", ".csv"):
            text = f.read_text(encoding="utf-8")
            for default in ("12 March 2025", "12 Mar 2025", "March 12, 2025"):
                assert default not in text, (f, default)
    rows = json.loads(page(built, kinds["search"][0]))
    assert all(row[2] == "2025-03-12" and row[4] == "2025/03/12" for row in rows)   # ISO data, shown text
    api = json.loads(page(built, "api/days/2025-03-12.json"))
    assert api["date"] == "2025-03-12" and api["title"] == "2025/03/12"
    # The day file's legacy `title: 12 March 2025` is ignored: the title follows date_format.
    assert "title: 12 March 2025" in (built / "content" / "days" / "2025-03-12.md").read_text()
    # Feeds keep RFC 3339 dates (data); no formatted date anywhere in them.
    assert "2025-03-12T00:00:00Z" in page(built, "feed.xml")


def test_search_js_shows_the_build_time_date():
    js = "".join(p.read_text() for p in [THEME / "static" / "search.js", *sorted((THEME / "static" / "search").glob("*.js"))])
    assert "shown: row[4]" in js and "formatDate" not in js and "MONTHS" not in js


@pytest.mark.parametrize("line, expected", [
    ("arxiv: 2401.12345", "'arxiv': expected a string, got float (2401.12345). Quote it: arxiv: '2401.12345'"),
    ("arxiv: 'v1.2'", "'arxiv': 'v1.2' is not an arXiv ID"),
    ("url: ftp://example.org/x", "'url': 'ftp://example.org/x' is not an http(s) URL"),
    ("note: [1, 2]", "'note': expected a string, got list"),
])
def test_bad_hand_keys_name_file_and_line(tmp_path, line, expected):
    f = tmp_path / "p.md"
    f.write_text(f"---\ntitle: P\nslug: p\ndays: ['2025-03-12']\n{line}\n---\n\nBody.\n", encoding="utf-8")
    with pytest.raises(ContentError) as e:
        parse_paper(f)
    assert e.value.line == 5 and expected in str(e.value)


def test_hand_keys_survive_reingest(tmp_path):
    site = make_project(tmp_path / "s", site=SITE)
    assert run_cli("ingest", "--config", str(site / "site.yml")).exit_code == 0
    f = site / "content" / "papers" / "a-paper-with-no-link-at-all.md"
    f.write_text(f.read_text().replace("---\n\n", "arxiv: '2401.12345'\nurl: https://example.org/x\n---\n\n", 1))
    dump = site / "content" / "dumps" / "a.txt"
    dump.write_text(dump.read_text().replace("rose by 0.5 points", "rose by 0.7 points"))
    r = run_cli("ingest", "--config", str(site / "site.yml"))
    assert r.exit_code == 0 and "1 updated" in r.output, r.output
    text = f.read_text()
    assert "arxiv: '2401.12345'\n" in text and "url: https://example.org/x\n" in text and "0.7 points" in text


def test_titles_in_lists_render_tex(built):
    for rel in ("days/2025-03-12/index.html", "months/2025-03/index.html", "papers/index.html", "index.html"):
        html = page(built, rel)
        assert "Tülu 3: Pushing Frontiers" in html and 'T\\"ulu' not in html and "T\\&#34;ulu" not in html, rel
