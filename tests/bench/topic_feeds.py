"""Topic feed costs on an ingested project: ``python -m tests.bench.topic_feeds PROJECT_DIR``.

PROJECT_DIR holds a site.yml whose content/ is ingested (e.g. ``synth.generate(50000, ...)`` then
``sitegen ingest``).  Prints, best of 3: every topic feed's view made and digested, every feed
rendered (and parsed back), and every key of ``engine/feedout.py`` (what a build pays when nothing
changed)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sitegen.config import load_config
from sitegen.content.records import load_content
from sitegen.engine.feedout import topic_feed_keys
from sitegen.engine.topicstate import compute_topics
from sitegen.model.outviews import feed_view
from sitegen.model.site import build_model
from sitegen.model.viewkey import digest
from sitegen.render.feeds import write_feed


def best(fn, runs: int = 3) -> float:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main(project: Path) -> None:
    cfg = load_config(project / "site.yml")
    content = load_content(cfg.content_dir)
    m = build_model(cfg, content, topics=compute_topics(cfg, content.papers, write=False))
    views = [feed_view(m, f) for f in m.topic_feeds]
    t_views = best(lambda: [digest(feed_view(m, f)) for f in m.topic_feeds])
    t_write = best(lambda: [write_feed(v) for v in views])
    t_keys = best(lambda: topic_feed_keys(m))
    size = sum(len(write_feed(v)) for v in views)
    print(f"{len(m.papers)} papers, {len(m.topics)} topics, {len(m.topic_feeds)} topic feeds ({size / 1e6:.0f} MB): "
          f"views made+digested {t_views:.2f} s, rendered+parsed back {t_write:.2f} s, keys {t_keys:.2f} s")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
