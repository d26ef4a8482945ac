"""A hand-written memoryless policy for gymnax's PointRobot-misc: go to the goal circle (radius 1) and
run along it counter-clockwise at a fixed speed. It passes within 0.2 of every point of the upper
semicircle, where the goals are, so its greedy success rate is the ceiling for any policy that
sweeps; its return (goal visits per 100-step episode) is what a full sweep earns. ppo_pointrobot's
greedy policy is compared with both in docs/rl.md.

    python scripts/pointrobot_sweep.py --episodes 2000
"""

from __future__ import annotations

import argparse

import gymnax
import jax
import jax.numpy as jnp


def sweep_action(obs: jax.Array, speed: float, gain: float, max_force: float) -> jax.Array:
    """Radial correction towards radius 1 (proportional, `gain`) plus `speed` along the tangent."""
    pos = obs[:2]
    r = jnp.linalg.norm(pos) + 1e-6
    radial = pos / r
    tangent = jnp.array([-radial[1], radial[0]])
    return jnp.clip(radial * gain * (1.0 - r) + tangent * speed, -max_force, max_force)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--episodes", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    env, params = gymnax.make("PointRobot-misc")
    steps = int(params.max_steps_in_episode)

    def episode(key, speed, gain):
        k_reset, k_steps = jax.random.split(key)
        obs, state = env.reset(k_reset, params)

        def body(carry, k):
            obs, state, ret = carry
            out = env.step(k, state, sweep_action(obs, speed, gain, params.max_force), params)
            return (out[0], out[1], ret + out[2]), None

        (_, _, ret), _ = jax.lax.scan(body, (obs, state, jnp.float32(0.0)), jax.random.split(k_steps, steps))
        return ret

    keys = jax.random.split(jax.random.key(args.seed), args.episodes)
    run = jax.jit(jax.vmap(episode, in_axes=(0, None, None)))
    print(f"PointRobot-misc, {args.episodes} episodes of {steps} steps, max force {params.max_force}")
    print("| tangential speed | radial gain | success | return (goal visits) |")
    print("|---|---|---|---|")
    for speed in (0.05, 0.1, 0.14):
        for gain in (0.5, 1.0):
            rets = run(keys, speed, gain)
            print(f"| {speed} | {gain} | {float((rets > 0).mean()):.3f} | {float(rets.mean()):.2f} |")


if __name__ == "__main__":
    main()
