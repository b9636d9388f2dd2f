"""Week pages and /trends/ (issue 16): every digest day on exactly one week page, each paper once per
week; the trends page's numbers are the archive's."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest

from helpers import make_project, run_cli
from sitegen.config import load_config
from sitegen.content.records import load_content
from sitegen.model import weeks as W
from sitegen.model.site import build_model
from sitegen.model.views import PageViews
from tests.bench import synth


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    # 34 days across an ISO year boundary (2024-12-30 is in 2025-W01), papers recurring within 14 days
    site = make_project(tmp_path_factory.mktemp("weeks") / "s", dumps=[], config={"related_count": 0})
    synth.generate(170, site / "content" / "dumps", seed=3, papers_per_day=5, start=dt.date(2024, 12, 12),
                   recur=0.3)
    r = run_cli("build", "-q", "--config", str(site / "site.yml"))
    assert r.exit_code == 0, r.output
    cfg = load_config(site / "site.yml")
    model = build_model(cfg, load_content(cfg.content_dir))
    return site, model


def test_week_pages_cover_every_day_exactly_once_and_each_paper_once(built):
    site, m = built
    pv = PageViews(m)
    weeks = [p for p in m.pages if p.kind == "week"]
    assert [p.path for p in weeks] == [f"weeks/{w.key}/index.html" for w in m.weeks]
    assert {"2024-W52", "2025-W01"} <= {w.key for w in m.weeks}
    seen_days: list[str] = []
    for page in weeks:
        v = pv.view(page)["week"]
        start, end = dt.date.fromisoformat(v["start"]), dt.date.fromisoformat(v["end"])
        days = [d["date"] for d in v["days"]]
        assert all(W.week_key(dt.date.fromisoformat(d)) == v["key"] and start <= dt.date.fromisoformat(d) <= end
                   for d in days)
        seen_days += days
        slugs = [p["slug"] for d in v["days"] for p in d["papers"]]
        assert len(slugs) == len(set(slugs)) == v["count"], f"a paper twice in {v['key']}"
        assert set(slugs) == {s for d in days for s in m.day(dt.date.fromisoformat(d)).papers}
        html = (site / "_site" / page.path).read_text()
        assert all(f'href="/papers/{s}/"' in html for s in slugs)
        assert all(f'href="/days/{d}/"' in html for d in days)
    assert sorted(seen_days) == seen_days == [d.date.isoformat() for d in m.days], "each day on one week page"
    assert any(p["earlier"] for page in weeks for d in pv.view(page)["week"]["days"] for p in d["papers"])


def test_weeks_link_in_a_chain_and_from_days_archive_and_months(built):
    site, m = built
    out = site / "_site"
    keys = [w.key for w in m.weeks]
    for i, k in enumerate(keys):
        html = (out / "weeks" / k / "index.html").read_text()
        prev = re.search(r'<link rel="prev" href="/weeks/([^/]+)/">', html)
        nxt = re.search(r'<link rel="next" href="/weeks/([^/]+)/">', html)
        assert (prev and prev[1]) == (keys[i - 1] if i else None)
        assert (nxt and nxt[1]) == (keys[i + 1] if i + 1 < len(keys) else None)
    for d in m.days:
        assert f'href="/weeks/{W.week_key(d.date)}/"' in (out / "days" / d.date.isoformat() / "index.html").read_text()
    archive = (out / "archive" / "index.html").read_text()
    assert all(f'href="/weeks/{k}/"' in archive for k in keys)
    for mo in m.months:
        html = (out / "months" / mo.key / "index.html").read_text()
        assert all(f'href="/weeks/{W.week_key(d)}/"' in html for d in mo.days)


def test_trends_page_counts_papers_by_first_seen_month_and_week_and_ranks_the_busiest_days(built):
    site, m = built
    html = (site / "_site" / "trends" / "index.html").read_text()
    rows = dict(re.findall(r'<tr><th scope="row">(\d{4}-\d\d)</th><td>(\d+)</td></tr>', html))
    months = Counter(f"{p.first_seen:%Y-%m}" for p in m.papers.values())
    assert rows == {k: str(months[k]) for k in rows} and set(months) <= set(rows)
    weeks = dict(re.findall(r'<tr><th scope="row">(\d{4}-W\d\d)</th><td>(\d+)</td></tr>', html))
    firsts = Counter(W.week_key(p.first_seen) for p in m.papers.values())
    assert weeks == {w.key: str(firsts[w.key]) for w in m.weeks[-12:]}
    busiest = re.findall(r'<tr><th scope="row"><a href="/days/([\d-]+)/">.*?</a></th><td>(\d+)</td></tr>', html)
    counts = sorted(((-len(d.papers), d.date.isoformat()) for d in m.days))[:10]
    assert busiest == [(d, str(-n)) for n, d in counts]
    assert '<svg viewBox="0 0 640 160" role="img"' in html and "style=" not in html
    assert 'href="/trends/"' in (site / "_site" / "archive" / "index.html").read_text()


def test_trends_lists_the_rising_and_new_topics_of_the_model(built):
    from sitegen.model import trends as T
    site, m = built
    cfg = load_config(site / "site.yml")
    from sitegen.engine.topicstate import compute_topics
    content = load_content(cfg.content_dir)
    m = build_model(cfg, content, topics=compute_topics(cfg, content.papers))
    assert m.topics, "the synthetic archive has topics"
    page = next(p for p in m.pages if p.kind == "trends")
    v = PageViews(m).view(page)["trends"]["topics"]
    dates = {t.name: [m.papers[s].first_seen for s in t.papers] for t in m.topics.values()}
    newest = m.days[-1].date
    assert [(r["name"], r["this_month"], r["ratio"]) for r in v["rising"]] == [
        (r.name, r.this_month, r.ratio) for r in T.rising(dates, newest, limit=20)]
    assert [(x["name"], x["count"]) for x in v["new"]] == T.new_topics(dates, newest, limit=20)
    assert v["rising"] or v["new"]
