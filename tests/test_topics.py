"""sitegen.model.topics: key phrases shared by many papers, the rule that drops generic ones,
each paper's best topics, and the snapshot that keeps a new day from reshuffling them."""

from __future__ import annotations

import datetime as dt

import pytest

from sitegen.model import topics as T


def pp(title: str, abstract: str = "") -> T.PaperPhrases:
    return T.paper_phrases(title, abstract)


@pytest.mark.parametrize("text, expected", [
    ("Speculative Decoding for Fast Inference", {"speculative decoding", "fast inference"}),
    ("Mixture of Experts at Scale", {"mixture of experts"}),                  # "of" inside
    ("A Study of the Model", set()),                                         # stop words at the ends
    ("TÜLU Post-Training Recipes", {"tulu post-training recipes", "tulu post-training"}),   # folded
    ("Vision-Language Models, Revisited", {"vision-language models"}),         # clause split at ","
])
def test_phrases_of_a_text(text, expected):
    got = set(T.phrases(text).values())
    assert expected <= got
    assert not any(w.split()[0] in T.STOP or w.split()[-1] in T.STOP for w in got)


def test_surface_variants_share_one_key():
    keys = {T.phrase_key(s.split()) for s in ("vision-language models", "vision language model",
                                               "vision-language model")}
    assert len(keys) == 1
    assert T.phrase_key(["pre-trained", "models"]) == T.phrase_key(["pretrained", "model"])


def _archive(n_topic: int, n_filler: int, *, title_share: float = 1.0, phrase: str = "speculative decoding"):
    items = []
    for i in range(n_topic):
        in_title = i < title_share * n_topic
        items.append(pp(f"{phrase.title()} in Setting{i}" if in_title else f"Paper {i}",
                        f"We look at {phrase} again. Sample {i}."))
    items += [pp(f"Unrelated Work {i}", f"Nothing shared here {i}.") for i in range(n_filler)]
    return items


def test_a_shared_subject_is_a_topic():
    voc = T.vocabulary(_archive(10, 190))
    assert "speculative decoding" in {t.name for t in voc.values()}
    topic = next(t for t in voc.values() if t.name == "speculative decoding")
    assert topic.papers == 10 and topic.slug == "speculative-decoding"


def test_too_few_papers_is_not_a_topic():
    assert "speculative decoding" not in {t.name for t in T.vocabulary(_archive(2, 198)).values()}


def test_a_phrase_in_a_third_of_the_archive_is_generic():
    voc = T.vocabulary(_archive(70, 130, phrase="large language models"))
    assert not any("large language" in t.name for t in voc.values())


def test_prose_that_never_makes_a_title_is_generic():
    """'experimental results' is in many abstracts and no title: method prose, not a subject."""
    voc = T.vocabulary(_archive(10, 190, title_share=0.0, phrase="experimental results"))
    assert not voc
    voc = T.vocabulary(_archive(10, 190, title_share=0.0, phrase="gaussian splatting"))
    assert not voc                       # the same rule, whatever the words: it is documented as such


def test_prose_words_only_is_generic():
    voc = T.vocabulary(_archive(10, 190, phrase="improved model"))
    assert not voc


def test_a_fragment_gives_way_to_the_longer_phrase():
    voc = T.vocabulary(_archive(10, 190, phrase="natural language inference"))
    names = {t.name for t in voc.values()}
    assert "natural language inference" in names
    assert "language inference" not in names and "natural language" not in names


def test_hide_and_aliases_from_site_yml():
    items = _archive(10, 90) + _archive(8, 92, phrase="draft decoding")
    voc = T.vocabulary(items, T.TopicRules(hide=("Speculative Decoding",)))
    assert {t.name for t in voc.values()} == {"draft decoding"}
    voc = T.vocabulary(items, T.TopicRules(aliases={"draft decoding": "speculative decoding"}))
    merged = {t for t in voc.values()}
    assert {t.name for t in merged} == {"speculative decoding"}
    assert next(iter(merged)).papers == 18
    assert T.assign(pp("Draft Decoding Again"), voc, 200) == ["speculative decoding"]


def test_a_papers_topics_best_first_tags_first_at_most_per_paper():
    items = (_archive(10, 0) + _archive(30, 0, phrase="kv cache")
             + [pp(f"Filler {i}", f"Text {i}.") for i in range(400)])
    voc = T.vocabulary(items)
    paper = pp("KV Cache Compression", "We apply speculative decoding and kv cache tricks.")
    assert T.assign(paper, voc, len(items)) == ["kv cache", "speculative decoding"]     # title first
    assert T.assign(paper, voc, len(items), tags=["serving"], per_paper=1) == ["serving", "kv cache"]
    assert T.assign(pp("Nothing"), voc, len(items)) == []


def test_snapshot_is_the_papers_before_the_newest_month():
    d = dt.date
    assert T.snapshot_cutoff([d(2025, 3, 11), d(2025, 8, 7), d(2025, 8, 11)]) == d(2025, 8, 1)
    assert T.snapshot_cutoff([d(2025, 8, 7), d(2025, 8, 11)]) is None          # one month: all papers
    assert T.snapshot_cutoff([]) is None
    # A new day inside the newest month does not move the cutoff; a new month does.
    assert T.snapshot_cutoff([d(2025, 3, 11), d(2025, 8, 7), d(2025, 8, 30)]) == d(2025, 8, 1)
    assert T.snapshot_cutoff([d(2025, 3, 11), d(2025, 8, 7), d(2025, 9, 1)]) == d(2025, 9, 1)


def test_deterministic_whatever_the_order():
    items = _archive(10, 50) + _archive(6, 50, phrase="gaussian splatting")
    assert T.vocabulary(items) == T.vocabulary(list(reversed(items)))
