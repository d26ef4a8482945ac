"""TF-IDF (classic/tfidf.py) against scikit-learn's TfidfVectorizer on a small corpus with the same
options, and the KJV genre passages' held-out chapters and stdlib fallback (data/genre_passages.py)."""

import logging

import numpy as np
import pytest

from jaxml.classic import tfidf
from jaxml.data import genre_passages
from jaxml.errors import JaxmlError

TRAIN = ["In the beginning God created the heaven and the earth.",
         "And the earth was without form, and void; and darkness was upon the face of the deep.",
         "And God said, Let there be light: and there was light.",
         "And God saw the light, that it was good: and God divided the light from the darkness.",
         "The LORD is my shepherd; I shall not want.",
         "He maketh me to lie down in green pastures: he leadeth me beside the still waters.",
         "a b c"]  # one-letter words are not tokens: an empty row
TEST = ["Let there be light, and the LORD divided the waters.", "Nothing known here", "GOD God god"]

OPTIONS = [dict(), dict(sublinear_tf=True, min_df=2), dict(max_df=0.5, smooth_idf=False, norm="l1"),
           dict(lowercase=False, norm="none", min_df=0.2), dict(max_features=5, sublinear_tf=True)]  # no tie at the cut (see tfidf.py)


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "defaults")
def test_tfidf_equals_sklearn_on_a_small_corpus(options):
    from sklearn.feature_extraction.text import TfidfVectorizer

    ref = TfidfVectorizer(**{**options, "norm": None if options.get("norm") == "none" else options.get("norm", "l2")})
    ref_train = ref.fit_transform(TRAIN).toarray()
    model = tfidf.fit(TRAIN, tfidf.TfidfOptions(**options))
    assert list(model.terms) == list(ref.get_feature_names_out())
    np.testing.assert_allclose(model.idf, ref.idf_, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(tfidf.transform(model, TRAIN)), ref_train, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.asarray(tfidf.transform(model, TEST)), ref.transform(TEST).toarray(),
                               rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("options, needle", [
    (dict(min_df=-1), "config.text.min_df=-1 must be an int >= 0"),
    (dict(max_df=1.5), "config.text.max_df=1.5 must be an int >= 0 (documents) or a float in [0, 1]"),
    (dict(norm="l3"), "config.text.norm='l3' is not valid; choose one of l2, l1, none"),
    (dict(max_features=0), "config.text.max_features must be an int >= 1"),
    (dict(min_df=5, max_df=2), "config.text.max_df=2 keeps fewer documents than min_df=5"),
])
def test_bad_options_name_the_key(options, needle):
    with pytest.raises(JaxmlError, match=needle.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
                       .replace("]", r"\]")):
        tfidf.fit(TRAIN, tfidf.TfidfOptions(**options), prefix="config.text.")


def fake_verses():
    books = ["Genesis", "Psalms", "Matthew", "Romans"]
    return tuple((b, c, v, f"{b} chapter {c} verse {v} words") for b in books for c in range(1, 9) for v in range(1, 8))


def test_passages_hold_out_whole_chapters_stratified_by_genre(monkeypatch):
    monkeypatch.setattr(genre_passages.text_lib, "kjv_verses", fake_verses)
    p = genre_passages.load_passages(3, fallback=False)
    assert p.corpus == "kjv" and len(p.texts) == 4 * 8 * 3  # 7 verses per chapter: passages of 3, 3, 1
    assert p.texts[0] == "Genesis chapter 1 verse 1 words Genesis chapter 1 verse 2 words Genesis chapter 1 verse 3 words"
    train, test = genre_passages.held_out_groups(p, 0.25, 0)
    assert len(np.intersect1d(p.groups[train], p.groups[test])) == 0  # no chapter on both sides
    assert np.bincount(p.labels[test]).tolist() == [6, 0, 6, 0, 6, 6]  # 2 of 8 chapters per genre, 3 passages each
    assert np.array_equal(genre_passages.held_out_groups(p, 0.25, 0)[1], test)


def test_without_the_kjv_text_the_stdlib_fallback_logs_one_clear_line(monkeypatch, caplog):
    def missing():
        raise JaxmlError("the KJV text needs Debian's bible-kjv (`apt-get install bible-kjv`); or use corpus='stdlib'")

    monkeypatch.setattr(genre_passages.text_lib, "kjv_verses", missing)
    with pytest.raises(JaxmlError, match="needs Debian's bible-kjv"):
        genre_passages.load_passages(5, fallback=False)
    with caplog.at_level(logging.WARNING, logger="jaxml"):
        p = genre_passages.load_passages(5)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == 1 and "KJV text unavailable" in lines[0] and "stdlib" in lines[0]
    assert p.corpus == "stdlib" and p.label_names == genre_passages.STDLIB_PACKAGES
    assert set(np.unique(p.labels)) == set(range(len(genre_passages.STDLIB_PACKAGES)))


def test_a_max_features_cut_inside_a_tie_keeps_the_alphabetically_first():
    model = tfidf.fit(TRAIN, tfidf.TfidfOptions(max_features=6))  # the, and, god, was, light (>= 4); then six 2s
    assert model.terms == ("and", "darkness", "god", "light", "the", "was")
