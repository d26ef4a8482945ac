"""The `jaxml` command: list | train | eval | reproduce | bench | export.

User mistakes end with one line `jaxml: error: ...` on stderr and exit code 2; a SIGTERM during
training saves a checkpoint and exits 0.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import sys
from pathlib import Path

from jaxml.errors import JaxmlError

log = logging.getLogger("jaxml")


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="[jaxml] %(message)s", stream=sys.stderr, force=True)
    for noisy in ("absl", "orbax", "jax._src", "tensorstore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def cmd_list(args) -> int:
    from jaxml import experiments
    rows = [experiments.info(n) for n in experiments.experiment_names()]
    print(f"{'experiment':<20} {'method':<17} {'data / env':<20} {'expected':<36} suites")
    for r in rows:
        print(f"{r.name:<20} {r.method:<17} {r.dataset:<20} {r.expected_text:<36} {','.join(r.suites)}")
    return 0


def cmd_train(args, overrides: list[str]) -> int:
    from jaxml import experiments
    from jaxml.core.distributed_env import distributed_requested
    from jaxml.core.run import WorkdirSession

    primary = True
    if distributed_requested():
        import jax

        from jaxml.core import parallel
        parallel.initialize_distributed()
        primary = jax.process_index() == 0
    name, _ = experiments.resolve(args.experiment)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    workdir = Path(args.workdir or f"runs/{name}-{stamp}")
    # The workdir's lock first, before the heavy imports: a busy workdir is refused at once.
    with WorkdirSession(workdir, is_primary=primary):
        name, config = experiments.load_experiment_config(args.experiment, overrides)
        log.info("experiment %s -> workdir %s", name, workdir)
        result = experiments.run_training(name, config, workdir)
    print(json.dumps(result))
    return 0


def cmd_eval(args, overrides: list[str]) -> int:
    from jaxml import experiments
    from jaxml.core import config as config_lib, parallel
    parallel.initialize_distributed()
    from jaxml.core.run import read_config_file
    workdir = Path(args.workdir)
    saved = workdir / "config.json"
    if not saved.exists():
        raise JaxmlError(f"{workdir} holds no config.json; is it a jaxml workdir?")
    config = config_lib.apply_overrides(config_lib.from_dict(read_config_file(saved)),
                                        config_lib.parse_override_args(overrides))
    module = experiments.method_module(config.method)
    if not hasattr(module, "evaluate"):
        raise JaxmlError(f"method {config.method!r} has no evaluate()")
    metrics = module.evaluate(config, workdir)
    print(json.dumps(metrics))
    return 0


def cmd_reproduce(args, overrides: list[str]) -> int:
    from jaxml.core import reproduce
    reproduce.select(args.suite, args.only)  # a typo in --only fails before a run directory is made
    dest = reproduce.destination(args.suite, record=args.record or args.record_only, out=args.out,
                                 runs_dir=args.runs_dir)
    done, table = reproduce.reproduce(args.suite, dest, overrides=overrides, only=args.only,
                                      record_only=args.record_only)
    print(table, end="")
    print(f"results: {dest.run_dir}/ (RESULTS.md, summary.txt, results/, plots/, workdirs/)" if dest.run_dir
          else f"recorded: {dest.results_md}, {dest.results_dir}/, {dest.plots_dir}/")
    return 0 if done or not args.record_only else 1


def cmd_bench(args, overrides: list[str]) -> int:
    from jaxml.core import parallel, profiling
    from jaxml.experiments import load_experiment_config
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


def _count(lo: int, hi: int):
    """An argparse type: an int in [lo, hi]."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an int in [{lo}, {hi}], got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"expected an int in [{lo}, {hi}], got {value}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jaxml", description="JAX research codebase: train, evaluate, reproduce, benchmark.")
    sub = p.add_subparsers(dest="command", required=True, metavar="{list,train,eval,reproduce,bench,export}")
    sub.add_parser("list", help="every experiment: method, dataset, expected result")
    t = sub.add_parser("train", help="train an experiment (re-running on the same workdir resumes)")
    t.add_argument("experiment", help="experiment name (see `jaxml list`) or path to a config file")
    t.add_argument("--workdir", help="default: runs/<experiment>-<timestamp>")
    e = sub.add_parser("eval", help="reload a workdir's latest checkpoint and evaluate it")
    e.add_argument("workdir")
    r = sub.add_parser("reproduce", help="run a suite: a summary table and RESULTS.md in a fresh run directory "
                                         "(--record: rewrite the tracked RESULTS.md, docs/results, docs/plots)")
    r.add_argument("--suite", default="quick", help="quick | full")
    r.add_argument("--record", action="store_true",
                   help="rewrite the tracked records: RESULTS.md (or --out FILE) and the docs/results/ and "
                        "docs/plots/ beside it")
    r.add_argument("--runs-dir", help="the experiments' workdirs (default: OUT/workdirs; with --record "
                                      "runs/reproduce)")
    r.add_argument("--out", help="without --record: the run directory (default runs/demo-<stamp> for the quick "
                                 "suite, runs/reproduce-<suite>-<stamp> otherwise); with --record: the RESULTS.md "
                                 "to rewrite (default RESULTS.md)")
    r.add_argument("--only", nargs="*", help="run only these experiments of the suite")
    r.add_argument("--record-only", action="store_true",
                   help="record runs already finished in RUNS_DIR/<experiment> (same config) instead of "
                        "training; implies --record")
    b = sub.add_parser("bench", help="compile time, step time, examples/s, FLOPs, MFU")
    b.add_argument("experiment")
    b.add_argument("--steps", type=_count(1, 100_000), default=20, help="timed steps after warm-up (1..100000)")
    b.add_argument("--warmup", type=_count(0, 10_000), default=3, help="untimed steps first (0..10000)")
    b.add_argument("--trace", help="write a jax.profiler trace to this directory")
    x = sub.add_parser("export", help="serialized inference function of a workdir (jax.export; tf/tflite via jax2tf)")
    x.add_argument("workdir")
    x.add_argument("--format", default="jax", help="jax | tf | tflite")
    x.add_argument("--out", help="default: WORKDIR/export")
    return p


def main(argv: list[str] | None = None) -> int:
    from jaxml.core.run import Preempted, install_signal_handlers

    install_signal_handlers()  # first: a SIGTERM / Ctrl-C during imports and set-up is honoured too
    from jaxml.core.platform import apply_xla_workarounds
    apply_xla_workarounds()  # before anything creates a jax backend
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
    except OSError as e:  # the file system said no (full, read-only, missing): one line, the path named
        what = e.strerror or type(e).__name__
        where = f"cannot write or read {e.filename}: {what}" if e.filename else f"{what} (while writing the run's files)"
        print(f"jaxml: error: {where}", file=sys.stderr)
        return 2
    except Preempted as e:
        log.info("%s", e)
        return e.exit_code
    except KeyboardInterrupt:
        print("jaxml: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
