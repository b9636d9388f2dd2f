"""Views are the unit of dependency: a template can reach nothing outside its page's view.

Every page kind comes from the plan of the shipped archive (not a list here): each has a view,
every view function is used, each view is plain data, and each page renders in a Jinja
environment whose context is only the view and helpers derived from it (StrictUndefined), so
the page key -- digest(view) + template closure -- covers all a page can show.  The
perturbation tests (key changes iff HTML changes) are in test_engine_faults.py.
"""

from __future__ import annotations

import datetime as dt
import inspect
import sys
from pathlib import Path

import jinja2
import pytest

from sitegen.config import load_config
from sitegen.content.records import load_content
from sitegen.engine.pipeline import compute_related
from sitegen.model import outviews, views
from sitegen.model.site import build_model
from sitegen.model.viewkey import ConfigReader, NotPlain, check_plain, digest, encode
from sitegen.render.pages import Renderer, helpers, make_env

from helpers import make_project, run_cli

SITE_URL = "https://example.org/digest/"


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    site = make_project(tmp_path_factory.mktemp("views") / "p")
    r = run_cli("build", "-q", "--config", str(site / "site.yml"), "--base-url", SITE_URL)
    assert r.exit_code == 0, r.output
    cfg = load_config(site / "site.yml").with_overrides(base_url=SITE_URL)
    content = load_content(cfg.content_dir)
    return Renderer(build_model(cfg, content, compute_related(cfg, content.papers)))


def _one_page_per_kind(renderer):
    kinds: dict[str, object] = {}
    for p in renderer.model.pages:
        kinds.setdefault(p.kind, p)
    return kinds


def test_every_page_kind_of_the_plan_has_a_view_and_every_view_is_used(shipped):
    kinds = {p.kind for p in shipped.model.pages}
    assert kinds - set(views.VIEWS) == set(), "page kinds without a view"
    assert set(views.VIEWS) - kinds == set(), "views no page of the shipped archive uses"
    defined = {f for name, f in inspect.getmembers(views, inspect.isfunction)
               if name.endswith("_view") and f.__module__ == views.__name__ and name != "page_view"}
    assert defined - set(views.VIEWS.values()) == set(), "view functions not in VIEWS"


def _walk_types(value, out: set) -> None:
    out.add(type(value))
    if isinstance(value, dict):
        for k, v in value.items():
            out.add(type(k))
            _walk_types(v, out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _walk_types(v, out)


def test_every_view_is_plain_data(shipped):
    types: set = set()
    for page in shipped.model.pages:
        v = shipped.view(page)
        check_plain(v, page.path)
        _walk_types(v, types)
    for feed in shipped.model.feeds:
        _walk_types(outviews.feed_view(shipped.model, feed), types)
    _walk_types(outviews.api_view(shipped.model), types)
    _walk_types(outviews.sitemap_view(shipped.model, [p.path for p in shipped.model.pages]), types)
    assert types <= {str, int, float, bool, type(None), list, tuple, dict}, types


def test_the_site_values_are_exactly_what_the_view_read(shipped):
    page = next(p for p in shipped.model.pages if p.kind == "papers" and p.obj.papers)    # a leaf range
    cfg = ConfigReader(shipped.model.config)
    views.papers_view(shipped.model, page, cfg, views.Shared(shipped.model))
    # papers_per_page decides which papers the range's page holds (they are in the view), but the
    # page does not show the number, so the view does not carry it.
    assert cfg.values() == {"date_format": shipped.model.config.date_format}
    site = shipped.view(page)["site"]
    assert "small_day_ratio" not in site and "recent_days" not in site and "papers_per_page" not in site


def _strict_env(renderer) -> jinja2.Environment:
    """The build's environment with nothing from outside the view: no globals Jinja does not ship
    besides the pure helpers, StrictUndefined for anything a template asks that the view lacks."""
    env = make_env(renderer.model.config)
    assert env.undefined is jinja2.StrictUndefined
    return env


@pytest.mark.parametrize("kind", sorted(views.VIEWS))
def test_a_template_sees_only_its_view(shipped, kind):
    page = _one_page_per_kind(shipped).get(kind)
    assert page is not None, f"the shipped archive has no {kind} page"
    view = shipped.view(page)
    context = {**view, **helpers(view)}
    assert set(context) == set(view) | {"url", "abs_url", "links", "base"}
    html = _strict_env(shipped).get_template(page.template).render(context)
    assert html == shipped.render(page).decode("utf-8")
    assert "model" not in context and "obj" not in context and not any(
        type(v).__module__.startswith("sitegen") for v in view.values())


@pytest.mark.parametrize("kind", ["home", "day", "paper", "papers", "month", "archive", "feeds"])
def test_a_field_missing_from_the_view_is_an_error_not_a_blank(shipped, kind):
    """StrictUndefined: a template reading a field its view does not carry fails the render."""
    page = _one_page_per_kind(shipped)[kind]
    view = dict(shipped.view(page))
    key = next(k for k in view if k not in ("page", "site", "canonical", "feeds")) if kind != "feeds" else "feeds"
    del view[key]
    with pytest.raises(jinja2.UndefinedError):
        _strict_env(shipped).get_template(page.template).render({**view, **helpers(view)})


def test_site_values_a_view_did_not_read_are_undefined_in_templates(shipped):
    page = _one_page_per_kind(shipped)["search"]
    view = shipped.view(page)
    env = _strict_env(shipped)
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ site.small_day_ratio }}").render({**view, **helpers(view)})


# --- the encoding keys are made of -----------------------------------------------------------
@pytest.mark.parametrize("bad", [dt.date(2025, 1, 1), Path("x"), {"a": [object()]}, jinja2.Environment])
def test_encode_refuses_what_is_not_plain_data(bad):
    with pytest.raises(NotPlain, match=r"view"):
        encode({"v": bad})


@pytest.mark.parametrize("bad, message", [({1: "a"}, r"view\.v: key 1 is a int"), ({1, 2}, r"view\.v is a builtins\.set"),
                                          (b"x", r"view\.v is a builtins\.bytes")])
def test_check_plain_names_what_is_not_plain(bad, message):
    """What marshal would encode but a view must not hold (a set's order varies between processes);
    the walk over every view above refuses it."""
    with pytest.raises(NotPlain, match=message):
        check_plain({"v": bad})


def test_equal_data_gives_equal_bytes_however_it_was_built():
    """No back-references or interning in the encoding: shared, copied and interned strings and
    lists encode alike, so a cold and an incremental build key the same view the same way."""
    shared = "abc" * 40
    copy = "".join(["abc"] * 40)
    assert shared is not copy
    assert encode([shared, shared, sys.intern("title")]) == encode([shared, copy, "".join(["ti", "tle"])])
    items = [1, 2]
    assert encode({"a": items, "b": items}) == encode({"a": [1, 2], "b": [1, 2]})


def test_digest_tells_values_and_types_apart():
    assert len({digest({"a": 1}), digest({"a": "1"}), digest({"a": True}), digest({"a": 1.0}), digest({"a": [1]}),
                digest({"a": None}), digest({}), digest({"1": "a"})}) == 8
