"""The tool's own speed: Copier rendering a layer, `generator check`, and
optionally this repository's whole test suite."""

import itertools
import subprocess
import sys
import time

from benchmarks.report import Bar, Row, ratio_row
from benchmarks.snapshot import REPO
from benchmarks.timing import Spread, compare

# Importing any of these costs seconds; `check` must stay clear of them.
FRAMEWORKS = ("tensorflow", "keras", "jax", "torch")


def run(command):
    return subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True)


def copier_copy(template, destinations):
    """`copier copy --defaults` of `template` at HEAD into a fresh directory
    under `destinations`, with the CLI of the Copier that this Python runs (so
    its version is the one reported). The copies are left for the caller to
    delete: deleting them is not Copier's work."""
    count = itertools.count()

    def copy():
        destination = destinations / f"{template.name}-{next(count)}"
        run(
            [
                sys.executable,
                "-m",
                "copier",
                "copy",
                "--defaults",
                "--vcs-ref=HEAD",
                str(template),
                str(destination),
            ]
        )

    return copy


def copier_row(template, floor, destinations, rounds):
    result = compare(copier_copy(template, destinations), copier_copy(floor, destinations), rounds)
    return ratio_row(
        "copier copy --defaults: one layer / trivial template", result, Bar(1.3), unit="s"
    )


def check_command(spec):
    return [sys.executable, "-m", "generator", "check", str(spec)]


def check_rows(spec, rounds):
    result = compare(
        lambda: run(check_command(spec)), lambda: run([sys.executable, "-c", "pass"]), rounds
    )
    # A user waits for the wall clock: that is what this bar is about.
    seconds = Spread.of(result.wall.candidate)
    floor = Spread.of(result.wall.reference).median
    bar = Bar(0.3, "<", " s")
    return [
        Row(
            "python -m generator check <spec> (slowest round)",
            f"{seconds.high:.3f} s (median {seconds.median:.3f})",
            f"{floor:.3f} s (python -c pass)",
            bar=bar,
            passed=bar.holds(seconds.high),
            raw=result.as_dict(),
        ),
        frameworks_row(spec),
    ]


def frameworks_row(spec):
    """Which heavy frameworks `check` imports, from `python -X importtime`."""
    trace = run([sys.executable, "-X", "importtime", *check_command(spec)[1:]]).stderr
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0] for line in trace.splitlines() if "|" in line
    }
    found = sorted(imported.intersection(FRAMEWORKS))
    return Row(
        "python -m generator check: frameworks imported",
        ", ".join(found) or "none",
        "-",
        bar="none of " + "/".join(FRAMEWORKS),
        passed=not found,
    )


def suite_row(run_it):
    """`python -m pytest -q` of this repository, timed once: it takes minutes,
    so it runs only when asked."""
    metric = "repo test suite: python -m pytest -q"
    layers = 1 + len(list((REPO / "examples" / "catalog").glob("*.yml")))
    if not run_it:
        return Row(metric, "not measured", f"({layers} layers; --with-suite measures it)")
    start = time.perf_counter()
    outcome = subprocess.run(
        [sys.executable, "-m", "pytest", "-q"], cwd=REPO, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    summary = (outcome.stdout.strip().splitlines() or ["no output"])[-1]
    return Row(
        metric,
        f"{seconds:.0f} s",
        f"{seconds / layers:.1f} s per layer ({layers} layers)",
        note=f"exit status {outcome.returncode}: {summary}",
        raw={"seconds": seconds, "layers": layers, "returncode": outcome.returncode},
    )
