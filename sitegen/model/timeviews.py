"""The views of the pages about time (issue 16): a week (``/weeks/YYYY-Www/``) and ``/trends/``.

Same contract as :mod:`sitegen.model.views` (registered in its ``VIEWS``): a function of the model,
the page, a :class:`~sitegen.model.viewkey.ConfigReader` and the views' ``Shared``, returning plain
data.  Chart geometry comes from :mod:`sitegen.model.trends` as numbers; the theme's
``charts.html`` draws it.
"""

from __future__ import annotations

from typing import Any

from sitegen.model import trends
from sitegen.model.site import Page, SiteModel
from sitegen.model.viewkey import ConfigReader

View = dict[str, Any]

RECENT_WEEKS = 12           # the /trends/ chart of papers per week
BUSIEST = 10                # the /trends/ table of the busiest days
TOPICS_LISTED = 20          # rising and new topics on /trends/


def week_view(m: SiteModel, page: Page, cfg: ConfigReader, shared: Any) -> View:
    """One ISO week: each digest day of it with the papers it is the week's first listing of (a day
    whose papers were all listed earlier in the week has none, and says so).  A paper's first-seen
    date is in the view only when the page shows it (first seen before the week)."""
    w = page.obj
    cfg.use("date_format")
    prev, nxt = m.week_neighbours(w)
    groups = dict(m.week_papers(w))
    days = [{"date": shared.iso[d], "count": len(m.day(d).papers),
             "papers": [{"slug": p.slug, "title": p.title,
                         "earlier": shared.iso[p.first_seen] if p.first_seen < w.start else None}
                        for p in groups.get(d, ())]}
            for d in w.days]
    return {"week": {"key": w.key, "year": int(w.key[:4]), "number": int(w.key[6:]), "start": shared.iso[w.start],
                     "end": shared.iso[w.end], "prev": prev.key if prev else None, "next": nxt.key if nxt else None,
                     "count": sum(len(d["papers"]) for d in days), "days": days}}


def _new_per_week(m: SiteModel, weeks) -> list[tuple[str, int]]:
    """New papers (first seen that week) of each of ``weeks``."""
    out = []
    for w in weeks:
        n = sum(1 for d in w.days for s in m.day(d).papers if m.papers[s].first_seen == d)
        out.append((w.key, n))
    return out


def _topic_trends(m: SiteModel) -> View | None:
    """Topics rising this month against the previous three and topics new this month
    (:func:`trends.rising`, :func:`trends.new_topics`), or none without topics."""
    if not m.topics:
        return None
    by_name = {t.name: t for t in m.topics.values()}
    # TopicInfo.months: (YYYY-MM, papers first seen that month), so no paper is looked at
    months = {t.name: {(int(k[:4]), int(k[5:7])): n for k, n in t.months} for t in m.topics.values()}
    newest = m.days[-1].date

    def link(name: str) -> View:
        slug = by_name[name].slug
        return {"name": name, "page": m.topic_url(slug) or None}

    return {"rising": [dict(link(r.name), this_month=r.this_month, average=r.average, ratio=r.ratio)
                       for r in trends.rising_months(months, newest, limit=TOPICS_LISTED)],
            "new": [dict(link(name), count=n) for name, n in trends.new_topics_months(months, newest, limit=TOPICS_LISTED)]}


def trends_view(m: SiteModel, page: Page, cfg: ConfigReader, shared: Any) -> View:
    """Papers per month (by the month a paper was first seen) and per recent week, the busiest days,
    and -- when the model has topics -- the topics rising this month and the new ones."""
    cfg.use("date_format")
    if not m.days:
        return {"trends": None}
    span = trends.month_span(trends.month_of(m.days[0].date), trends.month_of(m.days[-1].date))
    monthly = trends.monthly((p.first_seen for p in m.papers.values()), span)
    weekly = _new_per_week(m, m.weeks[-RECENT_WEEKS:])
    busiest = trends.busiest_days(((d.date, len(d.papers)) for d in m.days), BUSIEST)
    return {"trends": {
        "newest": shared.iso[m.days[-1].date], "month": trends.month_key(span[-1]),
        "month_label": m.days[-1].date.strftime("%B %Y"),
        "monthly": trends.bar_chart(monthly), "weekly": trends.bar_chart(weekly),
        "busiest": [{"date": d, "count": n} for d, n in busiest],
        "topics": _topic_trends(m)}}
