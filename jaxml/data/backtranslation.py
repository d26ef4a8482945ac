"""Data for back-translation on the numbers task (`sequences.number_data`): target-side monolingual
text of one language, the reversed task (number words -> digits) and the synthetic pairs a reverse
model's outputs make.

Ids of the reversed task. Source: 0 pad, 1..L the language tags, L+1.. the characters of the forward
task's `chars` (in that order). Target: 0 pad, 1 BOS, 2 EOS, 3..12 the digits 0..9.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxml.data import sequences
from jaxml.data.datasets import Split
from jaxml.data.sequences import BOS, EOS, NumberData

DIGIT0 = 3  # target id of the digit 0 in the reversed task


@dataclasses.dataclass(frozen=True)
class Vocab:
    """What a `seq2seq.Translator` needs of a direction: vocabulary sizes and sequence lengths."""

    src_vocab: int
    tgt_vocab: int
    src_len: int
    tgt_len: int


def source_numbers(data: NumberData, tokens: np.ndarray) -> list[int]:
    """The numbers the forward source rows `tokens` [N, S] spell (tag, then digit ids)."""
    first_digit = 1 + len(data.languages)
    return [int("".join(str(int(t) - first_digit) for t in row[1:] if t)) for row in tokens]


def forward_sources(data: NumberData, language: int, numbers: list[int]) -> np.ndarray:
    """Forward source rows [N, S] (language tag + digit ids) of `numbers`."""
    out = np.zeros((len(numbers), data.src_len), np.int32)
    for j, n in enumerate(numbers):
        digits = [1 + len(data.languages) + int(c) for c in str(int(n))]
        out[j, :1 + len(digits)] = [1 + language] + digits
    return out


def monolingual_targets(data: NumberData, language: int, count: int, seed: int) -> tuple[np.ndarray, list[int]]:
    """Up to `count` forward target rows [M, U] (BOS words EOS) of `language`: the number words of
    numbers that are neither in its test split nor its training pool, drawn with numpy's
    default_rng(seed); words with a character outside the forward vocabulary, or too long for its
    target length, are left out. Also the numbers themselves (kept only to score the reverse model;
    back-translation never sees them)."""
    lang = data.languages[language]
    taken = set(source_numbers(data, data.pools[language]["tokens"]))
    taken |= set(source_numbers(data, data.test["tokens"][data.test["language"] == language]))
    max_digits = data.src_len - 1
    candidates = [n for n in np.random.default_rng(seed).permutation(10 ** max_digits) if int(n) not in taken]
    index = {c: i + 3 for i, c in enumerate(data.chars)}
    rows, numbers = [], []
    for n in candidates:
        words = sequences.number_words(int(n), lang)
        if len(words) + 2 > data.tgt_len or any(c not in index for c in words):
            continue
        row = np.zeros(data.tgt_len, np.int32)
        row[:len(words) + 2] = [BOS] + [index[c] for c in words] + [EOS]
        rows.append(row)
        numbers.append(int(n))
        if len(rows) == count:
            break
    return np.stack(rows) if rows else np.zeros((0, data.tgt_len), np.int32), numbers


def reverse_vocab(data: NumberData) -> Vocab:
    tgt_len = -(-(data.src_len - 1 + 2) // 8) * 8  # BOS digits EOS, rounded up to 8
    return Vocab(src_vocab=1 + len(data.languages) + len(data.chars), tgt_vocab=DIGIT0 + 10,
                 src_len=data.tgt_len - 1, tgt_len=tgt_len)


def reverse_sources(data: NumberData, language: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Reversed-task source rows [N, U - 1]: the language tag, then the characters of the forward
    target rows `targets` [N, U] (BOS dropped, EOS and padding to 0)."""
    chars = targets[:, 1:]
    body = np.where(chars >= 3, chars - 3 + 1 + len(data.languages), 0)
    out = np.zeros((len(targets), data.tgt_len - 1), np.int32)
    out[:, 0] = 1 + np.asarray(language)
    out[:, 1:] = body[:, :-1]
    return out


def reverse_split(data: NumberData, split: Split, language: np.ndarray) -> Split:
    """The reversed task's split of forward pairs `split` (tokens, targets) of languages `language` [N]."""
    vocab = reverse_vocab(data)
    targets = np.zeros((len(split), vocab.tgt_len), np.int32)
    for j, n in enumerate(source_numbers(data, split["tokens"])):
        digits = [DIGIT0 + int(c) for c in str(n)]
        targets[j, :len(digits) + 2] = [BOS] + digits + [EOS]
    return Split(tokens=reverse_sources(data, language, split["targets"]), targets=targets,
                 language=np.asarray(language, np.int32))


def reverse_data(data: NumberData) -> NumberData:
    """The whole reversed task as a `NumberData` (same languages, pools and test split reversed), so the
    forward task's sampling (`sequences.resample_languages`) applies to it unchanged."""
    pools = tuple(reverse_split(data, pool, np.full(len(pool), li)) for li, pool in enumerate(data.pools))
    vocab = reverse_vocab(data)
    return dataclasses.replace(data, pools=pools, test=reverse_split(data, data.test, data.test["language"]),
                               src_len=vocab.src_len, tgt_len=vocab.tgt_len)


def decode_number(ids: np.ndarray) -> int | None:
    """The number a reversed-task output (ids after BOS) spells, or None if it is not one (no digit,
    a non-digit id before EOS, or a leading zero)."""
    digits = []
    for i in ids:
        if i == EOS or i == 0:
            break
        if not DIGIT0 <= i < DIGIT0 + 10:
            return None
        digits.append(str(int(i) - DIGIT0))
    text = "".join(digits)
    if not text or (len(text) > 1 and text[0] == "0"):
        return None
    return int(text)


def with_synthetic_pairs(data: NumberData, language: int, sources: np.ndarray, targets: np.ndarray) -> NumberData:
    """`data` with the pairs (sources, targets) appended to `language`'s training pool."""
    pool = data.pools[language]
    grown = Split(tokens=np.concatenate([pool["tokens"], sources]), targets=np.concatenate([pool["targets"], targets]))
    pools = tuple(grown if li == language else p for li, p in enumerate(data.pools))
    return dataclasses.replace(data, pools=pools)
