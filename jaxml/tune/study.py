"""One Optuna study of `jaxml tune`: its spec, the checks before anything is written, and the storage."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import ml_collections

from jaxml.errors import JaxmlError
from jaxml.tune.space import check_space, load_space

log = logging.getLogger("jaxml")

DIRECTIONS = ("maximize", "minimize")


@dataclasses.dataclass
class TuneSpec:
    """One study: the experiment and its base overrides, the space file, the objective and where it lives."""

    experiment: str
    space: str
    trials: int
    workdir: Path
    overrides: tuple[str, ...] = ()
    metric: str = ""
    direction: str = "maximize"
    storage: str = ""
    study: str = ""
    workers: int = 1
    heartbeat_s: float = 30.0
    seed: int | None = None  # the sampler's seed; None: one per worker process

    def storage_url(self) -> str:
        return self.storage or f"sqlite:///{(self.workdir / 'study.db').absolute()}"

    def study_name(self) -> str:
        return self.study or Path(self.experiment).stem


def prepare(spec: TuneSpec) -> tuple[TuneSpec, ml_collections.ConfigDict]:
    """Checks everything a worker will need (experiment, overrides, space, objective) before anything
    is written; fills in the default metric (the experiment's EXPECTED metric) and direction."""
    from jaxml import experiments

    if spec.direction not in DIRECTIONS:
        raise JaxmlError(f"--direction {spec.direction!r} is not valid; choose one of {', '.join(DIRECTIONS)}")
    if spec.trials < 1 or spec.workers < 1 or not spec.heartbeat_s > 0:
        raise JaxmlError(f"--trials ({spec.trials}) and --workers ({spec.workers}) must be >= 1 and --heartbeat "
                         f"({spec.heartbeat_s}) > 0")
    _, config = experiments.load_experiment_config(spec.experiment, list(spec.overrides))
    check_space(load_space(spec.space), config, f"search space {spec.space}")
    if not spec.metric:
        expected = experiments.info(spec.experiment).expected
        if not expected.get("metric"):
            raise JaxmlError(f"{spec.experiment} has no EXPECTED metric; give the objective with --metric")
        spec = dataclasses.replace(spec, metric=str(expected["metric"]),
                                   direction="minimize" if "at_most" in expected else spec.direction)
    if spec.metric.startswith("test_"):
        log.warning("tuning on %s: the test split chooses the trial (hold out a validation split and tune on "
                    "val_* instead)", spec.metric)
    return spec, config


def open_storage(spec: TuneSpec):
    import optuna

    url = spec.storage_url()
    if url.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend
        path = Path(url[len("journal:"):])
        path.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        # SQLite serialises writers; wait for the lock instead of failing while another worker writes
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    return optuna.storages.RDBStorage(url)


def open_study(spec: TuneSpec):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=os.getpid() if spec.seed is None else spec.seed)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)
    try:
        study = optuna.create_study(storage=open_storage(spec), study_name=spec.study_name(), sampler=sampler,
                                    pruner=pruner, direction=spec.direction, load_if_exists=True)
    except ValueError as e:  # e.g. the stored study's direction differs
        raise JaxmlError(f"study {spec.study_name()!r} in {spec.storage_url()}: {e}") from None
    # A study resumes only the search it began: the same experiment, base overrides and objective.
    what = {"experiment": spec.experiment, "overrides": list(spec.overrides), "metric": spec.metric}
    stored = study.user_attrs.get("search")
    if stored is None:
        study.set_user_attr("search", what)
    elif stored != what:
        raise JaxmlError(f"study {spec.study_name()!r} in {spec.storage_url()} was begun with {stored}, not "
                         f"{what}; give another --study or --workdir")
    return study
