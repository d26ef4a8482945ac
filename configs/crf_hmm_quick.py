"""BiLSTM-CRF tagger on sequences sampled from a known HMM, 500 steps: crf_hmm shortened for the quick suite.

crf_hmm's data (5 states, 12 symbols, lengths 20-40, 4000 train / 2000 test sequences), model (1-layer
BiLSTM, embed 32, hidden 64, CRF output) and optimizer, for 500 steps instead of 2000.

Command:   jaxml train crf_hmm_quick   (in the quick suite: make demo)
Expected:  gap_to_bayes_viterbi <= 0.01, crf_hmm's project target (docs/references.md#project-targets):
           test accuracy within 1 point of Viterbi decoding with the HMM's true parameters.
Reference: true-parameter Viterbi on the same 2000 test sequences, 0.7530 (`bayes_viterbi_accuracy`;
           max-marginal decoding, the per-token optimum, 0.7719); crf_hmm after 2000 steps: gap -0.0043
           (docs/results/crf_hmm.json).
Measured:  2026-12-01, 2-core CPU shared with other jobs: seed 0 tagger 0.7663 (gap -0.0133) in 34 s;
           seed 1 0.7659 (gap -0.0129) in 28 s.
Hardware:  2-core CPU, about half a minute; no data files needed.
"""

from pathlib import Path

from jaxml.experiments import load_module

EXPECTED = {"metric": "gap_to_bayes_viterbi", "at_most": 0.01,
            "reference": "true-parameter Viterbi on the same test sequences (bayes_viterbi_accuracy)"}
SUITES = ("quick", "full")


def get_config():
    c = load_module(Path(__file__).with_name("crf_hmm.py")).get_config()
    c.steps = 500
    c.eval_every = 500
    c.checkpoint_every = 500
    return c
