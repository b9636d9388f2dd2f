"""`extra_css` / `extra_js`: a stylesheet or script added through static_dir, without copying base.html."""

from __future__ import annotations

import pytest

from helpers import SITES, make_project, run_cli

SITE = SITES / "good" / "extra-assets"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    site = make_project(tmp_path_factory.mktemp("assets") / "s", site=SITE)
    r = run_cli("build", "--config", str(site / "site.yml"))
    assert r.exit_code == 0, r.output
    return site / "_site"


def test_every_page_links_the_extra_assets_after_the_themes_own(built):
    pages = sorted(built.rglob("*.html"))
    assert len(pages) > 5
    for page in pages:
        text = page.read_text(encoding="utf-8")
        css = text.index('<link rel="stylesheet" href="/digest/static/css/house.css">')
        js = text.index('<script src="/digest/static/house.js" defer></script>')
        assert text.index("/digest/static/style.css") < css < text.index("</head>"), page
        assert text.index("/digest/static/site.js") < js < text.index("</body>"), page
    assert (built / "static" / "css" / "house.css").is_file() and (built / "static" / "house.js").is_file()
    assert run_cli("check", str(built)).exit_code == 0


def test_an_extra_asset_that_is_not_published_is_an_error_naming_the_key(tmp_path):
    site = make_project(tmp_path / "s", site=SITE, config={"extra_css": ["css/house.css", "nope.css"],
                                                            "extra_js": ["gone.js"]})
    r = run_cli("build", "--config", str(site / "site.yml"))
    assert r.exit_code == 1, r.output
    assert "'extra_css': 'nope.css' is not a file in the theme's static/ or in static_dir" in r.output
    assert "'extra_js': 'gone.js' is not a file in the theme's static/ or in static_dir" in r.output
    assert "Traceback" not in r.output and not (site / "_site").exists()


@pytest.mark.parametrize("value", ["/abs.css", "../up.css", "a/../b.css", ".hidden.css", "x.js", "x.css\n"])
def test_extra_css_takes_only_plain_css_names_under_static(tmp_path, value):
    site = make_project(tmp_path / "s", site=SITE, config={"extra_css": [value]})
    r = run_cli("build", "--config", str(site / "site.yml"))
    assert r.exit_code == 1 and "'extra_css': expected a .css file name under static/" in r.output, r.output
