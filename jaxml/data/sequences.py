"""Sequence data for tagging and translation, generated or read from Python's own stdlib.

- `hmm`: sequences sampled from a hidden Markov model with known parameters (its true-parameter Viterbi
  decode is the ceiling a tagger is compared with).
- `pytokens`: character-level token-type tags of Python source (`tokenize`: NAME, OP, NUMBER, STRING,
  COMMENT in a B-/I- scheme, everything else O), files split into held-out and training files.
- `numbers`: digits -> number words in several languages (`num2words`), a language tag on the input.

A tagging split is a `Split(tokens=int32 [N, T], tags=int32 [N, T], length=int32 [N])` (zero past
each sequence's length); a translation split is a `Split(tokens=int32 [N, S], targets=int32 [N, U],
language=int32 [N])`: source ids, target ids (BOS ... EOS, then PAD) and the language index.
"""

from __future__ import annotations

import dataclasses
import io
import sysconfig
import tokenize
import zlib
from pathlib import Path

import numpy as np

from jaxml.data.datasets import Split
from jaxml.errors import JaxmlError

# ----------------------------------------------------------------------------------------------------------- HMM


@dataclasses.dataclass(frozen=True)
class HMM:
    """initial [K], transition [K, K] (row: from), emission [K, V] (row: state) probabilities."""

    initial: np.ndarray
    transition: np.ndarray
    emission: np.ndarray


def make_hmm(num_states: int, num_symbols: int, *, stay: float, emission_peak: float, seed: int) -> HMM:
    """A sticky HMM: stay in a state with probability `stay` (else a random other state, Dirichlet
    weights); each state emits a Dirichlet-random distribution over symbols with extra mass
    `emission_peak` spread over its own two symbols (neighbouring states share one of them)."""
    if not 0 < stay < 1 or not 0 <= emission_peak < 1 or num_states < 2 or num_symbols < num_states + 1:
        raise JaxmlError(f"bad HMM: need 0 < stay < 1, 0 <= emission_peak < 1, num_states >= 2 and num_symbols > "
                         f"num_states; got stay={stay}, emission_peak={emission_peak}, {num_states} states, "
                         f"{num_symbols} symbols")
    rng = np.random.default_rng(seed)
    off = rng.dirichlet(np.ones(num_states - 1), size=num_states)
    transition = np.zeros((num_states, num_states))
    for k in range(num_states):
        transition[k, np.arange(num_states) != k] = (1 - stay) * off[k]
        transition[k, k] = stay
    emission = (1 - emission_peak) * rng.dirichlet(np.ones(num_symbols), size=num_states)
    for k in range(num_states):
        emission[k, [k, k + 1]] += emission_peak / 2
    return HMM(np.full(num_states, 1.0 / num_states), transition, emission)


def sample_hmm(hmm: HMM, num: int, *, min_length: int, max_length: int, seed: int) -> Split:
    """`num` sequences of random length in [min_length, max_length], padded to max_length."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_length, max_length + 1, size=num)
    states = np.zeros((num, max_length), np.int64)
    k = len(hmm.initial)
    states[:, 0] = rng.choice(k, size=num, p=hmm.initial)
    cum_t = np.cumsum(hmm.transition, axis=1)
    for t in range(1, max_length):  # vectorised inverse-CDF sampling over the batch
        states[:, t] = np.minimum((rng.random(num)[:, None] > cum_t[states[:, t - 1]]).sum(1), k - 1)
    cum_e = np.cumsum(hmm.emission, axis=1)
    symbols = np.minimum((rng.random((num, max_length))[..., None] > cum_e[states]).sum(-1), hmm.emission.shape[1] - 1)
    valid = np.arange(max_length)[None] < lengths[:, None]
    return Split(tokens=(symbols * valid).astype(np.int32), tags=(states * valid).astype(np.int32),
                 length=lengths.astype(np.int32))


# ------------------------------------------------------------------------------------------- Python token types

TOKEN_TYPES: tuple[str, ...] = ("NAME", "OP", "NUMBER", "STRING", "COMMENT")
TAGS: tuple[str, ...] = ("O",) + tuple(f"{p}-{t}" for t in TOKEN_TYPES for p in ("B", "I"))
CHAR_VOCAB = 130  # 0 padding, 1..128 ASCII, 129 anything else
_TYPE_IDS = {getattr(tokenize, t): i for i, t in enumerate(TOKEN_TYPES)}


def encode_chars(text: str) -> np.ndarray:
    codes = np.frombuffer(text.encode("utf-32-le"), np.uint32).astype(np.int64)
    return np.where(codes < 128, codes + 1, 129).astype(np.int32)


def char_tags(source: str) -> np.ndarray:
    """One tag id (index into TAGS) per character of `source`; raises tokenize.TokenError / SyntaxError."""
    line_starts = np.concatenate([[0], np.cumsum([len(l) for l in source.splitlines(keepends=True)])])
    tags = np.zeros(len(source), np.int32)
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        kind = _TYPE_IDS.get(tok.type)
        if kind is None:
            continue
        a = line_starts[tok.start[0] - 1] + tok.start[1]
        b = line_starts[tok.end[0] - 1] + tok.end[1]
        if b > a:
            tags[a] = 1 + 2 * kind
            tags[a + 1:b] = 2 + 2 * kind
    return tags


def windows(chars: np.ndarray, tags: np.ndarray, window: int) -> Split:
    """Non-overlapping windows: `tokens` and `tags` [n, window] (a token cut at a window start begins
    with its B- tag) and their `length` [n]."""
    n = -(-len(chars) // window)
    tokens, window_tags = np.zeros((n, window), np.int32), np.zeros((n, window), np.int32)
    lengths = np.zeros(n, np.int32)
    for i in range(n):
        c, t = chars[i * window:(i + 1) * window], tags[i * window:(i + 1) * window].copy()
        if t[0] > 0 and t[0] % 2 == 0:
            t[0] -= 1
        tokens[i, :len(c)], window_tags[i, :len(c)], lengths[i] = c, t, len(c)
    return Split(tokens=tokens, tags=window_tags, length=lengths)


def concatenate(splits: list[Split]) -> Split:
    """The examples of `splits` (same keys) one after the other."""
    return Split({k: np.concatenate([s[k] for s in splits]) for k in splits[0].keys()})


def stdlib_files(directory: str | None = None) -> list[Path]:
    root = Path(directory or sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.glob("*.py") if p.is_file())
    if not files:
        raise JaxmlError(f"no Python files in {root}; set config.data_dir to a directory of .py files")
    return files


def is_held_out(path: Path, test_percent: int) -> bool:
    """A file-level split that does not depend on which other files exist."""
    return zlib.crc32(path.name.encode()) % 100 < test_percent


def pytoken_splits(*, window: int, train_chars: int, test_chars: int, test_percent: int = 20,
                   directory: str | None = None) -> tuple[Split, Split]:
    """(train, test) windows from stdlib files; test files are disjoint from training files. Files are
    taken in sorted order until each split holds its character budget; untokenizable files are skipped."""
    parts: dict[bool, list] = {False: [], True: []}
    budget = {False: train_chars, True: test_chars}
    for path in stdlib_files(directory):
        held = is_held_out(path, test_percent)
        if budget[held] <= 0:
            continue
        try:
            source = path.read_text(encoding="utf-8")
            tags = char_tags(source)
        except (UnicodeDecodeError, SyntaxError, tokenize.TokenError):
            continue
        source, tags = source[:budget[held]], tags[:budget[held]]
        parts[held].append(windows(encode_chars(source), tags, window))
        budget[held] -= len(source)
    if not parts[False] or not parts[True]:
        raise JaxmlError("not enough tokenizable Python files for both a training and a held-out split")
    return concatenate(parts[False]), concatenate(parts[True])


def spans(tags: np.ndarray) -> set[tuple[int, int, int]]:
    """(start, end exclusive, type) of each tagged token in one tag sequence (B-X starts a token, I-X
    continues one of type X; an I-X after anything else also starts one, as in conlleval)."""
    out, start, kind = set(), None, None
    for i, t in enumerate(list(tags) + [0]):
        t = int(t)
        t_kind = (t - 1) // 2 if t > 0 else None
        continues = t > 0 and t % 2 == 0 and t_kind == kind and start is not None
        if not continues:
            if start is not None:
                out.add((start, i, kind))
            start, kind = (i, t_kind) if t > 0 else (None, None)
    return out


def span_f1(gold: np.ndarray, pred: np.ndarray, lengths: np.ndarray) -> dict[str, float]:
    """Micro precision / recall / F1 of exact (start, end, type) token spans, overall and per type."""
    counts = np.zeros((len(TOKEN_TYPES), 3))  # correct, predicted, gold
    for g, p, n in zip(gold, pred, lengths):
        gs, ps = spans(g[:n]), spans(p[:n])
        for s, c in ((gs & ps, 0), (ps, 1), (gs, 2)):
            for _, _, k in s:
                counts[k, c] += 1

    def prf(c):
        prec, rec = c[0] / max(c[1], 1), c[0] / max(c[2], 1)
        return float(prec), float(rec), float(2 * prec * rec / max(prec + rec, 1e-12))

    p, r, f = prf(counts.sum(0))
    out = {"precision": p, "recall": r, "f1": f}
    out.update({f"f1_{name}": prf(counts[k])[2] for k, name in enumerate(TOKEN_TYPES)})
    return out


# ------------------------------------------------------------------------------------ digits -> number words

SRC_PAD = 0
PAD, BOS, EOS = 0, 1, 2  # target ids; characters start at 3


def number_words(n: int, lang: str) -> str:
    try:
        from num2words import num2words
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise JaxmlError("the number-words data needs the num2words package: pip install num2words") from e
    try:
        return num2words(int(n), lang=lang)
    except NotImplementedError as e:
        raise JaxmlError(f"num2words has no language {lang!r}") from e


@dataclasses.dataclass(frozen=True)
class NumberData:
    """Per-language training pools, a test split, and the vocabularies.

    Source ids (`tokens`): 0 pad, 1..L language tags, L+1..L+10 the digits 0..9. Target ids (`targets`):
    0 pad, 1 BOS, 2 EOS, 3.. the characters of `chars`."""

    languages: tuple[str, ...]
    pools: tuple[Split, ...]  # per language: tokens int32 [n_l, S], targets int32 [n_l, U]
    test: Split  # tokens, targets, language
    src_len: int
    tgt_len: int
    chars: str

    @property
    def src_vocab(self) -> int:
        return 1 + len(self.languages) + 10

    @property
    def tgt_vocab(self) -> int:
        return 3 + len(self.chars)

    def decode_target(self, ids: np.ndarray) -> str:
        out = []
        for i in ids:
            if i == EOS or i == PAD:
                break
            if i >= 3:
                out.append(self.chars[i - 3])
        return "".join(out)


def _distinct_numbers(rng: np.random.Generator, count: int, max_digits: int) -> np.ndarray:
    """`count` distinct numbers, the digit count drawn uniformly from 1..max_digits (then the value
    uniformly among numbers with that many digits; 1 digit includes 0)."""
    if count > 10 ** max_digits:
        raise JaxmlError(f"asked for {count} distinct numbers of at most {max_digits} digits; raise max_digits")
    seen: dict[int, None] = {}
    while len(seen) < count:
        d = rng.integers(1, max_digits + 1, size=count)
        lo = np.where(d == 1, 0, 10 ** (d - 1))
        for n in rng.integers(lo, 10 ** d):
            seen.setdefault(int(n))
            if len(seen) == count:
                break
    return rng.permutation(np.array(list(seen), np.int64))  # test and training numbers: the same distribution


def number_data(languages: tuple[str, ...], train_counts: tuple[int, ...], *, test_per_language: int,
                max_digits: int, seed: int) -> NumberData:
    """For each language, `train_counts[l]` training and `test_per_language` test numbers, disjoint."""
    if len(languages) != len(train_counts) or not languages:
        raise JaxmlError(f"languages {languages} and train_counts {train_counts} must be non-empty and equally long")
    rng = np.random.default_rng(seed)
    texts, numbers = [], []
    for lang, count in zip(languages, train_counts):
        nums = _distinct_numbers(rng, int(count) + test_per_language, max_digits)
        numbers.append(nums)
        texts.append([number_words(n, lang) for n in nums])
    chars = "".join(sorted({c for ts in texts for t in ts for c in t}))
    index = {c: i + 3 for i, c in enumerate(chars)}
    src_len = 1 + max_digits
    tgt_len = -(-(max(len(t) for ts in texts for t in ts) + 2) // 8) * 8
    pools = []
    for li, (nums, ts) in enumerate(zip(numbers, texts)):
        src, tgt = np.zeros((len(nums), src_len), np.int32), np.zeros((len(nums), tgt_len), np.int32)
        for j, (n, t) in enumerate(zip(nums, ts)):
            digits = [1 + len(languages) + int(c) for c in str(int(n))]
            src[j, :1 + len(digits)] = [1 + li] + digits
            tgt[j, :len(t) + 2] = [BOS] + [index[c] for c in t] + [EOS]
        pools.append(Split(tokens=src, targets=tgt))
    held_out = np.arange(test_per_language)
    test = concatenate([p.take(held_out) for p in pools])
    test = test.replace(language=np.repeat(np.arange(len(languages), dtype=np.int32), test_per_language))
    train = tuple(p.take(np.arange(test_per_language, len(p))) for p in pools)
    return NumberData(tuple(languages), train, test, src_len, tgt_len, chars)


def language_probabilities(counts, temperature: float) -> np.ndarray:
    """Sampling probability of each language, proportional to count ** (1 / temperature) (1: proportional
    to the data, larger: flatter, towards uniform)."""
    if temperature <= 0:
        raise JaxmlError(f"sampling temperature must be positive, got {temperature}")
    p = np.asarray(counts, np.float64) ** (1.0 / temperature)
    return p / p.sum()


def resample_languages(data: NumberData, temperature: float, size: int, seed: int) -> Split:
    """A training split of `size` rows drawn language by language with `language_probabilities`; within a
    language, examples are taken in shuffled passes over its pool (so a small pool is repeated evenly)."""
    probs = language_probabilities([len(p) for p in data.pools], temperature)
    rng = np.random.default_rng(seed)
    langs = rng.choice(len(probs), size=size, p=probs)
    arrays = {k: np.zeros((size,) + v.shape[1:], v.dtype) for k, v in data.pools[0].items()}
    for li, pool in enumerate(data.pools):
        where = np.flatnonzero(langs == li)
        passes = -(-len(where) // len(pool)) if len(where) else 0
        order = np.concatenate([rng.permutation(len(pool)) for _ in range(passes)]) if passes else np.zeros(0, int)
        for k, v in arrays.items():
            v[where] = pool[k][order[:len(where)]]
    return Split(arrays, language=langs.astype(np.int32))


def chrf(hypotheses: list[str], references: list[str], *, max_order: int = 6, beta: float = 2.0) -> float:
    """Corpus chrF (Popovic 2015; the definition of sacrebleu's default chrF2): character n-grams
    (n = 1..6, whitespace removed) matched with clipped counts summed over the corpus; precision and
    recall per order, each averaged over the orders that occur in both hypotheses and references, then
    F-beta of the two averages; 0..100. As in sacrebleu, a sentence's hypothesis n-grams of an order its
    reference has none of (a reference shorter than n characters) are not counted."""
    from collections import Counter

    stats = np.zeros((max_order, 3))  # matches, hypothesis n-grams, reference n-grams
    for h, r in zip(hypotheses, references):
        h, r = "".join(h.split()), "".join(r.split())
        for n in range(1, max_order + 1):
            hc = Counter(h[i:i + n] for i in range(len(h) - n + 1))
            rc = Counter(r[i:i + n] for i in range(len(r) - n + 1))
            stats[n - 1] += [sum((hc & rc).values()), sum(hc.values()) if rc else 0, sum(rc.values())]
    used = (stats[:, 1] > 0) & (stats[:, 2] > 0)
    if not used.any():
        return 0.0
    p = float(np.mean(stats[used, 0] / stats[used, 1]))
    r = float(np.mean(stats[used, 0] / stats[used, 2]))
    return 0.0 if p + r == 0 else 100.0 * (1 + beta ** 2) * p * r / (beta ** 2 * p + r)
