"""Sequence data for tagging and translation, generated or read from Python's own stdlib.

- `hmm`: sequences sampled from a hidden Markov model with known parameters (its true-parameter Viterbi
  decode is the ceiling a tagger is compared with).
- `pytokens`: character-level token-type tags of Python source (`tokenize`: NAME, OP, NUMBER, STRING,
  COMMENT in a B-/I- scheme, everything else O), files split into held-out and training files.
- `numbers`: digits -> number words in several languages (`num2words`), a language tag on the input.

A tagging split is a `Split` whose `images` are int32 `[N, T, 2]` (token, tag) and whose `labels`
are the sequence lengths; a translation split's `images` are int32 `[N, S + U]` (source ids, then
target ids) and its `labels` are the language index.
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
    pairs = np.stack([symbols * valid, states * valid], -1).astype(np.int32)
    return Split(pairs, lengths.astype(np.int32))


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


def windows(chars: np.ndarray, tags: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping windows [n, window, 2] (a token cut at a window start begins with its B- tag) + lengths."""
    n = -(-len(chars) // window)
    pairs = np.zeros((n, window, 2), np.int32)
    lengths = np.zeros(n, np.int32)
    for i in range(n):
        c, t = chars[i * window:(i + 1) * window], tags[i * window:(i + 1) * window].copy()
        if t[0] > 0 and t[0] % 2 == 0:
            t[0] -= 1
        pairs[i, :len(c), 0], pairs[i, :len(c), 1], lengths[i] = c, t, len(c)
    return pairs, lengths


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
    return tuple(Split(np.concatenate([p for p, _ in parts[h]]), np.concatenate([l for _, l in parts[h]]))
                 for h in (False, True))


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
