"""The rule-based dialogue policy on SlotDialogue-v0: success rate and mean turns per confirmation
threshold (1.0, the default: confirm every slot before the offer), on many greedy episodes.

    PYTHONPATH=. python scripts/dialogue_rules.py --episodes 20000 --thresholds 1.0 0.7 0.5 0.0

Prints a markdown table; the row of threshold 1.0 is the baseline the dialogue experiments beat.
"""

from __future__ import annotations

import argparse

import jax

from jaxml.rl.envs import evaluate, make_env
from jaxml.rl.envs_dialogue import rule_policy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20_000)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[1.0, 0.8, 0.75, 0.7, 0.6, 0.5, 0.0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    env, params = make_env("SlotDialogue-v0")
    print("| confirm below | success rate | mean turns | mean return |\n|---|---|---|---|")
    for th in args.thresholds:
        out = jax.jit(lambda k: evaluate(k, lambda o, _k: rule_policy(o, env.num_slots, th), env, params,
                                         args.episodes))(jax.random.key(args.seed))
        print(f"| {th:g} | {float(out['success_rate']):.4f} | {float(out['length_mean']):.3f} | "
              f"{float(out['return_mean']):.3f} |")


if __name__ == "__main__":
    main()
