"""sitegen.search.stemmer against lunr.js 2.3.9 itself (run in node), word for word.

The word list: every distinct token of the shipped dumps (raw and trimmed),
~40,000 generated English-like words built to hit every Porter rule (plurals,
-ed/-ing, final y after vowels and consonants, every step 2/3/4 suffix,
double consonants, cvc endings, initial y), and edge cases (short words,
digits, accents, astral characters, line terminators).

Skips when node or node_modules/lunr is missing, unless SITEGEN_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import json
import random
import re
import subprocess


from helpers import SHIPPED, TESTS, require_tool
from sitegen.search import stemmer as st

CLI = TESTS / "js" / "lunr_cli.js"

ONSETS = ["", "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "y",
          "z", "bl", "br", "ch", "cl", "cr", "dr", "fl", "gr", "pl", "pr", "sc", "sh", "sl", "sp", "st",
          "str", "th", "tr", "qu"]
NUCLEI = ["a", "e", "i", "o", "u", "y", "ai", "ay", "ea", "ee", "ei", "ey", "ie", "oa", "oo", "ou",
          "oy", "ue", "ui"]
CODAS = ["", "b", "ck", "d", "ff", "g", "l", "ll", "m", "mm", "n", "nn", "p", "pp", "r", "rr", "s",
         "ss", "t", "tt", "v", "w", "x", "y", "z", "zz", "nd", "nt", "rt", "st", "ng", "sk"]
SUFFIXES = ["", "s", "es", "ies", "sses", "ss", "ed", "eed", "ing", "y", "ly", "ay", "ey", "oy", "uy",
            "ational", "tional", "enci", "anci", "izer", "bli", "alli", "entli", "eli", "ousli",
            "ization", "ation", "ator", "alism", "iveness", "fulness", "ousness", "aliti", "iviti",
            "biliti", "logi", "icate", "ative", "alize", "iciti", "ical", "ful", "ness", "al", "ance",
            "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "sion", "tion", "ou",
            "ism", "ate", "iti", "ous", "ive", "ize", "e", "ll", "ated", "ating", "bled", "izing",
            "ies", "ied", "ying", "ays", "ayed", "eys", "oys", "oyed", "ially", "ations", "ers"]
EDGE = ["", "a", "y", "ys", "yy", "by", "sky", "say", "day", "key", "yes", "yay", "you", "yield",
        "yielding", "ytterbium", "Y", "Yes", "YY", "cry", "cries", "cried", "crying", "try", "tries",
        "lay", "play", "survey", "deploy", "display", "today", "decay", "sses", "ies", "eed", "ed",
        "ing", "s", "ss", "3d", "gpt4", "v2", "10x", "café", "naïve", "über", "résumé", "zoë",
        "x\U0001F600y", "\U0001F600ing", "a\U0001F600s", "\U0001F600\U0001F600", "e.g", "don't",
        "self_attention", "line\nbreak", "tab\there", "u\u2028v", "ll", "all", "fall", "falling",
        "controll", "generalization", "relational", "conditional", "rational", "valency",
        "hesitanci", "digitizer", "conformabli", "radicalli", "differentli", "vileli",
        "analogousli", "vietnamization", "predication", "operator", "feudalism", "decisiveness",
        "hopefulness", "callousness", "formaliti", "sensitiviti", "sensibiliti", "triplicate",
        "formative", "formalize", "electriciti", "electrical", "hopeful", "goodness", "revival",
        "allowance", "inference", "airliner", "gyroscopic", "adjustable", "defensible",
        "irritant", "replacement", "adjustment", "dependent", "adoption", "homologou", "communism",
        "activate", "angulariti", "homologous", "effective", "bowdlerize", "probate", "rate",
        "cease", "controlling", "rolling", "agreed", "feed", "disabled", "matting", "mating",
        "meeting", "milling", "messing", "meetings", "hoping", "hopping", "filing", "failing",
        "sized", "buzzed", "fizzed", "hissed", "tanned", "falling", "fizzing", "conflated",
        "troubled", "caresses", "ponies", "ties", "caress", "cats"]


def generated_words(n: int = 40000, seed: int = 20240) -> list[str]:
    rng = random.Random(seed)
    words = set()
    while len(words) < n:
        syllables = rng.choice((1, 1, 2, 2, 2, 3, 3, 4))
        w = "".join(rng.choice(ONSETS) + rng.choice(NUCLEI) + rng.choice(CODAS)
                    for _ in range(syllables))
        words.add(w + rng.choice(SUFFIXES))
    return sorted(words)


def dump_words() -> list[str]:
    words = set()
    for path in SHIPPED:
        for tok in re.split(r"[\s\-]+", path.read_text(encoding="utf-8").lower()):
            if tok:
                words.add(tok)
                words.add(st.trim(tok))
    return sorted(words)


def lunr_js(mode: str, words: list[str]):
    node = require_tool("node", "lunr")
    proc = subprocess.run([node, str(CLI), mode], input=json.dumps(words), capture_output=True,
                          text=True, encoding="utf-8", check=True, timeout=120)
    return json.loads(proc.stdout)


def test_word_list_is_large_and_exercises_the_y_rule():
    words = dump_words() + generated_words()
    assert len(words) > 45000
    assert sum(1 for w in words if re.search("[aeiou]y$", w)) > 1000
    assert sum(1 for w in words if re.search("[^aeiou]y$", w)) > 1000


def test_stemmer_matches_lunr_js_on_every_word():
    words = sorted(set(dump_words() + generated_words() + EDGE))
    expected = lunr_js("stem", words)
    diffs = [(w, e, st.stem(w)) for w, e in zip(words, expected) if st.stem(w) != e]
    assert diffs == [], f"{len(diffs)} differences, e.g. {diffs[:10]}"


def test_trimmer_and_full_pipeline_match_lunr_js():
    words = sorted(set(dump_words() + EDGE + ["(e.g.,", "\"survey\"", "models,", "...", "--",
                                              "«guillemets»", "[1]", "'quoted'", "¿qué?"]))
    assert lunr_js("trim", words) == [st.trim(w) for w in words]
    # lunr.js keeps tokens the trimmer empties as the term ""; we drop them
    expected = [None if t == "" else t for t in lunr_js("pipeline", words)]
    assert [st.pipeline_term(w) for w in words] == expected


def test_stop_words_are_lunr_js_stop_words():
    candidates = sorted(st.STOP_WORDS | {"model", "data", "survey", "those", "could", "would"})
    assert set(lunr_js("stopwords", candidates)) == set(st.STOP_WORDS)


def test_lunr_py_stemmer_differs_and_ours_does_not():
    """The bug this module exists for: lunr.py's step 1c."""
    from lunr.stemmer import porter_stemmer
    for word, js in [("key", "key"), ("survey", "survey"), ("deploy", "deploy"), ("display", "display"),
                     ("play", "play"), ("today", "today"), ("decay", "decay"), ("cry", "cri")]:
        assert st.stem(word) == js
    assert porter_stemmer.stem("key") == "kei"
    assert porter_stemmer.stem("survey") == "survei"


def test_lunr_py_pipeline_functions_are_labelled_like_lunr_js():
    from lunr_reference import lunr_pipeline
    index_fns, search_fns = lunr_pipeline()
    assert [f.label for f in index_fns] == ["trimmer", "stopWordFilter", "stemmer"]
    assert [f.label for f in search_fns] == ["stemmer"]
    from lunr.pipeline import Pipeline
    from lunr.token import Token
    p = Pipeline()
    p.add(*index_fns)
    assert [str(t) for t in p.run([Token("(surveys),"), Token("the"), Token("..."), Token("keys")])] == \
        ["survey", "key"]
