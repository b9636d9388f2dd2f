"""sitegen: a static site generator for an archive of a daily AI-paper digest.

Library API (the CLI is a thin layer over these)::

    from sitegen import load_config, ingest, build, check
    config = load_config("site.yml")
    ingest(config)                 # dumps -> content/
    build(config)                  # dumps -> content/ -> _site/
    check(config.output_dir)       # links, assets, feeds, search index
"""

__version__ = "0.1.0"

from .config import Config, load_config  # noqa: E402
from .errors import SitegenError  # noqa: E402
from .ingest import ingest  # noqa: E402


def build(*args, **kwargs):
    from .build import build as _build
    return _build(*args, **kwargs)


def check(*args, **kwargs):
    from .check import check as _check
    return _check(*args, **kwargs)


__all__ = ["Config", "SitegenError", "build", "check", "ingest", "load_config", "__version__"]
