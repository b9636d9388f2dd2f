"""sitegen.digest: canonical, type-tagged, code-free; a value's digest depends on the value only."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import datetime as dt
from pathlib import Path, PurePosixPath

import pytest

from sitegen.digest import digest, encode


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: str


@pytest.mark.parametrize("a, b", [
    (1, 1.0), (1, True), (0, False), (1, "1"), ("", b""), ("a", ["a"]), ((1, 2), [1, 2]),
    ((), None), ({"a": 1}, [("a", 1)]), (dt.date(2025, 3, 12), "2025-03-12"),
    (dt.datetime(2025, 3, 12), dt.date(2025, 3, 12)), (Path("a/b"), "a/b"), (0.0, -0.0),
    (("ab", "c"), ("a", "bc")), (Point(1, "a"), (1, "a")), ({1, 2}, [1, 2]), (frozenset(), ()),
])
def test_distinct_values_distinct_digests(a, b):
    assert digest(a) != digest(b)


def test_dict_order_and_equal_values_do_not_matter():
    assert digest({"a": 1, "b": [2, 3]}) == digest({"b": [2, 3], "a": 1})
    assert digest({3, 1, 2}) == digest({2, 3, 1})
    assert digest(Point(1, "a")) == digest(Point(1, "a"))
    assert digest(PurePosixPath("x/y")) == digest(Path("x/y"))


def test_encoding_is_stable():
    # A fixed encoding: a change to it changes every key (fine) but must be deliberate.
    h = lambda enc: b"h" + hashlib.blake2b(enc, digest_size=16).digest()   # a nested container: its hash
    assert encode((None, True, 7, 0.5, "é", b"\0", dt.date(2025, 1, 2), [1], {"k": ()})) == (
        b"t9:NTi7;f0x1.0000000000000p-1;s2:\xc3\xa9b1:\x00d2025-01-02;" + h(b"l1:i1;")
        + h(b"m1:s1:k" + h(b"t0:")))


def test_shared_sub_values_are_not_expanded():
    """A YAML alias bomb in front matter: 9 levels of 9 references, 9^10 leaves if expanded."""
    bomb = ["x"] * 9
    for _ in range(9):
        bomb = [bomb] * 9
    assert len(digest({"a": bomb})) == 16
    small, copies = ["x"] * 3, ["x"] * 3
    for _ in range(3):
        small, copies = [small] * 3, [copy.deepcopy(copies) for _ in range(3)]
    assert digest(small) == digest(copies)            # by value, whatever is shared
    assert digest(small) != digest([small[0]] * 2)


class Opaque:
    pass


@pytest.mark.parametrize("value", [Opaque(), lambda: 1, object(), [1, Opaque()], {"k": Opaque()}])
def test_unsupported_types_are_refused(value):
    with pytest.raises(TypeError, match="sitegen.digest cannot encode"):
        digest(value)
