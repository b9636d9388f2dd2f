"""Hostile input: no traceback ever, content is data in every output, bounded size and memory.

The dumps are scraped from a public page, so anything can be in them.  These tests feed
generated and mutated dumps (hypothesis), broken ``site.yml`` and front matter, broken
themes, unwritable and full disks through the real CLI and check that every failure is a
one-paragraph ``Error: `` naming the file, exit 1 -- never a traceback, never exit 2
(``Internal error``, the CLI's word for a bug) -- and that whatever builds is safe: no
markup, script or dangerous URL from a dump reaches any output.
"""

from __future__ import annotations

import errno
import html
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from sitegen.ingestion.dumps import MAX_DUMP_BYTES, MAX_LINE_CHARS, MAX_LINES, clean_text
from helpers import (SITES, THEME, cli_env, copy_project, make_project, read_archive, run_cli, run_cli_process,
                     tree_digest)

HEADER = "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nbyAK and the research community\n\n"
BASE = (HEADER + "Mar 12\n\n"
        "Attention Is All You Need Again\n\nWe revisit transformers. Code: https://example.com/x_y?a=1&b=2.\n\n"
        "A Second Paper: On Things\n\nAbstract two, with some words about things and stuff.\n\n"
        "Third Paper\n\nAbstract three.\n")
OTHER_DAY = (HEADER + "Mar 13\n\nThird Paper\n\nAbstract three, revised.\n\n"
             "A Fourth Paper\n\nAbstract four.\n")

FRAGMENTS = [
    "\x00", "\\ud800", "\\udfff", "\u202e", "\u202d", "\u2066", "\u200f", "\u200e", "\ufeff", "\x1b[2J\x1b]0;pwned\x07",
    "\x0c", "\x0b", "\x85", "\u2028", "\u2029", "\r", "\r\n", "\t", "\x7f", "\ufffe", "\uffff", "\U0010ffff",
    "\U000e0001", "\u0301", "\ufb01", "\u0130", "\u3000", "\u00a0", "\u200b", "\U0001f600", "\ufffd",
    "---", "...", "key: value", "- item", "&anchor", "*alias", "!!python/object/apply:os.system ['id']", "? x",
    "{{ 7*7 }}", "{% raw %}", "<script>x</script>", "<!--", "]]>", "'", '"', "\\", "`", "#", "%", "@", "|",
    ">", "~~~", "```", "    ", "Mar 32", "Feb 29", "Mar 13", "2025-02-30", "0999-01-01", "9999-12-31",
    "Foo 12", "Marc 12", "a" * 1_001, "b" * (MAX_LINE_CHARS + 1), "c" * 250, "\n\n", "\n", "",
]
RAW_BYTES = [b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xff", b"\xc3", b"\xef\xbb\xbf", b"\x00", b"\xf4\x90\x80\x80",
             b"\xc0\x80", b"\xe2\x80", b"\xfe\xff"]

# The CLI's failure modes: exit 1 and an "Error: " paragraph is an input error; exit 2 and
# "Internal error" is a bug; a traceback without --debug is always a bug.
BUG_MARKERS = ("Traceback", "Internal error")
TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def assert_user_error(result, *names: str) -> str:
    """Exit 1 with an ``Error: `` paragraph naming one of ``names``; no traceback, no raw controls."""
    out = result.output
    assert result.exit_code == 1, out
    assert not any(m in out for m in BUG_MARKERS), out
    assert out.startswith("Error: ") or "\nError: " in out, out
    assert not TERMINAL_CONTROLS.search(out.replace("\n", "")), repr(out)
    if names:
        assert any(n in out for n in names), out
    return out


def assert_ok(result) -> str:
    assert result.exit_code == 0, result.output
    assert not any(m in result.output for m in BUG_MARKERS), result.output
    assert not TERMINAL_CONTROLS.search(result.output.replace("\n", "")), repr(result.output)
    return result.output


# --- fast throw-away projects ---------------------------------------------------
@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """One folder for many throw-away projects, with one shared Jinja bytecode cache."""
    root = tmp_path_factory.mktemp("hardening")
    (root / "jinja").mkdir()
    return root




def new_project(workdir: Path, dumps: dict[str, bytes], config: str = "") -> Path:
    root = make_project(Path(tempfile.mkdtemp(dir=workdir)), dumps=[],
                        site_yml=f"year: 2025\ntheme: {THEME}\nrelated_count: 2\n{config}")
    (root / ".sitegen-cache").mkdir()
    os.symlink(workdir / "jinja", root / ".sitegen-cache" / "jinja")
    for name, data in dumps.items():
        (root / "content" / "dumps" / name).write_bytes(data)
    return root


def content_files(root: Path) -> list[Path]:
    return sorted(p for sub in ("papers", "days") for p in (root / "content" / sub).glob("*"))


# --- 1. random and mutated dumps never crash the tool ---------------------------
@st.composite
def mutated_dumps(draw) -> bytes:
    kind = draw(st.sampled_from(["random", "mutated", "mutated", "mutated", "bytes"]))
    if kind == "random":
        return draw(st.binary(max_size=400))
    lines = BASE.split("\n")
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["delete", "insert", "splice", "shuffle", "duplicate", "noise"]))
        i = draw(st.integers(0, len(lines)))
        j = min(i, len(lines) - 1)
        if op == "delete" and lines:
            del lines[j]
        elif op == "insert":
            lines.insert(i, draw(st.sampled_from(FRAGMENTS)))
        elif op == "splice" and lines:
            k = draw(st.integers(0, len(lines[j])))
            lines[j] = lines[j][:k] + draw(st.sampled_from(FRAGMENTS)) + lines[j][k:]
        elif op == "shuffle":
            blocks = "\n".join(lines).split("\n\n")
            blocks = draw(st.permutations(blocks))
            lines = "\n\n".join(blocks).split("\n")
        elif op == "duplicate" and lines:
            lines.insert(j, lines[j])
        elif op == "noise":
            lines.insert(i, draw(st.text(max_size=30)))
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    if kind == "bytes" or draw(st.booleans()):
        k = draw(st.integers(0, len(data)))
        data = data[:k] + draw(st.sampled_from(RAW_BYTES)) + data[k:]
    return data


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(dump=mutated_dumps(), second=st.booleans())
@example(dump=BASE.encode(), second=True)
@example(dump=b"\x1b[2J\x1b]0;pwned\x07\n", second=False)
@example(dump=(HEADER + "0999-03-12\n\nT\n\nA\n").encode(), second=False)
@example(dump=(HEADER + "Mar 12\n\n" + "\\ud800 \u202e title\n\nabstract \ufeff with BOM\n").encode(), second=False)
@example(dump=BASE.encode().replace(b"Third", b"\xed\xa0\x80Third"), second=False)
def test_any_dump_is_ingested_and_built_or_rejected_cleanly(workdir, dump, second):
    dumps = {"d.txt": dump}
    if second:
        dumps["e.txt"] = OTHER_DAY.encode()
    root = new_project(workdir, dumps)
    try:
        r = run_cli("ingest", cwd=root)
        if r.exit_code == 0:
            assert_ok(r)
            assert content_files(root)
            assert_ok(run_cli("build", cwd=root))
            assert_ok(run_cli("check", "_site", cwd=root))
        else:
            assert_user_error(r, "d.txt", "e.txt")
            assert content_files(root) == []                    # all-or-nothing
            b = run_cli("build", cwd=root)
            assert_user_error(b, "d.txt", "e.txt")
            assert not (root / "_site").exists()
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- 2. every other failure a user can cause ------------------------------------
@pytest.fixture(scope="module")
def built_sample(tmp_path_factory) -> Path:
    site = make_project(tmp_path_factory.mktemp("sample") / "s", site=SITES / "good" / "sample")
    assert_ok(run_cli("build", "-q", cwd=site))
    return site


@pytest.fixture
def sample(built_sample, tmp_path) -> Path:
    """The sample site, ingested and built (a copy: tests break it as they like)."""
    return copy_project(built_sample, tmp_path / "s")


BAD_SITE_YML = {
    "yaml syntax": ("title: [unclosed\n", "not valid YAML at line"),
    "tab indent": ("title: x\n\tyear: 1\n", "not valid YAML at line 2"),
    "not a mapping": ("- a\n- b\n", "expected a mapping"),
    "unknown key": ("colour: blue\n", "'colour': unknown key"),
    "wrong type": ("year: twenty\n", "'year': expected int"),
    "python tag": ("title: !!python/object/apply:os.system ['id']\n",
                   "not valid YAML at line 1: the tag '!!python/object/apply:os.system' is not allowed"),
    "NUL character": ("title: a\x00b\n", "not valid YAML at line 1"),
    "escaped NUL in a string": ('title: "a\\0b"\n', "'title': contains a control character"),
    "not a real date": ("dates: {a.txt: 2025-02-30}\n", "'2025-02-30' is not a real date: expected YYYY-MM-DD"),
    "a date before year 1000": ("dates: {a.txt: 0999-01-01}\n", "four-digit year"),
    "huge year": ("year: 100000000000000000000000000000\n", "'year': expected an int up to"),
    "five-digit year": ("year: 10000\n", "'year': expected a four-digit year"),
    "huge int": ("search: {title_boost: 1000000000000000000000000000000}\n", "'search.title_boost'"),
    "deep nesting": ("title: " + "[" * 5000 + "]" * 5000 + "\n", "YAML at line 1 is nested more than 50 levels deep"),
    "deep mapping": ("search: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", "nested more than 50 levels deep"),
    "deeper than libyaml's own limit": ("title: " + "[" * 1500 + "]" * 1500 + "\n", "nested more than 50 levels"),
    "NUL in a path": ('output_dir: "a\\0b"\n', "'output_dir': expected str (a folder path)"),
    "base_url with a newline": ('base_url: "/a\\nb/"\n', "'base_url': expected a path"),
    "not UTF-8": (b"title: \xff\xfe\n", "not UTF-8"),
}


@pytest.mark.parametrize("case", list(BAD_SITE_YML), ids=list(BAD_SITE_YML))
def test_bad_site_yml(case, sample):
    text, expected = BAD_SITE_YML[case]
    before = tree_digest(sample / "_site")
    (sample / "site.yml").write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    for cmd in ("ingest", "build"):
        out = assert_user_error(run_cli(cmd, cwd=sample), "site.yml")
        assert expected in out, out
        assert len(out.strip().split("\n")) <= 3, out   # one paragraph (a config lists its problems)
    assert tree_digest(sample / "_site") == before


def paper_file(site: Path) -> Path:
    return sorted((site / "content" / "papers").glob("*.md"))[0]


BAD_FRONT_MATTER = {
    "no opening ---": (lambda t: t[4:], ":1: couldn't find front matter"),
    "not closed": (lambda t: t.replace("\n---\n", "\n", 1), "front matter is not closed"),
    "yaml syntax": (lambda t: t.replace("title: ", "title: [", 1), "front matter is not valid YAML"),
    "title is a list": (lambda t: re.sub(r"(?m)^title: .*$", "title: [a, b]", t), ":2: 'title': expected a string"),
    "title is a number": (lambda t: re.sub(r"(?m)^title: .*$", "title: 2401.10010", t), "Quote it: title: '2401.10010'"),
    "not a real date": (lambda t: re.sub(r"(?m)^days:\n(- .*\n)+", "days: [2025-02-30]\n", t),
                        "'2025-02-30' is not a real date: expected YYYY-MM-DD"),
    "NUL character": (lambda t: t.replace("title: ", "title: a\x00", 1), ":2: contains a NUL byte"),
    "NUL in the body": (lambda t: t + "a\x00b\n", "contains a NUL byte: expected UTF-8 text"),
    "terminal escape": (lambda t: t.replace("title: ", "title: \x1b[2J", 1), ":2: front matter is not valid YAML"),
    "python tag": (lambda t: t.replace("---\n", "---\nx: !!python/object/apply:os.system ['id']\n", 1),
                   ":2: front matter is not valid YAML: the tag '!!python/object/apply:os.system' is not allowed"),
    "self-referencing alias": (lambda t: t.replace("---\n", "---\nx: &a [*a]\n", 1), "nested more than"),
    "deep nesting": (lambda t: t.replace("---\n", "---\nx: " + "[" * 3000 + "]" * 3000 + "\n", 1),
                     ":2: front matter is nested more than 50 levels deep: expected at most 50 levels"),
    "deep nesting, few brackets": (lambda t: t.replace("---\n", "---\nx: " + "[" * 60 + "]" * 60 + "\n", 1),
                                   ":2: front matter is nested more than 50 levels deep"),
    "huge front matter": (lambda t: t.replace("---\n", "---\nx: '" + "a" * (1 << 20) + "'\n", 1),
                          "characters long; expected at most 1,048,576"),
    "alias bomb": (lambda t: t.replace("---\n", "---\na: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")), 1), None),
    "not UTF-8": (lambda t: t.encode("utf-8").replace(b"title: ", b"title: \xff", 1), "is not UTF-8 text"),
    "a folder": (None, "cannot be read"),
}


@pytest.mark.parametrize("case", list(BAD_FRONT_MATTER), ids=list(BAD_FRONT_MATTER))
def test_bad_front_matter_in_a_hand_edited_file(case, sample):
    edit, expected = BAD_FRONT_MATTER[case]
    f = paper_file(sample)
    before = tree_digest(sample / "_site")
    if edit is None:
        f.unlink()
        f.mkdir()
    else:
        new = edit(f.read_text(encoding="utf-8"))
        f.write_bytes(new if isinstance(new, bytes) else new.encode("utf-8", "surrogatepass"))
    r = run_cli("build", cwd=sample)
    if expected is None:         # valid, if silly: builds (aliases are not expanded anywhere)
        assert_ok(r)
        assert_ok(run_cli("check", "_site", cwd=sample))
        return
    out = assert_user_error(r, f.name)
    assert expected in out, out
    assert tree_digest(sample / "_site") == before


def test_front_matter_nested_100000_deep_does_not_crash_the_process(sample):
    """libyaml recurses in C: this used to be a segfault (exit -11), so run it in a child."""
    f = paper_file(sample)
    f.write_text(f.read_text().replace("---\n", "---\nx: " + "[" * 100_000 + "]" * 100_000 + "\n", 1))
    p = run_cli_process("build", cwd=sample, timeout=60)
    assert p.returncode == 1, (p.returncode, p.stderr[-2000:])
    assert "nested more than" in p.stderr and f.name in p.stderr and "Traceback" not in p.stderr


def test_dump_errors_name_the_file_and_line(tmp_path):
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    (site / "content" / "dumps" / "a.txt").write_text(HEADER + "Mar 32\n\nT\n\nA\n")
    out = assert_user_error(run_cli("build", cwd=site))
    assert re.search(r'(?m)^Error: (\S*/)?content/dumps/a\.txt:9: expected a date line like "Mar 12", got "Mar 32"', out), out


def test_debug_shows_the_traceback(tmp_path):
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    (site / "content" / "dumps" / "a.txt").write_bytes(b"\xff\xfe")
    r = run_cli("--debug", "build", cwd=site)
    assert r.exit_code == 1 and "Traceback" in r.output and "DumpError" in r.output, r.output
    assert "Traceback" not in run_cli("build", cwd=site).output


def test_terminal_escapes_in_a_dump_are_not_echoed(tmp_path):
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    (site / "content" / "dumps" / "a.txt").write_text("\x1b[2J\x1b]0;owned\x07\u202eevil\n")
    out = assert_user_error(run_cli("build", cwd=site), "a.txt")
    assert "\\u001b[2J" in out and "\x1b" not in out and "\u202e" not in out


THEME_BREAKS = {
    "syntax": ("paper.html", "{% extends 'base.html' %}{% block main %}{{ obj.title }{% endblock %}",
               r"paper\.html:1: template syntax error"),
    "runtime": ("paper.html", "{% extends 'base.html' %}{% block main %}\n{{ obj.nope.deeper }}{% endblock %}",
                r"paper\.html:2: template error: UndefinedError"),
    "missing include": ("day.html", "{% extends 'base.html' %}{% block main %}{% include 'nope.html' %}{% endblock %}",
                        r"'nope\.html' not found"),
}


@pytest.mark.parametrize("case", list(THEME_BREAKS))
def test_theme_errors_name_the_template(case, tmp_path):
    """The runtime error on the shipped archive: 405 pages are rendered by forked workers,
    and the error must keep its template and line on the way back."""
    name, source, expected = THEME_BREAKS[case]
    src = None if case == "runtime" else SITES / "good" / "sample"     # None: the shipped dumps
    site = make_project(tmp_path / "p", site=src, config={"templates_dir": "overrides"})
    (site / "overrides").mkdir()
    (site / "overrides" / name).write_text(source)
    out = assert_user_error(run_cli("build", cwd=site))
    assert re.search(expected, out), out
    assert not (site / "_site").exists() and not list(site.glob("._site.staging-*"))


def test_missing_theme(tmp_path):
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample", config={"theme": "no/such/theme"})
    out = assert_user_error(run_cli("build", cwd=site), "site.yml")
    assert "theme not found" in out


def test_output_folder_that_cannot_be_created(sample, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    out = assert_user_error(run_cli("build", "--out", str(blocker / "_site"), cwd=sample))
    assert "cannot create the output folder" in out and "a-file" in out
    out = assert_user_error(run_cli("build", "--out", str(blocker), cwd=sample))
    assert "not a folder" in out and blocker.read_text() == "x"


def test_read_only_output_parent(sample, tmp_path, monkeypatch):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    if os.geteuid() == 0:   # root writes anyway: refuse the way the kernel would for anyone else
        real_open, real_mkdir = os.open, os.mkdir

        def denied(real):
            def call(path, *a, **k):
                if str(path).startswith(str(parent) + os.sep):
                    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
                return real(path, *a, **k)
            return call
        monkeypatch.setattr(os, "open", denied(real_open))
        monkeypatch.setattr(os, "mkdir", denied(real_mkdir))
    try:
        out = assert_user_error(run_cli("build", "--out", str(parent / "_site"), cwd=sample), "ro")
        assert "Permission denied" in out, out
    finally:
        parent.chmod(0o755)


def full_disk(monkeypatch, where: str, after_bytes: int = 0):
    """Make writes under ``where`` fail with ENOSPC once ``after_bytes`` have been written."""
    modules = [importlib.import_module(m) for m in ("sitegen.atomic", "sitegen.engine.output")]
    real_open = open
    written = [0]

    class Full:
        def __init__(self, fh):
            self.fh = fh

        def write(self, data):
            if written[0] + len(data) > after_bytes:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            written[0] += len(data)
            return self.fh.write(data)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    def fake_open(path, mode="r", *args, **kwargs):
        fh = real_open(path, mode, *args, **kwargs)
        return Full(fh) if "w" in mode and where in str(path) else fh
    for module in modules:
        monkeypatch.setattr(module, "open", fake_open, raising=False)


def test_disk_full_while_writing_the_site(sample, monkeypatch):
    before = tree_digest(sample / "_site")
    cfg = sample / "site.yml"
    cfg.write_text(cfg.read_text().replace("Sample Digest", "Sample Digest 2"))   # every page changes
    full_disk(monkeypatch, "._site.staging-", after_bytes=20_000)
    out = assert_user_error(run_cli("build", cwd=sample))
    assert "No space left on device" in out and "The disk is full" in out and "previous site is untouched" in out
    assert tree_digest(sample / "_site") == before
    assert not list(sample.glob("._site.staging-*"))
    monkeypatch.undo()
    assert_ok(run_cli("build", cwd=sample))
    assert_ok(run_cli("check", "_site", cwd=sample))


def test_disk_full_while_writing_content(tmp_path, monkeypatch):
    site = make_project(tmp_path / "p", site=SITES / "good" / "sample")
    full_disk(monkeypatch, "/content/", after_bytes=5_000)
    out = assert_user_error(run_cli("build", cwd=site))
    assert "No space left on device" in out and "content/papers/" in out
    from sitegen.content.records import parse_paper
    papers = sorted((site / "content" / "papers").glob("*"))
    assert papers and all(p.suffix == ".md" for p in papers)    # no temp files left behind
    for p in papers:
        parse_paper(p)                                          # every file written is whole
    monkeypatch.undo()
    assert_ok(run_cli("build", "-q", cwd=site))


# --- 3. content is data, never code ----------------------------------------------
HOSTILE = [
    "<script>window.__pwned=1</script>", '<img src=x onerror="window.__pwned=1">', "</title>", "<!--", "-->",
    "<svg onload=alert(1)>", "<iframe src=javascript:alert(1)>", "<object data=x>", "<style>*{}</style>",
    '"', "'", ">", "<", "&", "&amp;", "&lt;b&gt;", "&#60;script&#62;", '" onmouseover="alert(1)', "' x='",
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html;base64,PHNjcmlwdD4=", "vbscript:msgbox(1)",
    "{{ 7*7 }}", "{{ config }}", "{% for x in range(3) %}{{x}}{% endfor %}", "{# note #}", "${7*7}",
    "[click](javascript:alert(1))", "![img](data:image/png;base64,AAAA)", "<javascript:alert(1)>",
    "[ok](https://ok.example/)", "<https://ok.example/>", "https://ok.example/a_b?c=1&d=2",
    'https://x.example/"><script>alert(1)</script>', "http://x.example/?q=<b>", "//evil.example/x",
    "\u202e", "\u202d", "\u2066", "\u2069", "\u200f", "=cmd|' /C calc'!A0", "+1", "-1", "@SUM(A1)",
    "=HYPERLINK(\"http://evil.example\")", "`code`", "*em*", "_u_", "# heading", "> quote", "1. item",
    "- item", "\\", "]]>", "<![CDATA[x]]>", "</script>", "</style>", "style=color:red", "onclick=alert(1)",
    "\ufeff", "%3Cscript%3E", "&#x6A;avascript:alert(1)", "\u2028", "\t",
]
WORDS = ["Attention", "diffusion", "model", "via", "LLM", "agents", "3D", "2025", "benchmark", "é", "\u4e2d\u6587"]


@st.composite
def hostile_text(draw, max_parts: int) -> str:
    parts = draw(st.lists(st.one_of(st.sampled_from(HOSTILE), st.sampled_from(WORDS)), min_size=1, max_size=max_parts))
    return " ".join([draw(st.sampled_from(WORDS))] + parts)   # starts with a word: never a date line


class Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: dict[str, list[str]] = {}
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._open.append(tag)

    def handle_endtag(self, tag):
        if tag in self._open:
            while self._open.pop() != tag:
                pass

    def handle_data(self, data):
        for tag in dict.fromkeys(self._open):   # text counts for every enclosing element (<h1><bdi>...)
            self.text.setdefault(tag, []).append(data)


def parse_html(text: str) -> Tags:
    p = Tags()
    p.feed(text)
    p.close()
    return p


FORBIDDEN_TAGS = {"img", "iframe", "object", "embed", "svg", "math", "style", "frame", "base", "applet", "video",
                  "audio", "source"}


def assert_safe_html(rel: str, text: str, allowed: set[tuple[str, str]], base: str) -> Tags:
    page = parse_html(text)
    for tag, attrs in page.tags:
        assert tag not in FORBIDDEN_TAGS, (rel, tag, attrs)
        for name, value in attrs.items():
            assert (tag, name) in allowed or (tag, name) == ("a", "href"), (rel, tag, name, value)
            assert not name.startswith("on") and name != "style", (rel, tag, name)
            if name in ("href", "src", "action") and value:
                scheme = re.match(r"^\s*([a-zA-Z][a-zA-Z0-9+.-]*):", value)
                assert scheme is None or scheme[1].lower() in ("http", "https"), (rel, tag, value)
        if tag == "script":
            assert attrs.get("src", "").startswith(base + "static/") or (
                attrs.get("src", "").startswith(("static/", "../")) and "static/" in attrs["src"]), (rel, attrs)
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", text, re.S | re.I)
    assert all(s == "" for s in scripts), (rel, "inline script")
    return page


@pytest.fixture(scope="module")
def allowed_markup(tmp_path_factory) -> set[tuple[str, str]]:
    """Every (tag, attribute) the theme writes, from benign builds (online and offline)."""
    allowed = set()
    for offline in (False, True):
        site = make_project(tmp_path_factory.mktemp("benign") / "s", site=SITES / "good" / "sample",
                            config={"offline": offline})
        assert_ok(run_cli("build", "-q", cwd=site))
        for f in (site / "_site").rglob("*.html"):
            for tag, attrs in parse_html(f.read_text()).tags:
                allowed.update((tag, a) for a in attrs)
    return allowed


def check_outputs(out: Path, titles: list[str], abstracts: list[str], allowed, base: str) -> None:
    paper_pages = {}
    for f in sorted(out.rglob("*.html")):
        rel = f.relative_to(out).as_posix()
        text = f.read_text(encoding="utf-8")
        page = assert_safe_html(rel, text, allowed, base)
        if rel.startswith("papers/") and rel.count("/") == 2 and not rel.startswith("papers/page/"):
            h1 = "".join(page.text.get("h1", []))
            paper_pages[h1] = (page, text)
    for title in titles:
        assert title in paper_pages, (title, list(paper_pages)[:5])      # the <h1> text is exactly the title
        page, text = paper_pages[title]
        assert "".join(page.text.get("title", [])).startswith(title)
        metas = {a.get("property") or a.get("name"): a.get("content") for t, a in page.tags if t == "meta"}
        assert metas["og:title"] == title and metas["twitter:title"] == title
        links = [a["href"] for t, a in page.tags if t == "a" and "href" in a]
        assert all(not h.lower().lstrip().startswith(("javascript:", "data:", "vbscript:")) for h in links)
    # Atom, sitemap: well-formed XML, the title survives as text.
    ns = "{http://www.w3.org/2005/Atom}"
    feed = ET.parse(out / "feed.xml").getroot()
    feed_titles = [e.findtext(ns + "title") for e in feed.iter(ns + "entry")]
    feed_summaries = [e.findtext(ns + "summary") for e in feed.iter(ns + "entry")]
    ET.parse(out / "sitemap.xml")
    # JSON: parses, holds no raw < > & (safe even if served as HTML), and round-trips exactly.
    for f in out.rglob("*.json"):
        raw = f.read_text(encoding="utf-8")
        json.loads(raw)
        if not f.relative_to(out).as_posix().startswith("search/"):
            assert not re.search(r"[<>&]", raw), f
    jf = json.loads((out / "feed.json").read_text())
    archive, rows = read_archive(out)
    api_titles = {p["title"] for p in archive}
    api_abstracts = {p["abstract"] for p in archive}
    for row in rows:
        for cell in row.values():
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), cell
    csv_titles = {r["title"] for r in rows}
    for title, abstract in zip(titles, abstracts):
        assert title in feed_titles and abstract in feed_summaries
        assert title in [i["title"] for i in jf["items"]] and abstract in [i["content_text"] for i in jf["items"]]
        assert title in api_titles and abstract in api_abstracts
        assert (("'" + title) if title[:1] in "=+-@" else title) in csv_titles


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(papers=st.lists(st.tuples(hostile_text(6), hostile_text(12)), min_size=1, max_size=4,
                       unique_by=lambda p: " ".join(p[0].casefold().split())),
       offline=st.booleans())
def test_hostile_titles_and_abstracts_are_text_in_every_output(workdir, allowed_markup, papers, offline):
    body = "".join(f"{t}\n\n{a}\n\n" for t, a in papers)
    dump = HEADER + "Mar 12\n\n" + body + "A Benign Paper\n\nA benign abstract.\n"
    config = f"base_url: https://example.org/sub/\nfeed_size: 10\noffline: {str(offline).lower()}\n"
    root = new_project(workdir, {"d.txt": dump.encode("utf-8")}, config=config)
    try:
        r = run_cli("build", cwd=root)
        if r.exit_code == 1:     # e.g. two titles the same once cleaned: a clean rejection is fine
            assert_user_error(r, "d.txt")
            return
        assert_ok(r)
        assert_ok(run_cli("check", "_site", cwd=root))
        titles = [clean_text(t)[0] for t, _ in papers]
        abstracts = [clean_text(a)[0] for _, a in papers]
        check_outputs(root / "_site", titles, abstracts, allowed_markup, "" if offline else "/sub/")
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- 4. defence in depth: CSP and referrer on every page --------------------------
CSP_META = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">')


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_every_page_has_a_strict_csp(tmp_path, offline):
    site = make_project(tmp_path / "h", site=SITES / "good" / "hostile", config={"offline": offline})
    assert_ok(run_cli("build", "-q", cwd=site))
    pages = sorted((site / "_site").rglob("*.html"))
    assert len(pages) >= 10
    for f in pages:
        text = f.read_text()
        rel = f.relative_to(site / "_site")
        m = CSP_META.search(text)
        assert m, rel
        head = text.split("</head>", 1)[0]
        # A <meta> CSP only governs what comes after it: it must precede every script and style.
        assert m.start() < min([i for i in (head.find("<script"), head.find("<link rel=\"stylesheet\"")) if i >= 0]
                               or [len(head)]), rel
        policy = {d.split()[0]: d.split()[1:] for d in html.unescape(m[1]).split(";") if d.strip()}
        assert policy["default-src"] == ["'none'"], rel
        assert policy["script-src"] == ["'self'"], rel
        assert policy["connect-src"] == ["'self'"], rel
        assert policy["style-src"] == ["'self'"], rel
        assert policy["base-uri"] == ["'none'"], rel
        assert "form-action" in policy and "'self'" in policy["form-action"]
        for directive, sources in policy.items():
            assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"} & set(sources), (rel, directive)
        assert re.search(r'<meta name="referrer" content="(no-referrer|same-origin|strict-origin|'
                         r'strict-origin-when-cross-origin)">', head), rel
        page = parse_html(text)
        for tag, attrs in page.tags:
            assert not any(a.startswith("on") for a in attrs), (rel, tag, attrs)
            assert "style" not in attrs, (rel, tag, attrs)     # style-src 'self' blocks inline styles
            if tag == "script":
                assert attrs.get("src"), (rel, "inline script")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), rel
        assert "<style" not in text, rel


# --- 5. size: huge dumps are refused, in bounded memory (how fast: tests/bench/micro.py) ---
_HWM = ("import atexit, sys\n"
        "def _hwm():\n"
        "    with open('/proc/self/status') as f:\n"
        "        kb = [l.split()[1] for l in f if l.startswith('VmHWM:')][0]\n"
        "    sys.stderr.write(f'\\nVmHWM-KB {kb}\\n')\n"
        "atexit.register(_hwm)\n"
        "sys.argv = ['sitegen'] + sys.argv[1:]\n"
        "from sitegen.cli import main\n"
        "main()\n")


def run_measured(args: list[str], cwd: Path) -> tuple[int, str, int]:
    """Run ``sitegen ARGS`` in a child; (exit code, stderr, peak RSS in MB).

    The peak is the child's own VmHWM, read at exit: ``ru_maxrss`` would report the
    *parent's* size for a child forked from a big pytest process.
    """
    proc = subprocess.run([sys.executable, "-c", _HWM, *args], cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, env=cli_env())
    err = proc.stderr.decode()
    err, _, hwm = err.rpartition("\nVmHWM-KB ")
    return proc.returncode, err, int(hwm.split()[0]) // 1024


def write_sparse(path: Path, size: int) -> None:
    with open(path, "wb") as fh:
        fh.write(b"new\n\nMar 12\n\n")
        fh.truncate(size)      # a hole: no disk space used


SIZES = {
    "200 MB file": (lambda p: write_sparse(p, 200 * 1024 * 1024), f"a dump is at most {MAX_DUMP_BYTES:,} bytes"),
    "10 MB line": (lambda p: p.write_bytes(b"new\n\nMar 12\n\n" + b"x" * (10 * 1024 * 1024) + b"\n"),
                   f"a title or abstract is at most {MAX_LINE_CHARS:,}"),
    "30 MB of short lines": (lambda p: p.write_bytes(b"Mar 12\n\n" + b"t\n\na\n\n" * (5 * 1024 * 1024)),
                             f"a dump has at most {MAX_LINES:,}"),
}


@pytest.mark.parametrize("case", list(SIZES))
def test_huge_dump_is_refused_in_bounded_memory(case, tmp_path):
    write, expected = SIZES[case]
    site = make_project(tmp_path / "s", site=SITES / "good" / "sample")
    big = site / "content" / "dumps" / "big.txt"
    write(big)
    code, err, rss_mb = run_measured(["ingest"], site)
    big.unlink()
    assert code == 1, err
    assert "big.txt" in err and expected in err and "Traceback" not in err, err
    assert rss_mb < 300, rss_mb
    assert not (site / "content" / "papers").exists()
