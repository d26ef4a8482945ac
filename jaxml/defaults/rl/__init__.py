"""The RL agents' default configs and the runner's keys (see `jaxml.defaults`)."""
