"""Related papers: correct, deterministic, equal to a brute force of the definition
(speed: tests/bench/micro.py; delta == cold: tests/test_related_delta.py)."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from sitegen.model import related
from sitegen.model.related import related_papers, related_papers_exact, similarity_matrix, terms, tokens
from helpers import SHIPPED

from tests.bench import synth



@pytest.fixture(scope="module")
def shipped() -> list[tuple[str, str]]:
    """The unique papers of the shipped dumps (~390)."""
    papers: dict[str, str] = {}
    for path in SHIPPED:
        for title, abstract in synth.read_dump(path)[1]:
            papers.setdefault(title, abstract)
    return list(papers.items())


@pytest.fixture(scope="module")
def synthetic() -> list[tuple[str, str]]:
    return synth.make_papers(1000, seed=3)


@pytest.fixture(scope="module")
def shipped_scores(shipped) -> np.ndarray:
    return similarity_matrix(shipped)


@pytest.fixture(scope="module")
def synthetic_scores(synthetic) -> np.ndarray:
    return similarity_matrix(synthetic)


def agreement(got: list[list[int]], want: list[list[int]], scores: np.ndarray) -> tuple[float, float]:
    """(recall: share of the true lists' members returned, score share: sum of
    returned scores / sum of the true lists' scores)."""
    hits = sum(len(set(g) & set(w)) for g, w in zip(got, want))
    total = sum(len(w) for w in want)
    share = sum(scores[i, g].sum() for i, g in enumerate(got)) / max(1, sum(scores[i, w].sum() for i, w in enumerate(want)))
    return hits / max(1, total), float(share)


def check_lists(result, n, k, scores=None):
    assert len(result) == n
    for i, lst in enumerate(result):
        assert len(lst) <= k and len(set(lst)) == len(lst)
        assert i not in lst
        assert all(isinstance(j, int) and 0 <= j < n for j in lst)
        if scores is not None:             # best first, ties by smaller index, positive only
            keys = [(-int(scores[i, j]), j) for j in lst]
            assert keys == sorted(keys) and all(scores[i, j] > 0 for j in lst)


# ---------------------------------------------------------------- basic contract

@pytest.mark.parametrize("k", [1, 5, 12])
def test_shape_self_and_k(shipped, shipped_scores, k):
    check_lists(related_papers(shipped, k=k), len(shipped), k, shipped_scores)


def test_trivial_inputs():
    assert related_papers([]) == []
    assert related_papers([("A title", "An abstract about graphs.")]) == [[]]
    docs = [("Graph networks", "graph neural networks"), ("Graph neural nets", "networks of graphs")]
    assert related_papers(docs, k=0) == [[], []]
    assert related_papers(docs, k=-1) == [[], []]
    assert related_papers(docs) == [[1], [0]]


def test_empty_and_short_docs():
    docs = [
        ("", ""),                                    # nothing
        ("The", "of and to in a"),                   # only stopwords
        ("Sparse attention", ""),                    # title only
        ("", "sparse attention for long sequences"),  # abstract only
        ("x", "1 2 3 4 ; -- !!"),                    # no usable token
        ("Protein folding", "protein structure"),
        (None, None),                                # tolerated like empty strings
    ]
    result = related_papers(docs, k=3)
    assert result[0] == [] and result[1] == [] and result[4] == [] and result[6] == []
    assert result[2] == [3] and result[3] == [2]
    assert result[5] == []                           # shares no term with anyone
    assert related_papers([("", "")] * 4) == [[], [], [], []]


def test_identical_texts_are_each_others_best():
    docs = [("Diffusion models", "We study denoising diffusion."), ("Other", "Reinforcement learning agents.")] * 2
    assert related_papers(docs, k=1) == [[2], [3], [0], [1]]


def test_near_duplicate_ranks_first(shipped):
    docs = list(shipped)
    picks = [0, 17, 101, 250, 380]
    for i in picks:
        title, abstract = shipped[i]
        words = abstract.split()
        words[len(words) // 2] = "Zebra"             # a one-word edit
        docs.append((title + " (extended version)", " ".join(words)))
    n = len(shipped)
    result = related_papers(docs)
    for c, i in enumerate(picks):
        assert result[i][0] == n + c
        assert result[n + c][0] == i


# ---------------------------------------------------------------- exactness

def test_equals_brute_force_of_the_definition(shipped, synthetic):
    """The sparse path (candidate pairs through signature postings, scores by gathers) equals
    dense matrices of the same vectors and signatures."""
    assert related_papers(shipped) == related_papers_exact(shipped)
    assert related_papers(synthetic, k=7) == related_papers_exact(synthetic, k=7)
    snap = [i % 3 != 0 for i in range(len(synthetic))]          # a snapshot smaller than the archive
    assert related_papers(synthetic, snapshot=snap) == related_papers_exact(synthetic, snapshot=snap)


def test_scores_are_exact_integers(shipped):
    s = similarity_matrix(shipped[:60], candidates_only=False)
    assert s.dtype == np.int64 and (s == s.T).all() and (np.diag(s) == 0).all() and (s >= 0).all()
    twin = similarity_matrix([shipped[0], shipped[0], shipped[1]], candidates_only=False)
    # identical texts: the squared length of the truncated vector (normalised over all its terms)
    assert (1 << 2 * related.QBITS) // 2 < twin[0, 1] <= (1 << 2 * related.QBITS) + (1 << (related.QBITS + 8))
    assert twin[0, 2] == twin[1, 2] < twin[0, 1]


def test_agreement_with_every_pair_scored(shipped, synthetic):
    """Candidates (signatures that meet) are part of the definition; against the same
    vectors with every pair a candidate, they keep nearly all of the best lists
    (measured numbers in ARCHITECTURE.md "Related papers")."""
    for docs, min_recall, min_share in ((shipped, 0.85, 0.98), (synthetic, 0.85, 0.98)):
        everything = similarity_matrix(docs, candidates_only=False)
        want = []
        for i in range(len(docs)):
            nz = np.flatnonzero(everything[i] > 0)
            want.append(nz[np.lexsort((nz, -everything[i][nz]))][:5].tolist())
        got = related_papers(docs)
        check_lists(got, len(docs), 5, everything)
        recall, share = agreement(got, want, everything)
        print(f"{len(docs)} papers: recall@5 {recall:.3f}, score share {share:.4f}")
        assert recall >= min_recall and share >= min_share, (recall, share)


def test_signature_terms_are_specific_and_the_bound_is_exercised():
    """Every signature term's snapshot df is within the bound (which the 1,000 synthetic papers
    reach: some terms are too common to be signature terms), and the IDF is on its 1/8 grid."""
    from sitegen.model.related import delta, vectors
    docs = synth.make_papers(1000, seed=3)
    state, _ = delta.update(None, related._docs(docs, None), 5, b"")
    bound = max(vectors.SIGNATURE_DF_MIN, state.n_snapshot // vectors.SIGNATURE_DF_SHARE)
    sig_terms = state.vec.term[state.vec.sig]
    assert sig_terms.size and int(state.df[sig_terms].max()) <= bound
    assert int((state.df[state.vec.term] > bound).sum()) > 0       # common terms stay in the vectors
    idf, _ = vectors.term_classes(state.df, state.n_snapshot)
    assert (idf * vectors.IDF_STEPS == np.rint(idf * vectors.IDF_STEPS)).all()


def test_merge_equals_one_best_over_everything():
    """Merging entries block by block (dropping those below a row's k-th) == one best() of all."""
    from sitegen.model.related import topk
    rng = np.random.default_rng(4)
    n, k, m = 50, 3, 4000
    row, cand = rng.integers(0, n, m), rng.integers(0, n, m)
    ok = row != cand
    row, cand = row[ok], cand[ok]
    score = (row * 7 + cand * 13) % 5 + 1                        # many ties; one score per (row, cand)
    want = topk.best(row, cand, score, n, k)
    nbr, sc = np.full((n, k), -1, dtype=np.int64), np.zeros((n, k), dtype=np.int64)
    for part in np.array_split(np.arange(len(row)), 7):
        nbr, sc = topk.merge(nbr, sc, row[part], cand[part], score[part], k)
    assert (nbr == want[0]).all() and (sc == want[1]).all()


# ---------------------------------------------------------------- determinism

def test_deterministic(shipped, synthetic):
    assert related_papers(shipped) == related_papers(shipped)
    assert related_papers(synthetic) == related_papers(synthetic)


def test_permutation_invariant(shipped, shipped_scores):
    """Permuting the input and mapping back gives the same lists wherever the
    ranking has no tie at the cut (ties are broken by the caller's order)."""
    n, k = len(shipped), 5
    perm = list(range(n))
    random.Random(5).shuffle(perm)                   # new position p holds old doc perm[p]
    docs2 = [shipped[j] for j in perm]
    base, other = related_papers(shipped, k), related_papers(docs2, k)
    back = [None] * n
    for p, lst in enumerate(other):
        back[perm[p]] = [perm[j] for j in lst]
    for i in range(n):
        top = np.sort(shipped_scores[i])[::-1][:k + 1]
        if len(set(top.tolist())) == len(top):       # no tie among the best k+1
            assert back[i] == base[i], i


# ---------------------------------------------------------------- tokenising

def reference_counts(title: str, abstract: str) -> Counter:
    c = Counter(terms(abstract))
    for t in terms(title):
        c[t] += tokens.TITLE_WEIGHT
    return c


def vector_counts(docs) -> list[Counter]:
    chunks, names = tokens._tokenize(docs)
    out = [Counter() for _ in docs]
    for row, term, tf in chunks:
        for r, t, f in zip(row.tolist(), term.tolist(), tf.tolist()):
            out[r][names[t]] = f
    return out


TRICKY = [
    ("TÜLU 3: Pushing Frontiers", "Straße naïve café — “quoted” words’ apostrophes; ﬁne-tuning ﬂow."),
    ("snake_case and CamelCase", "under_score x_y __init__ GPT-4o 3D-aware 2024 1.5B 70B models' abilities"),
    ("Nul\0inside", "tab\there\nnewline\rcarriage\0nul"),
    ("Long tokens", "supercalifragilisticexpialidociousnessfulness pneumonoultramicroscopicsilicovolcanoconiosis "
                    "antidisestablishmentarianism " + "x" * 30 + " " + "é" * 15 + " " + "ab" * 12 + "é"),
    ("Plurals", "policies studies classes passes analysis bus gas series models attention's its is us"),
    ("Greek αβγ and CJK 中文 tokens", "Ελληνικά λέξεις, русские слова, 日本語の文章"),
    ("", ""),
]


def test_tokenizer_matches_reference(shipped):
    docs = shipped + TRICKY
    got = vector_counts(docs)
    for (title, abstract), c in zip(docs, got):
        assert c == reference_counts(title, abstract), title


def test_terms_reference_examples():
    assert terms("The Models of LLMs, and policies!") == ["model", "llm", "policy"]
    assert terms("GPT-4o in 3D; 2024 results") == ["gpt", "4o", "3d", "result"]
    assert terms("naïve Straße") == ["naïve", "straße"]
    long = "a" * 40
    assert terms(long) == ["a" * 24]                 # tokens are identified by 24 bytes


def test_hash_collisions_are_resolved(monkeypatch, shipped):
    """Token grouping and the vocabulary compare full keys: a useless hash
    (every token colliding) changes nothing but speed."""
    docs = shipped[:40] + TRICKY
    want = vector_counts(docs)
    want_related = related_papers(docs)
    monkeypatch.setattr(tokens, "_mix", lambda k1, k2, k3: (k1 & np.uint64(3)) * np.uint64(1 << 62))
    assert vector_counts(docs) == want
    assert related_papers(docs) == want_related


def test_large_vocabulary():
    """Real archives have far larger vocabularies than the synthetic one."""
    rng = random.Random(1)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choices(letters, k=rng.randint(3, 20))) for _ in range(20_000)]
    docs = [(" ".join(rng.sample(words, 5)), " ".join(rng.choices(words, k=120))) for _ in range(300)]
    got = vector_counts(docs)
    for i in (0, 149, 299):
        assert got[i] == reference_counts(*docs[i])
    assert related_papers(docs) == related_papers_exact(docs)


# ---------------------------------------------------------------- scale
# How fast is measured by the benchmark (python -m tests.bench.micro), not here:
# a test must decide the same way on any machine.

def test_3000_papers():
    docs = synth.make_papers(3000, seed=11)
    check_lists(related_papers(docs), len(docs), 5)
