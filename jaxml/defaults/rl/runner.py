"""The RL runner's keys (`jaxml.rl.runner` reads them), added to an agent's default config."""

from __future__ import annotations

import ml_collections


def with_runner_keys(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """Adds the runner's keys (and their defaults) to an agent's default config."""
    c = config
    c.num_seeds = 1
    if "parallel" not in c:
        c.parallel = ml_collections.ConfigDict()
    c.parallel.seed_devices = 1    # > 1: the seeds spread over this many devices (jaxml train makes CPU devices)
    c.seed_loop = False            # True: run the seeds one after another through an unbatched program
    c.eval_every = 50_000          # env steps per compiled chunk, then evaluate / log / checkpoint
    c.keep_checkpoints = 3
    c.checkpoint = True
    c.tensorboard = True
    return c
