"""Back-translation (Sennrich, Haddow & Birch 2016) for the low-resource language of the numbers task
(`seq2seq`: digits -> number words, a language tag on the input).

Target-side monolingual text of the low-resource language -- number words only, the numbers never
shown -- becomes synthetic training pairs:
1. a reverse model (number words -> digits; the same encoder-decoder) is trained on every language's
   real pairs, reversed, with the forward task's temperature sampling;
2. it translates `config.backtranslation.monolingual` sentences of the low-resource language (beam
   search); each output that spells a number becomes the source of a pair whose target is the real
   sentence (the noisy side is the source, so the decoder only ever learns to write real text);
3. forward models are trained with and without those pairs added to the low-resource pool, the same
   temperature sampling (`config.sampling_temperature`) and schedule, for `config.num_seeds` seeds.

result.json: for the low-resource language `exact_match_<lang>` / `chrf_<lang>` of the baseline and
the back-translation models (`..._baseline_*`, `..._backtranslation_*`: per_seed, mean, std), their
differences of the means (`exact_match_gain`, `chrf_gain`), the high-resource languages' lowest exact
match for both, `synthetic_pairs` (kept outputs), `synthetic_source_accuracy` (the fraction of kept
synthetic sources that are the sentence's true number: a diagnostic the method never uses) and the
reverse model's exact match on the low-resource test sentences (`reverse_exact_match`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import jax
import ml_collections
import numpy as np

from jaxml.core import loop
from jaxml.core.config import check_int
from jaxml.data import backtranslation, sequences
from jaxml.methods import seq2seq

log = logging.getLogger("jaxml")


def train_reverse(config: ml_collections.ConfigDict, data: sequences.NumberData, workdir: Path):
    """The reverse model (words -> digits) and its params, trained in `workdir` for
    `config.backtranslation.reverse_steps` steps."""
    reverse = backtranslation.reverse_data(data)
    model = seq2seq.Translator(config, backtranslation.reverse_vocab(data))
    rc = config.copy_and_resolve_references()
    rc.steps = int(config.backtranslation.reverse_steps)
    size = rc.steps * int(rc.batch_size)
    split = sequences.resample_languages(reverse, float(config.sampling_temperature), size, int(config.data_seed))
    state, _ = loop.run(seq2seq.make_recipe(rc, model, split, {"test": reverse.test}), rc, workdir, desc="reverse")
    return model, reverse, jax.device_get(state.params)


def back_translate(config, model, params, data, low: int, targets: np.ndarray) -> list[int | None]:
    """The number the reverse model reads in each forward target row (None when its output is not one)."""
    src = backtranslation.reverse_sources(data, np.full(len(targets), low), targets)
    width = int(config.beam_width)
    tokens, _ = seq2seq.batched(lambda s: model.beam_jit(params, s, width), src, int(config.eval_batch_size))
    return [backtranslation.decode_number(t) for t in tokens]


def spread(prefix: str, values: list[float]) -> dict[str, Any]:
    return {f"{prefix}_per_seed": values, f"{prefix}_mean": float(np.mean(values)), f"{prefix}_std": float(np.std(values))}


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    seq2seq.check_config(config)
    bt = config.backtranslation
    check_int(bt.monolingual, "config.backtranslation.monolingual", 1)
    check_int(bt.reverse_steps, "config.backtranslation.reverse_steps", 1)
    check_int(config.num_seeds, "config.num_seeds", 1)
    workdir = Path(workdir)
    data = seq2seq.load_data(config)
    counts = [len(p) for p in data.pools]
    low = int(np.argmin(counts))
    lang = data.languages[low]

    reverse_model, reverse, reverse_params = train_reverse(config, data, workdir / "reverse")
    test_low = reverse.test["language"] == low
    read_test = back_translate(config, reverse_model, reverse_params, data, low, data.test["targets"][test_low])
    true_test = backtranslation.source_numbers(data, data.test["tokens"][test_low])
    mono, mono_numbers = backtranslation.monolingual_targets(data, low, int(bt.monolingual), int(config.data_seed))
    read = back_translate(config, reverse_model, reverse_params, data, low, mono)
    keep = [i for i, n in enumerate(read) if n is not None and len(str(n)) <= data.src_len - 1]
    sources = backtranslation.forward_sources(data, low, [read[i] for i in keep])
    augmented = backtranslation.with_synthetic_pairs(data, low, sources, mono[keep])
    out: dict[str, Any] = {
        "low_resource_language": lang, "train_counts": dict(zip(data.languages, counts)),
        "monolingual_sentences": len(mono), "synthetic_pairs": len(keep),
        "synthetic_source_accuracy": float(np.mean([read[i] == mono_numbers[i] for i in keep])) if keep else 0.0,
        "reverse_exact_match": float(np.mean([r == t for r, t in zip(read_test, true_test)])),
    }
    log.info("back-translation: %d of %d %s sentences kept, %.3f of them read right; reverse model exact match %.3f",
             len(keep), len(mono), lang, out["synthetic_source_accuracy"], out["reverse_exact_match"])

    model = seq2seq.Translator(config, data)
    high = seq2seq.high_resource(data)
    temp = float(config.sampling_temperature)
    runs: dict[str, dict[str, list[float]]] = {}
    for variant, variant_data in (("baseline", data), ("backtranslation", augmented)):
        for s in range(int(config.num_seeds)):
            c = config.copy_and_resolve_references()
            c.seed = int(config.seed) + s
            _, _, _, m = seq2seq.train_and_score(c, model, variant_data, temp, workdir / f"{variant}_seed{c.seed}",
                                                 f"{variant} seed {c.seed}")
            row = runs.setdefault(variant, {})
            for key in (f"exact_match_{lang}", f"chrf_{lang}"):
                row.setdefault(key, []).append(m[key])
            row.setdefault("exact_match_high_min", []).append(min(m[f"exact_match_{l}"] for l in high))
            log.info("%s seed %d: %s exact match %.3f, chrF %.1f", variant, c.seed, lang,
                     m[f"exact_match_{lang}"], m[f"chrf_{lang}"])
    for variant, row in runs.items():
        for key, values in row.items():
            out.update(spread(f"{key}_{variant}", values))
    for metric in ("exact_match", "chrf"):
        out[f"{metric}_gain"] = out[f"{metric}_{lang}_backtranslation_mean"] - out[f"{metric}_{lang}_baseline_mean"]
    out["steps"] = int(config.steps)
    return out
