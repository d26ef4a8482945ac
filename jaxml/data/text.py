"""Text corpora and character tokenization: the King James Bible (Debian `bible-kjv`) and, as a
fallback, Python's own stdlib sources.

KJV: Debian's `bible-kjv-text` ships `/usr/lib/bible.data` in the compressed format of the `bible`
program (`bible-kjv`); `bible -l100000 "Genesis1:1-Revelation22:21"` prints every verse on one line
under "Book N" chapter headings. `kjv_verses()` runs it once, parses (book, chapter, verse, text)
and caches the result as TSV in `<cache dir>/kjv_verses.tsv` (cache dir: `$JAXML_CACHE_DIR`, else
`$JAXML_DATA_DIR/jaxml_cache`, else `~/.cache/jaxml`); the text is never part of the repository.
`kjv_text()` is the verse texts, one per line (references stripped), ~4.1 MB.

When the `bible` program is missing, `load_corpus("kjv", fallback=True)` logs one line and returns the
concatenated `.py` files of the running interpreter's stdlib instead (deterministic file order);
`load_corpus("stdlib")` asks for it directly.

`CharTokenizer(text, specials=("<pad>", "<mask>", "<cls>"))`: ids 0..len(specials)-1 are the special
tokens, then the corpus's characters in sorted order.

`lm_windows(ids, seq_len, stride)`: [N, seq_len + 1] windows (inputs = w[:, :-1], targets = w[:, 1:]).

`KJV_GENRES` / `book_genre(book)`: the genre of each of the 66 books (law, history, poetry,
prophets, gospels, epistles; Acts counted as history, Revelation as prophecy).
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Sequence

import numpy as np

from jaxml.errors import JaxmlError

log = logging.getLogger("jaxml")

CORPORA = ("kjv", "stdlib")
KJV_RANGE = "Genesis1:1-Revelation22:21"

_GENRE_BOOKS = {
    "law": ["Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy"],
    "history": ["Joshua", "Judges", "Ruth", "1 Samuel", "2 Samuel", "1 Kings", "2 Kings", "1 Chronicles",
                "2 Chronicles", "Ezra", "Nehemiah", "Esther", "Acts"],
    "poetry": ["Job", "Psalms", "Proverbs", "Ecclesiastes", "Song of Solomon"],
    "prophets": ["Isaiah", "Jeremiah", "Lamentations", "Ezekiel", "Daniel", "Hosea", "Joel", "Amos", "Obadiah",
                 "Jonah", "Micah", "Nahum", "Habakkuk", "Zephaniah", "Haggai", "Zechariah", "Malachi", "Revelation"],
    "gospels": ["Matthew", "Mark", "Luke", "John"],
    "epistles": ["Romans", "1 Corinthians", "2 Corinthians", "Galatians", "Ephesians", "Philippians", "Colossians",
                 "1 Thessalonians", "2 Thessalonians", "1 Timothy", "2 Timothy", "Titus", "Philemon", "Hebrews",
                 "James", "1 Peter", "2 Peter", "1 John", "2 John", "3 John", "Jude"],
}
KJV_GENRES: tuple[str, ...] = tuple(_GENRE_BOOKS)
_BOOK_TO_GENRE = {book: g for g, books in _GENRE_BOOKS.items() for book in books}


def book_genre(book: str) -> int:
    if book not in _BOOK_TO_GENRE:
        raise JaxmlError(f"unknown KJV book {book!r}")
    return KJV_GENRES.index(_BOOK_TO_GENRE[book])


def cache_dir() -> Path:
    if os.environ.get("JAXML_CACHE_DIR"):
        return Path(os.environ["JAXML_CACHE_DIR"])
    if os.environ.get("JAXML_DATA_DIR"):
        return Path(os.environ["JAXML_DATA_DIR"]) / "jaxml_cache"
    return Path.home() / ".cache" / "jaxml"


def parse_bible_output(raw: str) -> list[tuple[str, int, int, str]]:
    """(book, chapter, verse, text) from `bible -l<wide>` output ("Book N" headings, "  v text" lines)."""
    verses: list[tuple[str, int, int, str]] = []
    book, chapter = None, 0
    for line in raw.splitlines():
        if not line.strip():
            continue
        if line.startswith(" "):
            num, _, text = line.strip().partition(" ")
            if book is None or not num.isdigit():
                raise JaxmlError(f"unexpected line in `bible` output: {line[:60]!r}")
            verses.append((book, chapter, int(num), text.strip()))
        else:
            name, _, num = line.strip().rpartition(" ")
            if not num.isdigit():
                raise JaxmlError(f"unexpected heading in `bible` output: {line[:60]!r}")
            book, chapter = name, int(num)
    return verses


def _bible_program() -> str | None:
    return shutil.which("bible") or (str(Path("/usr/bin/bible")) if Path("/usr/bin/bible").exists() else None)


@functools.lru_cache(maxsize=1)
def kjv_verses() -> tuple[tuple[str, int, int, str], ...]:
    """All 31,102 verses, cached in `<cache dir>/kjv_verses.tsv` after the first call."""
    path = cache_dir() / "kjv_verses.tsv"
    if path.exists():
        rows = []
        for line in path.read_text(encoding="utf-8").splitlines():
            b, c, v, t = line.split("\t")
            rows.append((b, int(c), int(v), t))
        return tuple(rows)
    program = _bible_program()
    if program is None:
        raise JaxmlError("the KJV text needs Debian's bible-kjv (`apt-get install bible-kjv`, which provides "
                         "`bible` and /usr/lib/bible.data); or use corpus='stdlib'")
    raw = subprocess.run([program, "-l100000", KJV_RANGE], capture_output=True, text=True, check=True).stdout
    verses = parse_bible_output(raw)
    if len(verses) < 30000:
        raise JaxmlError(f"`bible` printed only {len(verses)} verses; is /usr/lib/bible.data complete?")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(f"{b}\t{c}\t{v}\t{t}\n" for b, c, v, t in verses), encoding="utf-8")
    os.replace(tmp, path)
    log.info("cached %d KJV verses in %s", len(verses), path)
    return tuple(verses)


def kjv_text() -> str:
    return "".join(t + "\n" for _, _, _, t in kjv_verses())


@functools.lru_cache(maxsize=2)
def stdlib_text(max_chars: int = 8_000_000) -> str:
    """The interpreter's stdlib `.py` files (sorted paths, tests and site-packages skipped), ASCII only."""
    root = Path(sysconfig.get_paths()["stdlib"])
    parts, total = [], 0
    for p in sorted(root.rglob("*.py")):
        rel = p.relative_to(root).parts
        if rel[0] in ("site-packages", "dist-packages", "test", "idlelib") or "tests" in rel:
            continue
        try:
            s = p.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        s = s.encode("ascii", "ignore").decode("ascii")
        parts.append(s)
        total += len(s)
        if total >= max_chars:
            break
    return "".join(parts)[:max_chars]


def load_corpus(name: str, *, fallback: bool = True) -> tuple[str, str]:
    """(text, source name actually used)."""
    if name not in CORPORA:
        raise JaxmlError(f"corpus={name!r} is not valid; choose one of {', '.join(CORPORA)}")
    if name == "kjv":
        try:
            return kjv_text(), "kjv"
        except (JaxmlError, subprocess.CalledProcessError) as e:
            if not fallback:
                raise
            log.warning("KJV text unavailable (%s); falling back to Python's stdlib sources (%s)",
                        str(e).split(";")[0], sys.version.split()[0])
    return stdlib_text(), "stdlib"


class CharTokenizer:
    """Character-level tokenizer; `specials` take the first ids."""

    def __init__(self, text: str | None = None, specials: Sequence[str] = (), chars: Sequence[str] | None = None):
        self.specials = tuple(specials)
        self.chars = tuple(chars) if chars is not None else tuple(sorted(set(text or "")))
        self.vocab = self.specials + self.chars
        self._index = {c: i + len(self.specials) for i, c in enumerate(self.chars)}
        self._lut = np.full(max(map(ord, self.chars), default=0) + 1, -1, np.int32)
        for c, i in self._index.items():
            self._lut[ord(c)] = i

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def id(self, token: str) -> int:
        return self.vocab.index(token)

    def encode(self, text: str) -> np.ndarray:
        codes = np.frombuffer(text.encode("utf-32-le"), np.uint32).astype(np.int64)
        if codes.size and codes.max() >= len(self._lut):
            bad = next(c for c in text if ord(c) >= len(self._lut))
            raise JaxmlError(f"character {bad!r} is not in the tokenizer's vocabulary")
        ids = self._lut[codes]
        if (ids < 0).any():
            raise JaxmlError(f"character {text[int(np.argmax(ids < 0))]!r} is not in the tokenizer's vocabulary")
        return ids.astype(np.int32)

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.vocab[int(i)] if int(i) >= len(self.specials) else "" for i in ids)

    def to_dict(self) -> dict:
        return {"specials": list(self.specials), "chars": "".join(self.chars)}

    @classmethod
    def from_dict(cls, d: dict) -> "CharTokenizer":
        return cls(specials=d["specials"], chars=list(d["chars"]))


def lm_windows(ids: np.ndarray, seq_len: int, stride: int | None = None) -> np.ndarray:
    """[N, seq_len + 1] windows starting every `stride` (default seq_len: non-overlapping)."""
    stride = stride or seq_len
    n = (len(ids) - seq_len - 1) // stride + 1
    if n <= 0:
        raise JaxmlError(f"text of {len(ids)} tokens is shorter than one window of {seq_len + 1}")
    starts = np.arange(n) * stride
    return ids[starts[:, None] + np.arange(seq_len + 1)[None, :]]


def contiguous_split(ids: np.ndarray, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """First (1 - val_fraction) of the token stream for training, the rest for validation."""
    if not 0 < val_fraction < 1:
        raise JaxmlError(f"val_fraction={val_fraction} must be in (0, 1)")
    cut = int(round(len(ids) * (1 - val_fraction)))
    return ids[:cut], ids[cut:]
