"""The `jaxml` command: list | show | train | eval | reproduce | bench | export | serve | tune.

User mistakes end with one line `jaxml: error: ...` on stderr and exit code 2; a SIGTERM during
training saves a checkpoint and exits 0. `--help`, `list`, `show` and the argument checks of every
command answer without importing jax (config files import only `jaxml.defaults`).
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import shutil
import sys
from pathlib import Path

from jaxml.errors import JaxmlError

log = logging.getLogger("jaxml")


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="[jaxml] %(message)s", stream=sys.stderr, force=True)
    for noisy in ("absl", "orbax", "jax._src", "tensorstore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


OVERRIDES_HELP = """\
config overrides:
  --config.KEY=VALUE  sets one key of the experiment's config (repeat it for more keys;
                      `--config.KEY VALUE` works too). KEY is a dotted path into the config
                      (model.hidden); VALUE is read as the type the key already holds: int
                      (500 or 5e2, not 0.5), float (1e-3, 2), bool (true/false), str, tuple
                      ((64,32) or 64,32) or None. A wrong key or type is refused before
                      anything runs, with the valid keys or the expected type.
  Every key and its value: `jaxml show EXPERIMENT` (it applies the overrides too).

examples:
  # an int and a float key
  jaxml train mlp_digits --config.steps=500 --config.learning_rate=1e-3
  # nested keys; a tuple written a,b
  jaxml train mlp_digits --config.model.hidden=128,64 --config.augment.shift=1
  # a tuple in parentheses (quoted for the shell) and a chosen workdir
  jaxml train cnn_digits --config.model.features='(8,16)' --workdir runs/cnn_small
"""

# `jaxml list`: (header, ExperimentInfo -> cell, narrowest width or None = never cut)
LIST_COLUMNS = (
    ("experiment", lambda r: r.name, None),
    ("method", lambda r: r.method, None),
    ("data / env", lambda r: r.dataset, 8),
    ("expected", lambda r: r.expected_text, 12),
    ("suites", lambda r: ",".join(r.suites) or "none", None),
)


def _table_width() -> int | None:
    """The terminal's width (`$COLUMNS` first), or None (no limit) when stdout is a pipe or file."""
    if "COLUMNS" not in os.environ and not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size().columns


def cmd_list(args) -> int:
    from jaxml import experiments
    from jaxml.text_table import render

    rows = [[get(r) or "-" for _, get, _ in LIST_COLUMNS]
            for r in (experiments.info(n) for n in experiments.experiment_names())]
    width = _table_width()
    lines = render([h for h, _, _ in LIST_COLUMNS], rows, width=width or 10**6,
                   minimum=[m for _, _, m in LIST_COLUMNS])
    print("\n".join(lines))
    return 0


def cmd_show(args, overrides: list[str]) -> int:
    from jaxml import experiments
    from jaxml.core.config import flat_items

    name, config = experiments.load_experiment_config(args.experiment, overrides)
    about = experiments.info(args.experiment)
    expected = about.expected
    path = about.path.resolve()
    shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
    print(f"experiment  {name}  ({shown})")
    print(f"EXPECTED    {about.expected_text or 'none'}")
    if expected.get("reference"):
        print(f"            reference: {expected['reference']}")
    print(f"SUITES      {', '.join(about.suites) or 'none (run it with jaxml train)'}")
    print("\nconfig (set any key with --config.KEY=VALUE; `jaxml train --help` shows how):")
    items = flat_items(config)
    width = max(len(k) for k, _ in items)
    for key, value in items:
        print(f"  {key:<{width}}  {value!r}")
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
    # The config (light: no jax) and the workdir's lock come before the heavy imports: a bad
    # override or a busy workdir is refused at once, and a refused config leaves no workdir.
    name, config = experiments.load_experiment_config(args.experiment, overrides)
    from jaxml.core.platform import devices_requested, request_host_devices
    request_host_devices(devices_requested(config))  # before jax starts: CPU devices the config spreads over
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    workdir = Path(args.workdir or f"runs/{name}-{stamp}")
    with WorkdirSession(workdir, is_primary=primary):
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


def cmd_serve(args, overrides: list[str]) -> int:
    from jaxml.serve.options import ServeOptions, parse_buckets
    if overrides:
        raise JaxmlError(f"jaxml serve takes no overrides: {' '.join(overrides)}")
    # The flags and the path are checked before jax is imported: a mistake is refused at once.
    options = ServeOptions(buckets=parse_buckets(args.buckets), max_batch=args.max_batch,
                           max_wait_ms=args.max_wait_ms, timeout_s=args.timeout_s,
                           max_body_bytes=int(args.max_body_mb * 2**20), max_request_rows=args.max_request_rows)
    if not Path(args.path).exists():
        raise JaxmlError(f"{args.path} does not exist; give a workdir of `jaxml train` or a `jaxml export` directory")
    from jaxml.serve.server import serve
    serve(args.path, options, host=args.host, port=args.port)
    return 0


def cmd_tune(args, overrides: list[str]) -> int:
    from jaxml import experiments
    from jaxml.tune.search import tune
    from jaxml.tune.study import TuneSpec
    name, _ = experiments.resolve(args.experiment)
    spec = TuneSpec(experiment=args.experiment, space=args.space, trials=args.trials,
                    workdir=Path(args.workdir or f"runs/tune-{name}"), overrides=tuple(overrides),
                    metric=args.metric or "",
                    direction=args.direction, storage=args.storage or "", study=args.study or "", workers=args.workers,
                    heartbeat_s=args.heartbeat, seed=args.seed)
    out = tune(spec, summary=not args.no_summary)
    if out:
        print(json.dumps(out, default=str))
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


COMMANDS = ("list", "show", "train", "eval", "reproduce", "bench", "export", "serve", "tune")
EXPERIMENT_HELP = "experiment name (see `jaxml list`) or path to a config file"


def _subcommand(sub, name: str, summary: str, *, overrides: bool = False, usage: str | None = None):
    """A subparser; one that takes `--config.KEY=VALUE` overrides explains them in its epilog."""
    return sub.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".", usage=usage,
                          epilog=OVERRIDES_HELP if overrides else None,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jaxml", description="JAX research codebase: train, evaluate, reproduce, benchmark.",
                                epilog="`jaxml COMMAND --help` explains a command; `jaxml list` lists the experiments "
                                       "and `jaxml show EXPERIMENT` prints one's config.")
    sub = p.add_subparsers(dest="command", required=True, metavar="{" + ",".join(COMMANDS) + "}",
                           help="what to do")
    _subcommand(sub, "list", "every experiment: method, data or env, expected result, suites")
    s = _subcommand(sub, "show", "an experiment's full config (with any --config overrides), EXPECTED and SUITES",
                    overrides=True, usage="jaxml show [-h] EXPERIMENT [--config.KEY=VALUE ...]")
    s.add_argument("experiment", metavar="EXPERIMENT", help=EXPERIMENT_HELP)
    t = _subcommand(sub, "train", "train an experiment (re-running on the same workdir resumes)", overrides=True,
                    usage="jaxml train [-h] [--workdir DIR] EXPERIMENT [--config.KEY=VALUE ...]")
    t.add_argument("experiment", metavar="EXPERIMENT", help=EXPERIMENT_HELP)
    t.add_argument("--workdir", metavar="DIR",
                   help="where checkpoints, metrics and results go (default: runs/<experiment>-<timestamp>)")
    e = _subcommand(sub, "eval", "reload a workdir's latest checkpoint and evaluate it", overrides=True,
                    usage="jaxml eval [-h] WORKDIR [--config.KEY=VALUE ...]")
    e.add_argument("workdir", metavar="WORKDIR",
                   help="a workdir of `jaxml train` (its config.json and checkpoints); overrides apply to its config")
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
    b.add_argument("experiment", help=EXPERIMENT_HELP)
    b.add_argument("--steps", type=_count(1, 100_000), default=20, help="timed steps after warm-up (1..100000)")
    b.add_argument("--warmup", type=_count(0, 10_000), default=3, help="untimed steps first (0..10000)")
    b.add_argument("--trace", help="write a jax.profiler trace to this directory")
    x = _subcommand(sub, "export", "serialized inference function of a workdir (jax.export; ONNX; tf/tflite via "
                                   "jax2tf)")
    x.add_argument("workdir", metavar="WORKDIR", help="a finished workdir of `jaxml train` (its newest checkpoint)")
    x.add_argument("--format", default="jax",
                   help="jax (a jax.export artifact) | onnx (model.onnx, checked with onnxruntime) | tf (a TF "
                        "SavedModel) | tflite (a .tflite file); default: jax")
    x.add_argument("--out", metavar="DIR", help="directory to write the export to (default: WORKDIR/export)")
    v = _subcommand(sub, "serve", "serve a workdir or a `jaxml export` directory over HTTP with dynamic batching "
                                  "(docs/serving.md)")
    v.add_argument("path", metavar="WORKDIR_OR_ARTIFACT",
                   help="a workdir of `jaxml train` (newest checkpoint) or a `jaxml export --format jax` directory")
    v.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    v.add_argument("--port", type=_count(0, 65535), default=8000, help="port to listen on (default 8000)")
    v.add_argument("--buckets", default="1,8,32,128",
                   help="compiled batch sizes, warmed at start-up; a batch is padded to the smallest that holds "
                        "it (default 1,8,32,128)")
    v.add_argument("--max-batch", type=_count(1, 65536), default=None,
                   help="most rows gathered into one batch (default: the largest bucket)")
    v.add_argument("--max-wait-ms", type=float, default=5.0,
                   help="how long a batch waits for more requests after its first (default 5)")
    v.add_argument("--timeout-s", type=float, default=30.0, help="per-request timeout, 504 after it (default 30)")
    v.add_argument("--max-body-mb", type=float, default=16.0, help="largest request body, 413 above it (default 16)")
    v.add_argument("--max-request-rows", type=_count(1, 65536), default=None,
                   help="most rows in one request, 413 above it (default: --max-batch)")
    u = _subcommand(sub, "tune", "an Optuna study over any config key: each trial a workdir of `jaxml train` "
                                 "(docs/tuning.md)", overrides=True,
                    usage="jaxml tune [-h] EXPERIMENT --space FILE --trials N [--storage URL] [--study NAME] "
                          "[--workers K] [--workdir DIR] [--config.KEY=VALUE ...]")
    u.add_argument("experiment", metavar="EXPERIMENT", help=EXPERIMENT_HELP)
    u.add_argument("--space", required=True, metavar="FILE",
                   help="a Python file defining space(trial) -> {config key: value} "
                        "(e.g. configs/spaces/mlp_digits.py)")
    u.add_argument("--trials", type=_count(1, 1_000_000), required=True,
                   help="the study ends at this many COMPLETE or PRUNED trials (all workers together)")
    u.add_argument("--storage", metavar="URL",
                   help="sqlite:///FILE, another SQLAlchemy URL (postgresql://...) or journal:FILE (default: "
                        "sqlite in WORKDIR/study.db; the same command resumes the study)")
    u.add_argument("--study", metavar="NAME", help="the study's name in the storage (default: the experiment's)")
    u.add_argument("--workers", type=_count(1, 256), default=1, help="worker processes on this machine (default 1)")
    u.add_argument("--workdir", metavar="DIR", help="the study's directory, trials in DIR/trials/NNNN "
                                                    "(default: runs/tune-<experiment>)")
    u.add_argument("--metric", help="the result key to optimise (default: the experiment's EXPECTED metric)")
    u.add_argument("--direction", default="maximize", help="maximize | minimize (default maximize; an EXPECTED "
                                                           "at_most metric: minimize)")
    u.add_argument("--heartbeat", type=float, default=30.0, metavar="S",
                   help="seconds between a running trial's heartbeats; a trial silent for 3 is failed and retried")
    u.add_argument("--seed", type=int, default=None, help="the sampler's seed (default: one per worker process)")
    u.add_argument("--no-summary", action="store_true", help=argparse.SUPPRESS)
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
    handlers = {"show": cmd_show, "train": cmd_train, "eval": cmd_eval, "reproduce": cmd_reproduce,
                "bench": cmd_bench, "export": cmd_export, "serve": cmd_serve, "tune": cmd_tune}
    try:
        if args.command == "list":
            if rest:
                parser.error(f"unrecognized arguments: {' '.join(rest)}")
            return cmd_list(args)
        return handlers[args.command](args, rest)
    except JaxmlError as e:
        print(f"jaxml: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `jaxml list | head`: the reader has gone; nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush is quiet
        return 141  # 128 + SIGPIPE, as a process killed by it
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
