"""Where a jaxml DQN run's time goes: the whole compiled run with and without its gradient steps.

Variants of `jaxml.defaults.rl.dqn.default_config()` (PureJaxRL's CartPole hyper-parameters), each one whole
compiled run, interleaved over rounds:
- `default`: double-Q target (three forward passes per update), as `dqn_cartpole` trains;
- `vanilla`: `double_q=False` (two forward passes per update, PureJaxRL's target);
- `no-update`: `learning_starts` past the end of the run, so no gradient step runs: acting, env steps,
  replay inserts, target bookkeeping and episode statistics only.
The difference default - no-update, divided by the gradient steps taken, is the cost of one update
inside the scan; the no-update time is the floor that any update-side optimisation leaves.

    python scripts/bench_dqn_breakdown.py --steps 500000 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics

from rl_bench_common import JaxmlRun, header


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=500_000, help="env steps per training run")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    args = p.parse_args()

    from jaxml.defaults.rl import dqn

    def config(**overrides):
        c = dqn.default_config()
        c.total_env_steps = args.steps
        for k, v in overrides.items():
            c[k] = v
        return c

    variants = {"default": config(), "vanilla": config(double_q=False),
                "no-update": config(learning_starts=args.steps + 1000)}
    print(header(f"DQN CartPole-v1 time breakdown, {args.steps} env steps per run, {args.rounds} rounds"))
    runs = {name: JaxmlRun("dqn", c) for name, c in variants.items()}
    print("  compile: " + ", ".join(f"{n} {r.compile_s:.1f} s" for n, r in runs.items()))
    times = {n: [] for n in runs}
    grad_steps = {}
    for r in range(args.rounds):
        for name, run in runs.items():
            dt, state, _ = run.run(seed=r)
            times[name].append(dt)
            grad_steps[name] = int(state.grad_steps)
            print(f"  round {r} {name:10s} {dt:7.2f} s {run.env_steps / dt:9.0f} env-steps/s  "
                  f"{grad_steps[name]} gradient steps", flush=True)
    med = {n: statistics.median(t) for n, t in times.items()}
    updates = grad_steps["default"]
    print(f"  median seconds: " + ", ".join(f"{n} {t:.2f}" for n, t in med.items()))
    print(f"  no-update share of the default run: {med['no-update'] / med['default']:.0%}")
    if updates:
        for name in ("default", "vanilla"):
            per = (med[name] - med["no-update"]) / grad_steps[name] * 1e6
            print(f"  one {name} update inside the scan: {per:.0f} us ({grad_steps[name]} updates)")


if __name__ == "__main__":
    main()
