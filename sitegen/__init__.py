"""sitegen: a static site generator for an archive of a daily AI-paper digest.

Library API (the CLI is a thin layer over these)::

    from sitegen import load_config
    from sitegen.ingestion import merge as ingest
    from sitegen.engine import pipeline as build
    from sitegen.checks import run as check
    config = load_config("site.yml")
    ingest(config)                 # dumps -> content/
    build(config)                  # dumps -> content/ -> _site/
    check(config.output_dir)       # links, assets, feeds, search index

The functions are imported eagerly, so ``sitegen.engine.pipeline`` is always the
function (a submodule imported later does not shadow it).
"""

from sitegen.version import __version__

from sitegen.config import Config, load_config  # noqa: E402
from sitegen.errors import SitegenError  # noqa: E402
from sitegen.ingestion.merge import ingest  # noqa: E402
from sitegen.engine.pipeline import build  # noqa: E402
from sitegen.checks.run import check  # noqa: E402

__all__ = ["Config", "SitegenError", "build", "check", "ingest", "load_config", "__version__"]
