"""Run every benchmark, print the table, write results/latest.json and
results/ratios.png; exit 1 if a bar fails (an aim only reports).

    python -m benchmarks.run [--rounds N] [--threads N] [--with-suite] [--no-fail]
"""

import argparse
import datetime
import importlib
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks import keras_metrics, report, snapshot, timing, tool_metrics
from benchmarks.layers import DENSE_SPEC, generate

RESULTS = Path(__file__).resolve().parent / "results"
PACKAGES = ("keras", "tensorflow", "copier", "numpy", "h5py")


def parser():
    cli = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=" ".join(__doc__.split("\n\n")[0].split())
    )
    cli.add_argument(
        "--rounds", type=int, default=15, help="interleaved rounds per comparison (default 15)"
    )
    cli.add_argument(
        "--threads",
        type=int,
        default=1,
        help="TensorFlow threads per op (default 1; 0: one per core, see keras_metrics.use_threads)",
    )
    cli.add_argument(
        "--with-suite",
        action="store_true",
        help="also time this repo's `python -m pytest -q` (minutes)",
    )
    cli.add_argument(
        "--no-fail", action="store_true", help="report only: exit 0 even if a bar fails"
    )
    cli.add_argument(
        "--output", type=Path, default=RESULTS, help=f"where results go (default {RESULTS})"
    )
    return cli


def measure(work, rounds, with_suite):
    progress("rendering the layer with Copier")
    template = snapshot.snapshot(work / "template")
    generated = generate(template, work / "generated")
    spec = work / "spec.yml"
    spec.write_text(yaml.safe_dump(DENSE_SPEC, sort_keys=False))
    progress("fit")
    rows = keras_metrics.fit_rows(generated, rounds)
    progress("eager calls")
    rows += keras_metrics.eager_rows(generated, rounds)
    progress("saving")
    rows += keras_metrics.saving_rows(generated, rounds)
    progress("copier copy")
    floor = snapshot.trivial_template(work / "trivial")
    rows.append(tool_metrics.copier_row(template, floor, work, rounds))
    progress("update --all")
    rows.append(tool_metrics.update_all_row(template, work / "update-all"))
    progress("generator check")
    rows += tool_metrics.check_rows(spec, rounds, work)
    if with_suite:
        progress("the repo's test suite")
    rows.append(tool_metrics.suite_row(with_suite))
    return rows


def progress(step):
    # stderr, so that stdout is the table alone.
    print(f"measuring: {step}", file=sys.stderr, flush=True)


def machine():
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    cpu = models[0] if models else platform.processor()
    return {
        "cpu": cpu,
        "nproc": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg(),
    }


def facts(args):
    return {
        "command": " ".join(["python -m benchmarks.run", *sys.argv[1:]]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "checkout": snapshot.describe(),
        "rounds": args.rounds,
        "tensorflow_threads_per_op": args.threads,
        "versions": {"python": platform.python_version()}
        | {name: importlib.import_module(name).__version__ for name in PACKAGES},
        "machine": machine(),
    }


def main(argv=None):
    args = parser().parse_args(argv)
    started = time.perf_counter()
    known = facts(args)
    keras_metrics.use_threads(args.threads)
    known["steady_allocator"] = timing.steady_allocator()
    with tempfile.TemporaryDirectory() as directory:
        rows = measure(Path(directory), args.rounds, args.with_suite)
    known["machine"]["load_average_at_end"] = os.getloadavg()
    known["total_seconds"] = round(time.perf_counter() - started, 1)
    print(report.table(rows))
    print("\n".join(report.notes(rows)))
    args.output.mkdir(parents=True, exist_ok=True)
    report.write_json(args.output / "latest.json", rows, known)
    written = report.plot(args.output / "ratios.png", rows)
    print(
        f"wrote {args.output / 'latest.json'}"
        + (f" and {written}" if written else " (no matplotlib: no plot)")
    )
    print(
        f"total {known['total_seconds']} s on {known['machine']['nproc']} CPUs ({known['machine']['cpu']})"
    )
    failed = [row.metric for row in rows if row.failed()]
    if failed:
        print("FAILED: " + "; ".join(failed))
    return 1 if failed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
