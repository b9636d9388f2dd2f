"""`sitegen check` checks everything it claims.

Data-driven: each folder of tests/sites/bad-output is a damage applied to a fresh build of
tests/sites/good/sharded (see its README.md), and must fail check with exactly its
messages.  Plus: check reads every file at most once and never through a link, the page
wholeness rules on their own, and no ``except ImportError`` guards our own code.
"""

from __future__ import annotations

import builtins
import collections
import glob
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from sitegen.checks.pages import _whole
from sitegen.search.index import DATA_GLOBAL
from helpers import REPO, SITES, make_project, run_cli

CASES = sorted(p.name for p in (SITES / "bad-output").iterdir() if p.is_dir())
DAMAGE_KEYS = {"build", "delete", "truncate", "write", "edit", "symlink", "fifo", "reseal"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """``built(mode)``: the sharded good site's output for mode "online" or "offline" (built once)."""
    outputs: dict[str, Path] = {}

    def get(mode: str) -> Path:
        if mode not in outputs:
            site = make_project(tmp_path_factory.mktemp(mode) / "site", site=SITES / "good" / "sharded")
            extra = ["--offline"] if mode == "offline" else []
            r = run_cli("build", "--quiet", "--config", str(site / "site.yml"), *extra)
            assert r.exit_code == 0, r.output
            outputs[mode] = site / "_site"
        return outputs[mode]
    return get


@pytest.mark.parametrize("mode", ["online", "offline"])
def test_base_site_passes(built, mode):
    r = run_cli("check", str(built(mode)))
    assert r.exit_code == 0, r.output
    assert r.output.rstrip().endswith(": no problems"), r.output


def _matches(out: Path, pattern: str) -> list[Path]:
    found = sorted(Path(p) for p in glob.glob(str(out / pattern)))
    if not found:
        pytest.fail(f"damage.yml: {pattern!r} matches no file of the build")
    return found


def _reseal(out: Path) -> None:
    """Rename every shard, store chunk and shard directory to its content hash and rewrite the
    manifest (and twins)."""
    search = out / "search"
    m = json.loads((search / "manifest.json").read_bytes())
    twins = (search / "manifest.js").exists()
    exts = (".json", ".js") if twins else (".json",)
    dirs = {key: json.loads((search / f"dir-{key}-{h}.json").read_bytes()) for key, h in m["dirs"].items()}
    renamed: dict[tuple[int, int], tuple[str, int]] = {}
    for s, seg in enumerate(m["segments"]):
        olds = {(lo + j): h for d in dirs.values() if d[s] for j, h in enumerate(d[s][2]) for lo in [d[s][0]]}
        for i, old in sorted(olds.items()):
            stem = f"{seg['name']}-{i}"
            data = (search / f"shard-{stem}-{old}.json").read_bytes()
            # a shard and its positions file share one hash: of the shard, a newline and the positions
            pos = (search / f"pos-{stem}-{old}.json").read_bytes()
            new = hashlib.sha256(data + b"\n" + pos).hexdigest()[:8]
            for name in ("shard", "pos"):
                for ext in exts:
                    (search / f"{name}-{stem}-{old}{ext}").unlink()
            _write_index_file(search, f"shard-{stem}-{new}.json", data, twins)
            _write_index_file(search, f"pos-{stem}-{new}.json", pos, twins)
            renamed[(s, i)] = (new, len(data))
        seg["bytes"] = sum(b for (s2, _), (_, b) in renamed.items() if s2 == s) or seg["bytes"]
        old, chunks = seg["store"], []
        for c in range(-(-seg["docs"] // m["store"]["size"])):
            stem = f"{seg['name']}-{c}"
            chunks.append((search / f"docs-{stem}-{old}.json").read_bytes())
            for ext in exts:
                (search / f"docs-{stem}-{old}{ext}").unlink()
        seg["store"] = new = hashlib.sha256(b"\n".join(chunks)).hexdigest()[:8]
        for c, data in enumerate(chunks):
            _write_index_file(search, f"docs-{seg['name']}-{c}-{new}.json", data, twins)
    for key, d in dirs.items():
        for s, e in enumerate(d):
            if e:
                e[2] = [renamed[(s, e[0] + j)][0] for j in range(len(e[2]))]
                e[3] = [renamed[(s, e[0] + j)][1] for j in range(len(e[3]))]
        for ext in exts:
            (search / f"dir-{key}-{m['dirs'][key]}{ext}").unlink()
        data = json.dumps(d, separators=(",", ":"), ensure_ascii=False).encode()
        m["dirs"][key] = hashlib.sha256(data).hexdigest()[:8]
        _write_index_file(search, f"dir-{key}-{m['dirs'][key]}.json", data, twins)
    _write_index_file(search, "manifest.json", json.dumps(m, separators=(",", ":")).encode(), twins)


def _write_index_file(search: Path, name: str, data: bytes, twin: bool) -> None:
    (search / name).write_bytes(data)
    if twin:
        head = f"(window.{DATA_GLOBAL}=window.{DATA_GLOBAL}||{{}})[{json.dumps(name)}]=".encode()
        (search / (name[:-len(".json")] + ".js")).write_bytes(head + data + b";\n")


def damage(out: Path, spec: dict) -> None:
    """Apply one damage.yml (see tests/sites/bad-output/README.md) to the output ``out``."""
    unknown = set(spec) - DAMAGE_KEYS
    assert not unknown, f"damage.yml: unknown keys {sorted(unknown)}; allowed: {sorted(DAMAGE_KEYS)}"
    for pattern in spec.get("delete", []):
        for p in _matches(out, pattern):
            p.unlink()
    for pattern, keep in spec.get("truncate", {}).items():
        for p in _matches(out, pattern):
            data = p.read_bytes()
            p.write_bytes(data[:keep if keep >= 0 else len(data) + keep])
    for rel, text in spec.get("write", {}).items():
        (out / rel).write_text(text, encoding="utf-8")
    for pattern, edits in spec.get("edit", {}).items():
        for p in _matches(out, pattern):
            text = p.read_text(encoding="utf-8")
            for old, new in edits:
                assert old in text, f"damage.yml: {old!r} is not in {p.relative_to(out)}"
                text = text.replace(old, new, 1)
            p.write_text(text, encoding="utf-8")
    for rel, target in spec.get("symlink", {}).items():
        os.symlink(target, out / rel)
    for rel in spec.get("fifo", []):
        os.mkfifo(out / rel)
    if spec.get("reseal"):
        _reseal(out)


@pytest.mark.parametrize("case", CASES)
def test_damaged_output_fails_check_with_its_message(case, built, tmp_path):
    folder = SITES / "bad-output" / case
    spec = yaml.safe_load((folder / "damage.yml").read_text(encoding="utf-8")) or {}
    expected = [line for line in (folder / "expect.txt").read_text(encoding="utf-8").splitlines() if line]
    out = tmp_path / "_site"
    shutil.copytree(built(spec.get("build", "online")), out)
    (tmp_path / "outside.txt").write_text("a file outside the site\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "index.html").write_text("<html><body><main>never read")
    damage(out, spec)
    r = run_cli("check", str(out))
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    *problems, summary = r.output.rstrip("\n").split("\n")
    assert summary == f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {out}", r.output
    for line in expected:
        assert line in r.output, f"{line!r} not in:\n{r.output}"
    for problem in problems:
        assert any(line in problem for line in expected), f"unexpected problem {problem!r} in:\n{r.output}"


def test_check_reads_each_file_once_and_never_through_a_link(built, tmp_path, monkeypatch):
    out = tmp_path / "_site"
    shutil.copytree(built("offline"), out)
    (tmp_path / "secret.txt").write_text("outside")
    os.symlink("../../secret.txt", out / "static" / "link.css")
    os.symlink(str(tmp_path), out / "papers" / "up")
    os.mkfifo(out / "pipe.json")
    opened: collections.Counter = collections.Counter()
    real_open = os.open

    def counting_open(path, flags, *args, **kwargs):
        opened[Path(path).resolve().relative_to(out.resolve()).as_posix()] += 1
        assert flags & os.O_NOFOLLOW
        return real_open(path, flags, *args, **kwargs)

    def forbidden(*_args, **_kwargs):
        raise AssertionError("check read a file other than through BuiltSite.read")

    def open_fd_only(file, *args, **kwargs):
        assert isinstance(file, int), f"check opened {file!r} by name, not through BuiltSite.read"
        return real_builtin_open(file, *args, **kwargs)

    real_builtin_open = builtins.open
    monkeypatch.setattr(builtins, "open", open_fd_only)
    monkeypatch.setattr(os, "open", counting_open)
    monkeypatch.setattr(Path, "read_bytes", forbidden)
    monkeypatch.setattr(Path, "read_text", forbidden)
    from sitegen.checks.run import check
    report = check(out)
    assert sorted(report.problems) == sorted([
        "pipe.json: is not a regular file (a device, socket or pipe); check did not read it",
        "papers/up: is a symbolic link (to %s, outside the site); the output must hold only regular files "
        "and folders, and check does not follow links" % tmp_path,
        "static/link.css: is a symbolic link (to ../../secret.txt, outside the site); the output must hold only "
        "regular files and folders, and check does not follow links"])
    assert max(opened.values()) == 1, [k for k, v in opened.items() if v > 1]
    assert not {"pipe.json", "static/link.css"} & set(opened) and not any(k.startswith("papers/up") for k in opened)
    everything = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and not p.is_symlink()}
    must_read = {f for f in everything if f.endswith((".html", ".json", ".js", ".xml", ".txt"))
                 and not f.startswith("static/") and f != "pipe.json"}
    assert must_read <= set(opened), sorted(must_read - set(opened))


def test_check_refuses_a_linked_site_folder(built, tmp_path):
    link = tmp_path / "site-link"
    os.symlink(built("online"), link)
    r = run_cli("check", str(link))
    assert r.exit_code == 1
    assert f"{link}: is a symbolic link; check does not follow links. Pass the folder itself" in r.output


@pytest.mark.parametrize("page, why", [
    ("<html><body><ul><li>a<li>b</ul><p>one<p>two<div>x</div></body></html>", None),
    ("<html><body><svg><path d='M0 0'/></svg><br><img src=x alt='a > b'></body></html>", None),
    ("<html><body><script src=a.js></script><!-- </div> --><style>p>a{}</style></body></html>", None),
    ("<HTML><BODY><DIV>x</DIV></BODY></HTML>\n\n", None),
    ("<html><body><main>x</body></html>", "broken HTML at line 1: </body> while <main> is still open"),
    ("<html><body>\n<div>x</span></div></body></html>", "broken HTML at line 2: </span> closes no open element"),
    ("<html><body><div>x</body>\n</html><div>", "truncated: the page does not end with </html>"),
    ("<html><body><div><p>x</html>", "broken HTML at line 1: </html> while <div> is still open"),
    ("<html><body><div>", "truncated: the page does not end with </html>"),
])
def test_page_wholeness_rules(page, why):
    assert _whole(page.encode()) == why


def test_no_except_import_error_guards_our_code():
    hits = [f"{p.relative_to(REPO)}:{n}" for p in sorted((REPO / "sitegen").rglob("*.py"))
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if re.search(r"except\s*\(?[^:]*\bImportError\b", line)]
    assert hits == [], hits
