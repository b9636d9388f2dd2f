"""``sitegen serve`` from memory: served bytes = ``sitegen build``'s, and only changed tabs reload.

One project (shipped dumps, a host in base_url so that feeds and the sitemap exist), one
preview server without watching: each test edits files and calls ``server.rebuild()``
itself, so every step is an event the test waits for, never a time.
"""

from __future__ import annotations

import re
import urllib.request

import pytest

from sitegen.config import load_config
from sitegen.engine.pipeline import build
from sitegen.preview.events import page_tag, tell
from sitegen.preview.live import Change
from sitegen.preview.server import PreviewServer
from helpers import make_project
from test_serve import SSE, Client, script_attr

TAG = re.compile(rb'<script src="/__sitegen__/livereload\.js"[^>]*></script>')
KINDS = {"home", "day", "day-compact", "paper", "month", "archive", "papers", "feeds", "search", "404"}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("live") / "proj", theme="copy",
                        config={"base_url": "https://example.org/"})
    logs: list[str] = []
    server = PreviewServer(load_config(root / "site.yml"), port=0, watch=False, log=logs.append,
                           error_log=logs.append, heartbeat=3600)
    port = server.start()
    assert server.error is None, logs
    yield {"root": root, "server": server, "client": Client(port), "port": port, "logs": logs}
    server.stop()


def served_equals_built(live) -> int:
    """Every file ``sitegen build`` writes now is served with the same bytes (HTML: plus the tag only),
    and the preview serves no file the build does not write. Returns the number of files compared."""
    root, server, c = live["root"], live["server"], live["client"]
    cfg = load_config(root / "site.yml")
    build(cfg)
    out = cfg.output_dir
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    snap = server.snapshot
    snap.finished.wait()
    assert set(files) == set(snap.plan.pages) | set(snap.statics) | set(snap.files)
    assert {kind for kind, _key in snap.plan.pages.values()} == KINDS
    for rel in files:
        status, _headers, body = c.get(cfg.base_path + rel)
        assert status == 200, rel
        expected = (out / rel).read_bytes()
        if rel.endswith(".html"):
            assert len(TAG.findall(body)) == 1, rel
            body = TAG.sub(b"", body)
        assert body == expected, rel
    return len(files)


def paper_file(root, slug):
    return root / "content" / "papers" / f"{slug}.md"


def edit_abstract(root, model, slug, words: str) -> None:
    """Add ``words`` to a paper's abstract where it comes from: its dump (ingest owns content/papers)."""
    abstract = model.papers[slug].abstract
    hits = [f for f in sorted((root / "content" / "dumps").glob("*.txt")) if abstract in f.read_text(encoding="utf-8")]
    assert len(hits) == 1, (slug, hits)
    text = hits[0].read_text(encoding="utf-8")
    hits[0].write_text(text.replace(abstract, f"{abstract} {words}", 1), encoding="utf-8")


def test_served_bytes_equal_the_build_after_a_sequence_of_edits(live):
    root, server = live["root"], live["server"]
    assert served_equals_built(live) > 400
    model = server.snapshot.plan.model
    slug = next(s for s, p in model.papers.items() if len(p.days) == 1)
    day = root / "content" / "days" / "2025-08-07.md"
    theme = root / "themes" / "default"
    edits = [
        ("an abstract", lambda: edit_abstract(root, model, slug, "We also add a sentence for the preview test.")),
        ("a day's note", lambda: day.write_text(day.read_text(encoding="utf-8").rstrip("\n")
                                                + "\n\nA note written by the preview test.\n", encoding="utf-8")),
        ("a paper's note", lambda: paper_file(root, slug).write_text(
            paper_file(root, slug).read_text(encoding="utf-8").replace(
                "\nslug: ", "\nnote: 'A note by the preview test, see [the archive](/archive/).'\nslug: ", 1),
            encoding="utf-8")),
        ("paper.html", lambda: (theme / "templates" / "paper.html").write_text(
            (theme / "templates" / "paper.html").read_text().replace("{% block main %}",
                                                                     "{% block main %}<!-- edited -->", 1))),
        ("base.html", lambda: (theme / "templates" / "base.html").write_text(
            (theme / "templates" / "base.html").read_text().replace("</footer>", "<!-- e --></footer>", 1))),
        ("style.css", lambda: (theme / "static" / "style.css").write_text(
            (theme / "static" / "style.css").read_text() + "\n.x-preview-test { color: red; }\n")),
        ("site.yml", lambda: (root / "site.yml").write_text(
            (root / "site.yml").read_text().replace("title:", "title: Preview Test", 1)
            if "title:" in (root / "site.yml").read_text() else
            (root / "site.yml").read_text() + "title: Preview Test\n")),
    ]
    for what, edit in edits:
        edit()
        outcome = server.rebuild()
        assert outcome.ok and outcome.change, (what, outcome, live["logs"][-5:])
        served_equals_built(live)


def test_only_the_changed_pages_reload(live):
    root, server, port = live["root"], live["server"], live["port"]
    before = server.snapshot
    model = before.plan.model
    latest = model.days[-1].date
    # a paper on an older day only, and an unrelated one: another day, related to neither
    slug = next(s for s, p in model.papers.items() if latest not in p.days and len(p.days) == 1)
    near = {slug, *model.related.get(slug, ())} | {s for s, r in model.related.items() if slug in r}
    other = next(s for s, p in model.papers.items()
                 if s not in near and not set(p.days) & set(model.papers[slug].days))
    page, other_page = f"papers/{slug}/index.html", f"papers/{other}/index.html"
    tab = SSE(f"http://127.0.0.1:{port}/__sitegen__/events?page=/papers/{slug}/")
    unrelated = SSE(f"http://127.0.0.1:{port}/__sitegen__/events?page=/papers/{other}/")
    try:
        assert tab.wait_for("hello")["build"] == page_tag(before.key(page), server.build_id)
        assert unrelated.wait_for("hello")["build"] == page_tag(before.key(other_page), server.build_id)
        old_html = {p: before.plan.render(p) for p in before.plan.pages}

        edit_abstract(root, model, slug, "A sentence only this paper's abstract gains.")
        outcome = server.rebuild()
        after = server.snapshot
        new_model = after.plan.model
        # at most: the paper's page, its day (both views: only if the excerpt they show changed;
        # an edit at the end of the abstract leaves it), and papers whose related list changed
        days = {f"days/{d.isoformat()}/{v}index.html" for d in model.papers[slug].days for v in ("", "compact/")}
        shows_it = {f"papers/{s}/index.html" for s in new_model.papers
                    if model.related.get(s) != new_model.related.get(s)}
        assert page in outcome.change.pages
        assert outcome.change.pages <= {page} | days | shows_it
        assert other_page not in outcome.change.pages and not outcome.change.statics
        # sound: every page whose bytes changed has a changed key (so its tab reloads)
        changed_bytes = {p for p in after.plan.pages if after.plan.render(p) != old_html.get(p)}
        assert changed_bytes <= outcome.change.pages
        assert page in changed_bytes

        got = tab.wait_for("reload")
        assert got == {"build": page_tag(after.key(page), server.build_id), "css": False}
        assert script_attr(live["client"].get(f"/papers/{slug}/")[2], "data-sitegen-build") == got["build"]
        assert outcome.reloads >= 1

        # a barrier every stream gets: the unrelated tab's next event is it, not a reload
        bad = paper_file(root, other)
        good = bad.read_text(encoding="utf-8")
        bad.write_text(good.replace("first_seen:", "first_seen: [", 1), encoding="utf-8")
        err = server.rebuild().error
        assert err["file"] == f"content/papers/{other}.md" and err["line"]
        nxt = unrelated.items.get(timeout=60)
        assert nxt[0] == "error", nxt
        assert tab.wait_for("error")["file"] == err["file"]
        # fixed: both pages are as before the error -> "ok" (overlay gone), no reload
        bad.write_text(good, encoding="utf-8")
        fixed = server.rebuild()
        assert fixed.ok and not fixed.change and fixed.reloads == 0
        assert unrelated.items.get(timeout=60)[0] == "ok"
        assert tab.items.get(timeout=60)[0] == "ok"

        # a stylesheet-only change: every tab swaps its stylesheets, none reloads
        css = root / "themes" / "default" / "static" / "style.css"
        css.write_text(css.read_text() + "\n.y-preview-test { color: blue; }\n")
        swapped = server.rebuild()
        assert swapped.css_only and swapped.reloads == 0
        for stream, p in ((tab, page), (unrelated, other_page)):
            assert stream.items.get(timeout=60) == ("reload", {"build": page_tag(server.snapshot.key(p),
                                                                                 server.build_id), "css": True})
    finally:
        tab.close()
        unrelated.close()


@pytest.mark.parametrize("page, change, recovered, told", [
    ("papers/a/index.html", Change(frozenset({"papers/a/index.html"}), frozenset()), False, "reload"),
    ("papers/b/index.html", Change(frozenset({"papers/a/index.html"}), frozenset()), False, None),
    ("papers/b/index.html", Change(frozenset({"papers/a/index.html"}), frozenset()), True, "ok"),
    ("papers/b/index.html", Change(frozenset(), frozenset({"static/style.css"})), False, "css"),
    ("papers/a/index.html", Change(frozenset({"papers/a/index.html"}), frozenset({"static/style.css"})), False,
     "reload"),
    ("papers/b/index.html", Change(frozenset(), frozenset({"static/site.js"})), False, "reload"),
    ("papers/b/index.html", Change(frozenset(), frozenset({"static/a.css", "static/site.js"})), False, "reload"),
    (None, Change(frozenset({"papers/a/index.html"}), frozenset()), False, "reload"),    # a stream naming no page
    ("", Change(frozenset({"papers/a/index.html"}), frozenset()), False, None),          # not a page of the site
])
def test_who_is_told_what(page, change, recovered, told):
    assert tell(page, change, recovered) == told


def test_start_renders_nothing_and_first_request_renders_one_page(live, tmp_path):
    """Start fast: with the caches warm, start plans the site and renders no page until one is asked for."""
    root = live["root"]
    server = PreviewServer(load_config(root / "site.yml"), port=0, watch=False, log=lambda m: None)
    try:
        c = Client(server.start())
        assert server.cache.renders == 0
        assert c.get("/")[0] == 200
        assert server.cache.renders == 1
        assert c.get("/")[0] == 200 and server.cache.renders == 1          # memoised by its key
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/feed.xml") as r:
            assert r.status == 200                                          # computed after the start
    finally:
        server.stop()


def test_a_template_error_names_its_file_and_line_and_the_last_good_site_stays(live):
    root, server, c = live["root"], live["server"], live["client"]
    base = root / "themes" / "default" / "templates" / "base.html"
    good = base.read_text()
    before = c.get("/")[2]
    line = good[:good.index("</footer>")].count("\n") + 1
    base.write_text(good.replace("</footer>", "{% if %}</footer>", 1))     # included by every page, lazily
    failed = server.rebuild()
    assert not failed.ok and (failed.error["file"], failed.error["line"]) == ("themes/default/templates/base.html",
                                                                              line)
    status, _h, body = c.get("/")
    assert status == 200 and TAG.sub(b"", body) == TAG.sub(b"", before)           # the last good page
    assert '"line": %d' % line in script_attr(body, "data-sitegen-error")
    base.write_text(good)
    fixed = server.rebuild()
    assert fixed.ok and not fixed.change and server.error is None


def test_a_template_edit_reuses_every_view_digest_and_gives_the_build_keys(tmp_path, monkeypatch):
    """After a template edit the preview reuses the model and the digests of its views (no view is
    made again: that was most of a template edit's cost at 50k papers), and the keys it gets are
    exactly the ones a fresh plan (what `sitegen build` derives) gets."""
    from sitegen.model import views
    from sitegen.preview.live import load_plan
    root = make_project(tmp_path / "s", theme="copy")           # the test edits the theme
    config = load_config(root / "site.yml")
    first = load_plan(config, ingest_dumps=True, log=lambda m: None)
    paper = config.theme / "templates" / "paper.html"
    assert paper.is_relative_to(root)
    paper.write_text(paper.read_text(encoding="utf-8").replace("{% endblock %}", "<!-- edit -->{% endblock %}", 1),
                     encoding="utf-8")
    made = []
    real = views.PageViews.view
    monkeypatch.setattr(views.PageViews, "view", lambda self, page: made.append(page.path) or real(self, page))
    again = load_plan(load_config(root / "site.yml"), ingest_dumps=False, log=lambda m: None, reuse=first)
    assert made == [] and again.model is first.model
    monkeypatch.undo()
    fresh = load_plan(load_config(root / "site.yml"), ingest_dumps=False, log=lambda m: None)
    assert again.pages == fresh.pages
    changed = {p for p in fresh.pages if fresh.pages[p] != first.pages[p]}
    assert changed and all(first.pages[p][0] == "paper" for p in changed)
