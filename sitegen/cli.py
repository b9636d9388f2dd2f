"""The ``sitegen`` command: a thin click layer over the library API.

Input errors (:class:`SitegenError`) print one paragraph and exit 1.  Any
other exception is a bug in sitegen: it prints one line asking for a report
and exits 2.  ``--debug`` (or ``SITEGEN_DEBUG=1``) shows the traceback.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from pathlib import Path

import click

from sitegen.version import __version__
from sitegen.errors import SitegenError

CONFIG_HELP = "Path to site.yml (default: ./site.yml)."
# Terminal controls (ESC sequences, CR, C1), bidi overrides and lone surrogates (from
# undecodable file names) that dump text or a file name in a
# message could use to rewrite the user's terminal: shown escaped, never sent raw.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: str) -> str:
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _debug(ctx: click.Context | None) -> bool:
    if os.environ.get("SITEGEN_DEBUG"):
        return True
    while ctx is not None:
        if ctx.obj and ctx.obj.get("debug"):
            return True
        ctx = ctx.parent
    return False


class Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except SitegenError as e:
            if _debug(ctx):
                traceback.print_exc()
            click.echo(printable(f"Error: {e}"), err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except Exception as e:  # a bug in sitegen, not in the input
            if _debug(ctx):
                traceback.print_exc()
            click.echo(printable(f"Internal error: {type(e).__name__}: {e}.") + " This is a bug in sitegen; re-run with "
                       "--debug for the traceback and report it.", err=True)
            ctx.exit(2)


def _config(path: str | None, **overrides):
    from sitegen.config import load_config
    cfg = load_config(path)
    return cfg.with_overrides(**overrides) if overrides else cfg


def _log(msg: str) -> None:
    click.echo(printable(msg), err=msg.startswith("warning:"))


def _warnings_only(msg: str) -> None:
    if msg.startswith("warning:"):
        _log(msg)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sitegen")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors (for developers).")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Publish an archive of a daily AI-paper digest as a static website.

    \b
    sitegen ingest   dumps -> content/ (Markdown)
    sitegen build    ingest, then render content/ -> _site/
    sitegen check    verify a built site (links, assets, feeds, search)
    sitegen serve    preview with live reload
    sitegen search   search a built site from the terminal
    """
    ctx.ensure_object(dict)["debug"] = debug


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--config", "config_path", type=click.Path(), help=CONFIG_HELP)
@click.option("--keep-going", is_flag=True, help="Ingest the good dumps, report the bad ones, exit 1.")
@click.option("--allow-small", is_flag=True, help="Accept a new day far smaller than the usual day.")
def ingest(paths: tuple[Path, ...], config_path: str | None, keep_going: bool, allow_small: bool) -> None:
    """Parse dumps (default: dumps_dir in site.yml) into content/papers and content/days."""
    from sitegen.ingestion.merge import ingest as run_ingest
    cfg = _config(config_path)
    result = run_ingest(cfg, list(paths) or None, keep_going=keep_going, allow_small=allow_small, log=_log)
    click.echo(result.summary())
    if result.errors:
        for e in result.errors:
            click.echo(printable(f"Error: {e}"), err=True)
        sys.exit(1)


def build_options(f):
    for opt in reversed([
        click.option("--config", "config_path", type=click.Path(), help=CONFIG_HELP),
        click.option("--out", "out", type=click.Path(path_type=Path), help="Output folder (default: _site)."),
        click.option("--base-url", help="Override base_url, e.g. /repo/ or https://user.github.io/repo/."),
        click.option("--offline", is_flag=True, default=None,
                     help="Links end in index.html so the output can be browsed from file://."),
        click.option("--allow-small", is_flag=True, help="Accept a new day far smaller than usual."),
        click.option("--quiet", "-q", is_flag=True,
                     help="Print nothing on success; warnings and errors still go to stderr."),
        click.option("--force", is_flag=True, help="Empty the build state and render and write every file again."),
    ]):
        f = opt(f)
    return f


@main.command()
@build_options
def build(config_path, out, base_url, offline, allow_small, quiet, force) -> None:
    """Ingest dumps, then render content/ into a complete static site."""
    from sitegen.engine.pipeline import build as run_build
    cfg = _config(config_path, output_dir=out, base_url=base_url, offline=offline)
    progress = False if quiet else (_progress_bar if sys.stderr.isatty() else True)
    report = run_build(cfg, allow_small=allow_small, log=_warnings_only if quiet else _log, progress=progress,
                       force=force)
    if not quiet:
        click.echo(report.summary())


def _progress_bar(done: int, total: int) -> None:
    """A one-line bar on the terminal, redrawn in place."""
    width = 30
    filled = width * done // max(total, 1)
    end = "\n" if done >= total else ""
    click.echo(f"\r  rendering [{'#' * filled}{'.' * (width - filled)}] {done}/{total} pages{end}",
               err=True, nl=False)


@main.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), help="The built site to check (default: _site).")
@click.option("--config", "config_path", type=click.Path(), help=CONFIG_HELP)
def check(directory: Path | None, out: Path | None, config_path: str | None) -> None:
    """Check a built site: internal links, assets, feeds, sitemap, JSON and the search index."""
    from sitegen.checks.run import check as run_check
    site = directory or out
    if site is None:
        site = _config(config_path).output_dir
    report = run_check(Path(site))
    for problem in report.problems:
        click.echo(problem, err=True)
    click.echo(report.summary())
    if report.problems:
        sys.exit(1)


@main.command()
@click.option("--config", "config_path", type=click.Path(), help=CONFIG_HELP)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port (0 picks a free one).")
@click.option("--open", "open_browser", is_flag=True, help="Open the site in a browser.")
@click.option("--no-watch", is_flag=True, help="Serve without watching for changes.")
@click.option("--write", is_flag=True, help="Also build into the output folder after every change (for another server).")
@click.option("--out", "out", type=click.Path(path_type=Path), help="Output folder (default: _site).")
def serve(config_path, host, port, open_browser, no_watch, write, out) -> None:
    """Serve on http://127.0.0.1:8000/ from memory; reload the open pages that change."""
    from sitegen.preview.server import serve as run_serve
    cfg = _config(config_path, output_dir=out)
    run_serve(cfg, host=host, port=port, open_browser=open_browser, watch=not no_watch, write=write,
              log=_log)


@main.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--out", "out", type=click.Path(path_type=Path), help="The built site to search (default: _site).")
@click.option("--config", "config_path", type=click.Path(), help=CONFIG_HELP)
@click.option("--limit", default=10, show_default=True, type=click.IntRange(min=1), help="Results to show.")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True,
              help="Best match first, or newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def search(query: tuple[str, ...], out: Path | None, config_path: str | None, limit: int, sort: str,
           as_json: bool) -> None:
    """Search a built site's index, as its search page does (same syntax, same order)."""
    import json
    from sitegen.search.query import search_site
    cfg = _config(config_path, output_dir=out)
    text = " ".join(query)
    found = search_site(cfg.output_dir, text, limit=limit, by_date=sort == "date")
    for r in found["results"]:
        r["url"] = cfg.site_url(r["url"])   # absolute with a host, else root-relative
    if as_json:
        click.echo(json.dumps(found, indent=1))
        return
    total = found["total"]
    head = f"{total} result{'s' if total != 1 else ''} for \u201c{text}\u201d"
    if found["showing_results_for"]:
        head += f", showing results for \u201c{found['showing_results_for']}\u201d"
    click.echo(printable(head + (" (newest first)" if sort == "date" else "") + "."))
    if found["hint"]:
        click.echo(printable(found["hint"]))
    for r in found["results"]:
        click.echo(printable(f"{r['rank']:>3}. {r['date']}  {r['title']}"))
        click.echo(printable(f"     {r['url']}"))


if __name__ == "__main__":  # pragma: no cover
    main()
