"""sitegen: a static site generator for an archive of a daily AI-paper digest.

Library API (the CLI is a thin layer over these)::

    from sitegen import load_config, ingest, build, check
    config = load_config("site.yml")
    ingest(config)                 # dumps -> content/
    build(config)                  # dumps -> content/ -> _site/
    check(config.output_dir)       # links, assets, feeds, search index

``ingest``, ``build`` and ``check`` are functions here that import their module on first call
(``sitegen.ingestion.merge``, ``sitegen.engine.pipeline``, ``sitegen.checks.run``), so importing
any part of sitegen does not load all of it (a "nothing changed" build starts in a fraction of a
second).  No subpackage is named like one of them, so ``sitegen.build`` is always the function.
"""

from sitegen.version import __version__
from sitegen.config import Config, load_config
from sitegen.errors import SitegenError


def ingest(config, paths=None, **kwargs):
    """:func:`sitegen.ingestion.merge.ingest`: merge dumps into ``config.content_dir``."""
    from sitegen.ingestion.merge import ingest as run
    return run(config, paths, **kwargs)


def build(config, **kwargs):
    """:func:`sitegen.engine.pipeline.build`: build the site into ``config.output_dir``."""
    from sitegen.engine.pipeline import build as run
    return run(config, **kwargs)


def check(site_dir):
    """:func:`sitegen.checks.run.check`: every problem of a built site, collected."""
    from sitegen.checks.run import check as run
    return run(site_dir)


__all__ = ["Config", "SitegenError", "build", "check", "ingest", "load_config", "__version__"]
