"""Labelled passages for text classification: KJV passages labelled by the genre of their book
(`data.text.KJV_GENRES`: law, history, poetry, prophets, gospels, epistles), or, when the KJV text is
unavailable (no Debian `bible-kjv`) and the fallback is allowed, passages of Python's own stdlib
sources labelled by their top-level package (`STDLIB_PACKAGES`), with one warning line saying so.

A passage is `units` consecutive verses of one chapter joined by spaces (a chapter's last passage may
be shorter); in the fallback, `units` consecutive non-blank lines of one module file. Every passage
keeps its group (its chapter, or its file) so that `held_out_groups` can hold out whole chapters:
per label, round(test_fraction * that label's groups) groups drawn with numpy's default_rng(seed)
give the test passages, so no test passage shares a chapter with a training one.
"""

from __future__ import annotations

import logging
import subprocess
import sysconfig
from pathlib import Path
from typing import NamedTuple

import numpy as np

from jaxml.core.config import check_int
from jaxml.data import text as text_lib
from jaxml.errors import JaxmlError

log = logging.getLogger("jaxml")

STDLIB_PACKAGES = ("asyncio", "concurrent", "email", "http", "importlib", "json", "logging", "multiprocessing",
                   "sqlite3", "unittest", "urllib", "xml")


class Passages(NamedTuple):
    texts: tuple[str, ...]
    labels: np.ndarray            # [n] int32 index into label_names
    groups: np.ndarray            # [n] int64: the chapter (file) of each passage
    label_names: tuple[str, ...]
    corpus: str                   # "kjv" or "stdlib"


def chunked(units: list[str], size: int) -> list[str]:
    return [" ".join(units[s:s + size]) for s in range(0, len(units), size)]


def passages_of(grouped: list[tuple[int, list[str]]], size: int, label_names: tuple[str, ...], corpus: str) -> Passages:
    """Passages of `size` units from (label, units) groups, in group order."""
    texts, labels, groups = [], [], []
    for g, (label, units) in enumerate(grouped):
        for passage in chunked(units, size):
            texts.append(passage)
            labels.append(label)
            groups.append(g)
    return Passages(tuple(texts), np.asarray(labels, np.int32), np.asarray(groups, np.int64), label_names, corpus)


def kjv_passages(size: int) -> Passages:
    """Passages of `size` verses of every chapter, labelled by the genre of the book."""
    chapters: dict[tuple[str, int], list[str]] = {}
    for book, chapter, _, verse in text_lib.kjv_verses():
        chapters.setdefault((book, chapter), []).append(verse)
    grouped = [(text_lib.book_genre(book), verses) for (book, _), verses in chapters.items()]
    return passages_of(grouped, size, text_lib.KJV_GENRES, "kjv")


def stdlib_passages(size: int) -> Passages:
    """Passages of `size` non-blank lines of every `.py` file of the STDLIB_PACKAGES (test folders
    skipped, sorted paths), labelled by the package."""
    root = Path(sysconfig.get_paths()["stdlib"])
    grouped = []
    for label, package in enumerate(STDLIB_PACKAGES):
        for path in sorted((root / package).rglob("*.py")):
            if {"test", "tests"} & set(path.relative_to(root).parts):
                continue
            try:
                lines = [s.strip() for s in path.read_text(encoding="utf-8").splitlines() if s.strip()]
            except (UnicodeDecodeError, OSError):
                continue
            if lines:
                grouped.append((label, lines))
    if not grouped:
        raise JaxmlError(f"no stdlib sources found under {root} for the fallback corpus")
    return passages_of(grouped, size, STDLIB_PACKAGES, "stdlib")


def load_passages(size: int, *, fallback: bool = True) -> Passages:
    """KJV genre passages; without the KJV text, the stdlib fallback (one warning line) or, with
    `fallback=False`, the KJV loader's JaxmlError."""
    check_int(size, "config.text.verses_per_passage", 1)
    try:
        return kjv_passages(size)
    except (JaxmlError, subprocess.CalledProcessError) as e:
        if not fallback:
            raise
        log.warning("KJV text unavailable (%s); falling back to passages of Python's stdlib sources labelled by "
                    "package (%s), lines standing for verses", str(e).split(";")[0], ", ".join(STDLIB_PACKAGES))
    return stdlib_passages(size)


def held_out_groups(passages: Passages, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, test indices) of the passages, both sorted: per label, round(test_fraction *
    n_groups) of its groups (a seeded permutation's first) are test groups."""
    rng = np.random.default_rng(seed)
    group_label = np.zeros(int(passages.groups.max()) + 1, np.int64)
    group_label[passages.groups] = passages.labels
    test_groups = []
    for label in np.unique(passages.labels):
        members = rng.permutation(np.flatnonzero(group_label == label))
        test_groups.append(members[:int(round(test_fraction * len(members)))])
    is_test = np.isin(passages.groups, np.concatenate(test_groups))
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)
