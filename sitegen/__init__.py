"""sitegen: a static site generator for an archive of a daily AI-paper digest.

Library API (the CLI is a thin layer over these)::

    from sitegen import load_config, ingest, build, check
    config = load_config("site.yml")
    ingest(config)                 # dumps -> content/
    build(config)                  # dumps -> content/ -> _site/
    check(config.output_dir)       # links, assets, feeds, search index

The functions are imported eagerly, so ``sitegen.build`` is always the
function (a submodule imported later does not shadow it).
"""

__version__ = "0.1.0"

from .config import Config, load_config  # noqa: E402
from .errors import SitegenError  # noqa: E402
from .ingest import ingest  # noqa: E402
from .build import build  # noqa: E402
from .check import check  # noqa: E402

__all__ = ["Config", "SitegenError", "build", "check", "ingest", "load_config", "__version__"]
