"""A–Z ranges (sitegen/model/aznav.py): a new paper changes only the ranges on its key's path."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from sitegen.model import aznav

# Keys over a small alphabet so that ranges fill up, split and share long prefixes.
KEY = st.text(alphabet="abc1", min_size=0, max_size=6)


def test_az_key_folds_and_keeps_letters_and_digits():
    assert aznav.az_key("Tülu 3: Pushing Frontiers") == "tulu3pushingfrontiers"
    assert aznav.az_key("Straße-Net") == "strassenet"
    assert aznav.az_key("$\\alpha$-Net") == "alphanet"
    assert aznav.az_key("大模型") == ""


def test_ranges_cover_the_sorted_list_and_stay_within_capacity():
    keys = sorted(["a", "ab", "abc", "abd", "b", "ba", "bb", "bc", "c", "", "", "ab"])
    ranges = aznav.partition(keys, 2)
    leaves = aznav.leaves(ranges)
    assert [i for r in leaves for i in range(r.start, r.stop)] == list(range(len(keys)))   # each paper once, in order
    for r in ranges.values():
        assert all(k.startswith(r.key.rstrip(aznav.END)) for k in keys[r.start:r.stop])
        assert r.leaf == (r.count <= 2 or r.key.endswith(aznav.END))
    assert ranges[""].children == ("_", "a", "b", "c")
    assert aznav.range_of(ranges, "abd").key == "abd"
    assert aznav.range_path("") == "papers/index.html"
    assert aznav.range_path("ab", 3) == "papers/az/ab/page/3/index.html"


def test_identical_keys_past_capacity_paginate_their_leaf():
    ranges = aznav.partition(["gpt4"] * 5, 2)
    leaf = aznav.range_of(ranges, "gpt4")
    assert leaf.key == "gpt4_" and leaf.count == 5 and aznav.pages_of(leaf, 2) == 3


@settings(max_examples=300, deadline=None)
@given(old=st.lists(KEY, max_size=40), new=KEY, capacity=st.integers(1, 5))
def test_a_new_paper_changes_only_the_ranges_on_its_path(old, new, capacity):
    before = aznav.partition(sorted(old), capacity)
    after = aznav.partition(sorted(old + [new]), capacity)
    path = set(aznav.range_of(after, new).ancestors) | {aznav.range_of(after, new).key}
    for k in old:
        was, now = aznav.range_of(before, k), aznav.range_of(after, k)
        # An existing paper keeps its range, or its range split and it moved into a child of it.
        assert now.key == was.key or (now.key.startswith(was.key) and not after[was.key].leaf), (k, was, now)
        if now.key != was.key:
            assert was.key in path and before[was.key].count <= capacity < after[was.key].count
    # Every range off the new paper's path is the same range (same papers, same children): its pages
    # do not change.  Ranges on the path are that paper's ranges: its leaf and the split ranges above;
    # a range new off the path is below a path range that split just now.
    sorted_old, sorted_new = sorted(old), sorted(old + [new])
    for key, r in after.items():
        if key in path:
            continue
        if key not in before:
            split = next(key[:i] for i in range(len(key) - 1, -1, -1) if key[:i] in before)
            assert split in path and before[split].leaf and not after[split].leaf, key
            continue
        b = before[key]
        assert sorted_old[b.start:b.stop] == sorted_new[r.start:r.stop] and b.children == r.children


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(KEY, max_size=60), capacity=st.integers(1, 6))
def test_a_range_splits_only_past_capacity_and_leaves_are_in_order(keys, capacity):
    ranges = aznav.partition(sorted(keys), capacity)
    leaves = aznav.leaves(ranges)
    assert sum(r.count for r in leaves) == len(keys)
    assert all(a.stop == b.start for a, b in zip(leaves, leaves[1:]))
    for r in leaves:
        assert r.count <= capacity or len(set(sorted(keys)[r.start:r.stop])) == 1
