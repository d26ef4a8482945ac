"""The `jaxml` command: list | train | eval | reproduce | bench | export.

User mistakes end with one line `jaxml: error: ...` on stderr and exit code 2; a SIGTERM during
training saves a checkpoint and exits 0.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from jaxml.errors import JaxmlError

log = logging.getLogger("jaxml")


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="[jaxml] %(message)s", stream=sys.stderr, force=True)
    for noisy in ("absl", "orbax", "jax._src", "tensorstore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def load_experiment_config(name_or_path: str, overrides: list[str]):
    from jaxml import experiments
    from jaxml.core import config as config_lib

    name, path = experiments.resolve(name_or_path)
    config = config_lib.load_config_file(path)
    config = config_lib.apply_overrides(config, config_lib.parse_override_args(overrides))
    experiments.method_module(config.get("method", ""))  # validates the method name
    with config.unlocked():
        config.name = name
    return name, config


def write_json(path: Path, obj: Any) -> None:
    import jax
    if jax.process_index() != 0:
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=float) + "\n")
    os.replace(tmp, path)


def run_training(name: str, config, workdir: Path) -> dict[str, Any]:
    """Trains (or resumes) one experiment in `workdir`; writes config.json, result.json and plots."""
    import jax

    from jaxml import experiments
    from jaxml.core import config as config_lib, parallel
    from jaxml.core.plots import plot_learning_curves

    workdir.mkdir(parents=True, exist_ok=True)
    saved = workdir / "config.json"
    if saved.exists():
        old, new = json.loads(saved.read_text()), json.loads(config_lib.to_json(config))
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        if changed:
            log.warning("workdir %s holds a run with a different config (%s); resuming with the new one",
                        workdir, ", ".join(changed))
    if jax.process_index() == 0:
        saved.write_text(config_lib.to_json(config))
    # Methods without a `parallel` group run on one device (the RL runner, until multi-device lands).
    mesh = parallel.make_mesh(int(config.parallel.num_devices) if "parallel" in config else 1)
    t0 = time.time()
    metrics = experiments.train_fn(config.method)(config, workdir)
    result = {"experiment": name, "method": config.method, "steps": int(metrics.pop("steps", config.get("steps", 0))),
              "wall_s": round(time.time() - t0, 2), "devices": parallel.describe_devices(mesh),
              "jax_version": jax.__version__, **metrics}
    write_json(workdir / "result.json", result)
    if jax.process_index() == 0:
        out = workdir / "plots" / "learning_curve.png"
        if plot_learning_curves(workdir, title=name) is None:  # cross-validation: curves live in fold_k/
            folds = sorted(workdir.glob("fold_*"))
            if folds:
                plot_learning_curves(folds[0], title=f"{name} ({folds[0].name} of {len(folds)})", out=out)
    return result


def cmd_list(args) -> int:
    from jaxml import experiments
    rows = [experiments.info(n) for n in experiments.experiment_names()]
    print(f"{'experiment':<20} {'method':<17} {'data / env':<20} {'expected':<36} suites")
    for r in rows:
        print(f"{r.name:<20} {r.method:<17} {r.dataset:<20} {r.expected_text:<36} {','.join(r.suites)}")
    return 0


def cmd_train(args, overrides: list[str]) -> int:
    from jaxml.core import parallel
    parallel.initialize_distributed()
    name, config = load_experiment_config(args.experiment, overrides)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    workdir = Path(args.workdir or f"runs/{name}-{stamp}")
    log.info("experiment %s -> workdir %s", name, workdir)
    result = run_training(name, config, workdir)
    print(json.dumps(result))
    return 0


def cmd_eval(args, overrides: list[str]) -> int:
    from jaxml import experiments
    from jaxml.core import config as config_lib, parallel
    parallel.initialize_distributed()
    workdir = Path(args.workdir)
    saved = workdir / "config.json"
    if not saved.exists():
        raise JaxmlError(f"{workdir} holds no config.json; is it a jaxml workdir?")
    config = config_lib.apply_overrides(config_lib.from_json(saved.read_text()),
                                        config_lib.parse_override_args(overrides))
    module = experiments.method_module(config.method)
    if not hasattr(module, "evaluate"):
        raise JaxmlError(f"method {config.method!r} has no evaluate()")
    metrics = module.evaluate(config, workdir)
    print(json.dumps(metrics))
    return 0


def cmd_reproduce(args, overrides: list[str]) -> int:
    from jaxml.core import reproduce
    done = reproduce.run_suite(args.suite, runs_dir=Path(args.runs_dir), out=Path(args.out), overrides=overrides,
                               only=args.only, record_only=args.record_only)
    return 0 if done or not args.record_only else 1


def cmd_bench(args, overrides: list[str]) -> int:
    from jaxml.core import parallel, profiling
    parallel.initialize_distributed()
    name, config = load_experiment_config(args.experiment, overrides)
    report = profiling.bench_experiment(name, config, steps=args.steps, warmup=args.warmup,
                                        trace_dir=args.trace)
    print(profiling.format_report(report))
    print(json.dumps(report))
    return 0


def cmd_export(args, overrides: list[str]) -> int:
    from jaxml.methods.export import export_workdir
    if overrides:
        raise JaxmlError(f"jaxml export takes no overrides: {' '.join(overrides)}")
    out = export_workdir(args.workdir, args.format, args.out)
    print(json.dumps({"export_dir": str(out), "format": args.format}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jaxml", description="JAX research codebase: train, evaluate, reproduce, benchmark.")
    sub = p.add_subparsers(dest="command", required=True, metavar="{list,train,eval,reproduce,bench,export}")
    sub.add_parser("list", help="every experiment: method, dataset, expected result")
    t = sub.add_parser("train", help="train an experiment (re-running on the same workdir resumes)")
    t.add_argument("experiment", help="experiment name (see `jaxml list`) or path to a config file")
    t.add_argument("--workdir", help="default: runs/<experiment>-<timestamp>")
    e = sub.add_parser("eval", help="reload a workdir's latest checkpoint and evaluate it")
    e.add_argument("workdir")
    r = sub.add_parser("reproduce", help="run a suite and write RESULTS.md")
    r.add_argument("--suite", default="quick", help="quick | full")
    r.add_argument("--runs-dir", default="runs/reproduce")
    r.add_argument("--out", default="RESULTS.md")
    r.add_argument("--only", nargs="*", help="run only these experiments of the suite")
    r.add_argument("--record-only", action="store_true",
                   help="record runs already finished in RUNS_DIR/<experiment> (same config) instead of training")
    b = sub.add_parser("bench", help="compile time, step time, examples/s, FLOPs, MFU")
    b.add_argument("experiment")
    b.add_argument("--steps", type=int, default=20, help="timed steps after warm-up")
    b.add_argument("--warmup", type=int, default=3)
    b.add_argument("--trace", help="write a jax.profiler trace to this directory")
    x = sub.add_parser("export", help="serialized inference function of a workdir (jax.export; tf/tflite via jax2tf)")
    x.add_argument("workdir")
    x.add_argument("--format", default="jax", help="jax | tf | tflite")
    x.add_argument("--out", help="default: WORKDIR/export")
    return p


def main(argv: list[str] | None = None) -> int:
    from jaxml.core.platform import apply_xla_workarounds
    apply_xla_workarounds()  # before anything creates a jax backend
    from jaxml.core.loop import Preempted

    _setup_logging()
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    handlers = {"train": cmd_train, "eval": cmd_eval, "reproduce": cmd_reproduce, "bench": cmd_bench,
                "export": cmd_export}
    try:
        if args.command == "list":
            if rest:
                parser.error(f"unrecognized arguments: {' '.join(rest)}")
            return cmd_list(args)
        return handlers[args.command](args, rest)
    except JaxmlError as e:
        print(f"jaxml: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except Preempted as e:
        log.info("%s", e)
        return 0
    except KeyboardInterrupt:
        print("jaxml: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
