"""Hyper-parameter search across processes and machines: an Optuna study (Akiba et al. 2019,
docs/references.md) over any config key of an experiment (`jaxml tune`, and the `tune` method that
`jaxml train tune_mlp_digits` runs). Modules: `space` (the search space file and its checks), `study`
(the spec, the storage, the study), `workers` (a worker's loop: trials, heartbeats, pruning, stale
trials), `summary` (table, best.json, plots) and `search` (`jaxml tune` itself and the `tune` method).

- The search space is a Python file defining `space(trial) -> {config key: value}` (dotted keys as
  `--config.KEY` takes them). It is checked before anything is written: on a trial of an in-memory
  study, every key must be a config key and every value of that key's type.
- Each trial is an ordinary workdir, `WORKDIR/trials/NNNN`, trained by `run_training` (what `jaxml
  train` runs); the trial's `command` user attribute is the `jaxml train` command that reproduces it.
- Pruning reads the rows the loop already writes to the trial's `metrics.jsonl`: every new row of the
  objective's split (`val` for `val_accuracy`) is reported as an intermediate value; when the pruner
  says so, the trial stops at the next chunk boundary as a SIGTERM would stop it (a checkpoint is
  saved, so `jaxml train` on its workdir resumes it) and is told PRUNED.
- Storage: SQLite in the tune workdir by default (`WORKDIR/study.db`; re-running the command resumes
  the study), any SQLAlchemy URL (`postgresql://...`, `mysql://...`) or `journal:PATH` (Optuna's
  journal file, for many workers on a shared file system).
- Workers: `--workers K` starts K worker processes on the study; any number more can join from other
  machines with the same `--storage` and `--study`. The study ends at exactly `--trials` COMPLETE or
  PRUNED trials: a worker asks only while fewer are done or running, and a trial asked in a race
  beyond that is told FAIL at once (user attribute `surplus`, nothing trained).
- A killed worker (SIGKILL, a lost machine) leaves its trial RUNNING. Every running trial's worker
  writes a heartbeat (user attribute `heartbeat`, a timestamp) every `heartbeat` seconds; a worker
  that finds a RUNNING trial whose heartbeat is older than 3 intervals tells it FAIL and enqueues a
  retry with the same parameters (user attribute `retry_of`), which the next free worker takes. This
  is our own heartbeat rather than Optuna's RDB heartbeat and `RetryFailedTrialCallback` because
  Optuna's journal storage has no heartbeat: one mechanism serves every storage. A SIGTERM / Ctrl-C to
  a worker fails its trial and enqueues the retry at once.

Outputs in the tune workdir: `summary.txt` (a table of every trial), `best.json` (the best trial's
value, parameters, workdir and command), `plots/optimization_history.png` and
`plots/param_importances.png` (Optuna's fANOVA importances; matplotlib).
"""
