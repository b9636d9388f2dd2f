"""Synthetic archive generator: realistic daily-digest dumps at any size.

The shipped dumps in ``content/dumps/`` hold ~440 real entries.  Benchmarks
need tens of thousands, so this module recombines them:

* every synthetic paper picks a *base* real paper; its abstract takes, in
  order, most sentences from the base abstract and the rest from random other
  abstracts, until a target length of 1,380-1,920 characters (a few are cut
  mid-sentence at a word boundary, like the real scrapes).  Papers sharing a
  base form topical clusters, so "related papers" has real signal to find.
* titles recombine real title fragments: an optional made-up method name
  built from pieces of real ones (``VideoMatch``), then the head of the base
  title's description joined at a connector word (for, with, via, ...) to the
  tail of another title.  The made-up name replaces the base paper's own
  method name inside the sentences taken from the base abstract.
* every title is unique under a normalisation stricter than
  ``sitegen.text.title_key`` (casefold, then alphanumerics only).
* ~10% of papers (``recur``) reappear on a later day (1-14 days later) with
  the identical title and abstract, as in the real dumps.

Output format follows the real dumps exactly (header blocks, a date line,
alternating title / abstract lines, blocks separated by one blank line, no
trailing newline) except that the date line is an ISO date (``2024-01-01``):
real date lines have no year and a synthetic archive spans years.  Files are
named ``d00001_2024-01-01.txt`` so that name order is date order.

Deterministic: the same arguments give byte-identical files (``random.Random``
with an int or str seed is platform independent; no hash-order iteration).

CLI::

    python -m tests.bench.synth 50000 /tmp/synth50k --seed 0
    python -m tests.bench.synth 25 /tmp/synth50k --add-day   # one more day
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parents[2] / "content" / "dumps"

HEADER = ["new", "Get trending papers in your email inbox!", "Subscribe"]
DAILY = "Daily Papers"
BYLINE = "byAK and the research community"

MIN_ABSTRACT = 1380
MAX_ABSTRACT = 1920
FILE_GLOB = "d[0-9][0-9][0-9][0-9][0-9]_*.txt"
_FILE_RE = re.compile(r"^d(\d{5})_(\d{4}-\d{2}-\d{2})\.txt$")

_DATE_LINE = re.compile(r"^(?:[A-Z][a-z]{2,8}\.? \d{1,2}(?:,? \d{4})?|\d{4}-\d{2}-\d{2})$")
_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(\[])")
_CONNECTORS = ("for", "with", "via", "in", "of", "from", "through", "using", "on", "to", "and",
               "by", "towards", "without", "as", "under", "beyond", "at")
_NAME_PIECE = re.compile(r"[A-Z][a-z]+|[A-Z]+(?![a-z])|\d+")
_NAME_SUFFIXES = ("", "", "", "", "", "", "-2", "++", "-XL", "v2", "-R1", "3D", "-Zero", "-Lite",
                  "-Pro", "-V", "4", "-X")


# ---------------------------------------------------------------- source text

@dataclass(frozen=True)
class _Source:
    titles: tuple[str, ...]                 # one per real (unique) paper
    sentences: tuple[tuple[str, ...], ...]  # sentences of each abstract
    names: tuple[str, ...]                  # method name of each title ("" if none)
    heads: tuple[tuple[str, ...], ...]      # word lists of each description
    pool: tuple[str, ...]                   # every sentence of every abstract
    pieces: tuple[str, ...]                 # CamelCase pieces of method names


def read_dump(path: Path) -> tuple[str, list[tuple[str, str]]]:
    """(date line, [(title, abstract)]) of one dump in the real format."""
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    for i, b in enumerate(blocks):
        if _DATE_LINE.match(b):
            body = blocks[i + 1:]
            return b, list(zip(body[0::2], body[1::2]))
    raise ValueError(f"{path}: no date line")


@lru_cache(maxsize=4)
def _load_source(source_dir: str) -> _Source:
    papers: dict[str, str] = {}
    for path in sorted(Path(source_dir).glob("*.txt")):
        for title, abstract in read_dump(path)[1]:
            papers.setdefault(title, abstract)
    if not papers:
        raise ValueError(f"no dumps with papers in {source_dir}")
    titles = tuple(papers)
    sentences = []
    for t in titles:
        sents = [s for s in _SENT_SPLIT.split(papers[t]) if len(s) >= 20]
        # The last sentence of a scraped abstract may be cut mid-word.
        if sents and sents[-1][-1] not in ".!?":
            sents.pop()
        sentences.append(tuple(sents))
    names, heads, pieces = [], [], set()
    for t in titles:
        name, desc = "", t
        if ": " in t:
            pre, rest = t.split(": ", 1)
            if " " not in pre and len(pre) <= 24:
                name, desc = pre, rest
                pieces.update(p for p in _NAME_PIECE.findall(pre) if len(p) >= 2)
            else:
                desc = t
        names.append(name)
        heads.append(tuple(desc.split()))
    pool = tuple(s for ss in sentences for s in ss)
    return _Source(titles, tuple(sentences), tuple(names), tuple(heads), pool,
                   tuple(sorted(pieces)))


# ---------------------------------------------------------------- papers

def _norm(title: str) -> str:
    """Stricter than sitegen.text.title_key: unique here => unique there."""
    return "".join(ch for ch in title.casefold() if ch.isalnum())


def _split_at_connector(words: tuple[str, ...], rng: random.Random, head: bool) -> list[str]:
    cuts = [i for i, w in enumerate(words) if w.lower() in _CONNECTORS and 0 < i < len(words) - 1]
    if not cuts:
        return list(words) if head else []
    i = rng.choice(cuts)
    return list(words[:i]) if head else list(words[i:])


def _make_title(src: _Source, base: int, rng: random.Random, taken: set[str]) -> tuple[str, str]:
    """(title, method name or "") unique against ``taken`` (which it extends)."""
    for attempt in range(50):
        head = _split_at_connector(src.heads[base], rng, head=True)
        tail: list[str] = []
        for _ in range(4):
            tail = _split_at_connector(src.heads[rng.randrange(len(src.titles))], rng, head=False)
            if tail:
                break
        desc = " ".join(head + tail)
        name = ""
        if rng.random() < 0.55 or attempt >= 5:
            name = "".join(rng.choice(src.pieces) for _ in range(rng.choice((1, 2, 2, 2, 3))))
            name += rng.choice(_NAME_SUFFIXES)
            if attempt >= 20:
                name += f"-{rng.randrange(10, 10_000)}"
        title = f"{name}: {desc}" if name else desc
        key = _norm(title)
        if key and key not in taken and len(title) <= 200:
            taken.add(key)
            return title, name
    raise RuntimeError("could not make a unique title")  # pragma: no cover


def _make_abstract(src: _Source, base: int, name: str, rng: random.Random) -> str:
    target = rng.randint(MIN_ABSTRACT, MAX_ABSTRACT)
    own = list(src.sentences[base])
    old = src.names[base]
    parts: list[str] = []
    length = -1
    while length < target:
        if own and (not parts or rng.random() < 0.6):
            s = own.pop(0)
            if old and name:
                s = s.replace(old, name)
        else:
            s = rng.choice(src.pool)
        if length + 1 + len(s) > MAX_ABSTRACT:
            if length >= MIN_ABSTRACT:
                break
            if rng.random() < 0.5:
                continue                      # try a shorter sentence
            # Cut mid-sentence at a word boundary, like the scraped abstracts.
            room = MAX_ABSTRACT - length - 1
            s = s[:room].rsplit(" ", 1)[0].rstrip(",;:(")
            if s:
                parts.append(s)
            break
        parts.append(s)
        length += 1 + len(s)
    return " ".join(parts)


def make_papers(n: int, seed: int = 0, *, taken: set[str] | None = None,
                taken_abstracts: set[str] | None = None, source_dir: Path = SOURCE_DIR,
                rng: random.Random | None = None) -> list[tuple[str, str]]:
    """``n`` new (title, abstract) pairs; titles unique and not in ``taken``
    (normalised keys), abstracts unique and not in ``taken_abstracts``."""
    src = _load_source(str(source_dir))
    rng = rng or random.Random(seed)
    taken = set() if taken is None else taken
    taken_abstracts = set() if taken_abstracts is None else taken_abstracts
    out = []
    for _ in range(n):
        base = rng.randrange(len(src.titles))
        title, name = _make_title(src, base, rng, taken)
        for _attempt in range(100):
            abstract = _make_abstract(src, base, name, rng)
            if abstract not in taken_abstracts:
                break
            base = rng.randrange(len(src.titles))
        else:  # pragma: no cover
            raise RuntimeError("could not make a unique abstract")
        taken_abstracts.add(abstract)
        out.append((title, abstract))
    return out


# ---------------------------------------------------------------- files

def _render(day: dt.date, entries: list[tuple[str, str]], rng: random.Random) -> str:
    header = HEADER + ([DAILY] if rng.random() < 0.4 else []) + [BYLINE]
    blocks = header + [day.isoformat()]
    for title, abstract in entries:
        blocks += [title, abstract]
    return "\n\n".join(blocks)   # the real dumps have no trailing newline


def _file_name(index: int, day: dt.date) -> str:
    return f"d{index:05d}_{day.isoformat()}.txt"


def _existing(out_dir: Path) -> list[Path]:
    return sorted(p for p in out_dir.glob(FILE_GLOB) if _FILE_RE.match(p.name))


def generate(n_papers: int, out_dir: Path, seed: int = 0, papers_per_day: int = 25,
             start: dt.date = dt.date(2024, 1, 1), *, recur: float = 0.10,
             source_dir: Path = SOURCE_DIR) -> dict:
    """Write ``n_papers`` unique papers as daily dumps into ``out_dir``.

    Day ``d`` (0-based) gets papers ``d*papers_per_day ...`` plus the earlier
    papers that recur on it; ``round(recur * n_papers)`` papers (never from
    the last day) recur once, 1-14 days after their first day.  Existing
    generator files (``d#####_*.txt``) in ``out_dir`` are removed first so a
    smaller run never leaves stale days behind; other files are left alone.

    Returns ``{"files", "days", "papers", "entries", "recurring", "first",
    "last", "out_dir"}`` where ``papers`` counts unique papers and
    ``entries`` counts title/abstract blocks written (papers + recurring).
    """
    if n_papers < 0 or papers_per_day < 1:
        raise ValueError("n_papers must be >= 0 and papers_per_day >= 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in _existing(out_dir):
        old.unlink()
    rng = random.Random(seed)
    papers = make_papers(n_papers, rng=rng, source_dir=source_dir)
    days = -(-n_papers // papers_per_day)
    first_day = [i // papers_per_day for i in range(n_papers)]
    eligible = [i for i in range(n_papers) if first_day[i] < days - 1]
    n_recur = min(len(eligible), round(recur * n_papers))
    again: list[list[int]] = [[] for _ in range(days)]
    for i in sorted(rng.sample(eligible, n_recur)):
        d = min(days - 1, first_day[i] + rng.randint(1, 14))
        again[d].append(i)
    for d in range(days):
        ids = list(range(d * papers_per_day, min(n_papers, (d + 1) * papers_per_day))) + again[d]
        rng.shuffle(ids)
        day = start + dt.timedelta(days=d)
        text = _render(day, [papers[i] for i in ids], rng)
        (out_dir / _file_name(d + 1, day)).write_bytes(text.encode("utf-8"))
    return {"files": days, "days": days, "papers": n_papers, "entries": n_papers + n_recur,
            "recurring": n_recur, "first": start.isoformat() if days else None,
            "last": (start + dt.timedelta(days=days - 1)).isoformat() if days else None,
            "out_dir": str(out_dir)}


def add_day(out_dir: Path, n: int = 25, seed: int = 0, *, source_dir: Path = SOURCE_DIR) -> dict:
    """Append one day after the last generated day: ``n`` new unique papers.

    Titles are checked against every title already in ``out_dir``'s generator
    files.  Deterministic: the random stream is derived from ``seed`` and the
    new day's index, so repeated calls add different papers.
    """
    out_dir = Path(out_dir)
    files = _existing(out_dir)
    if files:
        m = _FILE_RE.match(files[-1].name)
        index, day = int(m[1]) + 1, dt.date.fromisoformat(m[2]) + dt.timedelta(days=1)
    else:
        out_dir.mkdir(parents=True, exist_ok=True)
        index, day = 1, dt.date(2024, 1, 1)
    existing = [e for p in files for e in read_dump(p)[1]]
    rng = random.Random(f"add_day:{seed}:{index}")
    papers = make_papers(n, rng=rng, taken={_norm(t) for t, _ in existing},
                         taken_abstracts={a for _, a in existing}, source_dir=source_dir)
    path = out_dir / _file_name(index, day)
    path.write_bytes(_render(day, papers, rng).encode("utf-8"))
    return {"file": str(path), "date": day.isoformat(), "papers": n, "titles": [t for t, _ in papers]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.synth", description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int, help="number of unique papers (with --add-day: papers in the new day)")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-day", type=int, default=25)
    ap.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2024, 1, 1))
    ap.add_argument("--add-day", action="store_true", help="append one day of N new papers")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.add_day:
        info = add_day(args.out_dir, args.n, args.seed)
        info.pop("titles")
    else:
        info = generate(args.n, args.out_dir, args.seed, args.per_day, args.start)
    info["seconds"] = round(time.perf_counter() - t0, 2)
    print(" ".join(f"{k}={v}" for k, v in info.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
