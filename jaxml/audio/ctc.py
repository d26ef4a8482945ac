"""CTC (Graves et al. 2006, docs/references.md#speech): the loss is optax's `ctc_loss`; here its
decoders and the error rates, on the host (numpy / plain Python).

- `greedy_decode`: the best path (argmax per frame), repeats collapsed, blanks dropped;
- `prefix_beam_search`: CTC prefix beam search over the per-frame log-probabilities, keeping for each
  prefix the probability of ending in a blank and in a non-blank;
- `edit_distance` (Levenshtein: insertions, deletions, substitutions at cost 1), `error_rate`
  (character or word error rate: summed edits / summed reference lengths).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def collapse(path: Sequence[int], blank: int = 0) -> list[int]:
    """A frame path's labelling: repeats merged, then blanks removed ("aa_ab" -> "aab")."""
    out, prev = [], None
    for s in path:
        s = int(s)
        if s != prev and s != blank:
            out.append(s)
        prev = s
    return out


def greedy_decode(log_probs: np.ndarray, lengths: np.ndarray, blank: int = 0) -> list[list[int]]:
    """[B, T, K] scores and valid lengths [B] -> the best-path labelling of each example."""
    best = np.asarray(log_probs).argmax(-1)
    return [collapse(best[b, :int(lengths[b])], blank) for b in range(best.shape[0])]


def _logsumexp(a: float, b: float) -> float:
    if a == -np.inf:
        return b
    if b == -np.inf:
        return a
    m = max(a, b)
    return m + float(np.log(np.exp(a - m) + np.exp(b - m)))


def prefix_beam_search(log_probs: np.ndarray, beam: int = 8, blank: int = 0) -> list[int]:
    """The most probable labelling of one [T, K] log-probability matrix found by CTC prefix beam search
    (exact when `beam` covers every prefix)."""
    beams: dict[tuple, tuple[float, float]] = {(): (0.0, -np.inf)}  # prefix -> (log P ends in blank, in label)
    for t in range(log_probs.shape[0]):
        lp = log_probs[t]
        nxt: dict[tuple, list[float]] = {}

        def add(prefix, pb, pnb):
            cur = nxt.setdefault(prefix, [-np.inf, -np.inf])
            cur[0], cur[1] = _logsumexp(cur[0], pb), _logsumexp(cur[1], pnb)

        for prefix, (pb, pnb) in beams.items():
            total = _logsumexp(pb, pnb)
            add(prefix, total + lp[blank], -np.inf)
            for k in range(log_probs.shape[1]):
                if k == blank:
                    continue
                if prefix and prefix[-1] == k:
                    add(prefix, -np.inf, pnb + lp[k])           # repeat without a blank: same prefix
                    add(prefix + (k,), -np.inf, pb + lp[k])     # after a blank: a new label
                else:
                    add(prefix + (k,), -np.inf, total + lp[k])
        ranked = sorted(nxt.items(), key=lambda kv: -_logsumexp(*kv[1]))[:beam]
        beams = {p: (v[0], v[1]) for p, v in ranked}
    return list(max(beams.items(), key=lambda kv: _logsumexp(*kv[1]))[0])


def edit_distance(ref: Sequence, hyp: Sequence) -> int:
    """Levenshtein distance between two sequences (the Wagner-Fischer table, one row at a time)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i]
        for j, h in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h)))
        prev = cur
    return prev[-1]


def error_rate(refs: Sequence[Sequence], hyps: Sequence[Sequence]) -> float:
    """Summed edit distances over summed reference lengths (CER on characters, WER on word lists)."""
    edits = sum(edit_distance(r, h) for r, h in zip(refs, hyps))
    return edits / max(sum(len(r) for r in refs), 1)
