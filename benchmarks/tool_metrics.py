"""The tool's own speed: Copier rendering a layer, `generator check`, and
optionally this repository's whole test suite."""

import itertools
import os
import subprocess
import sys
import time

import yaml

from benchmarks.report import Bar, Row, ratio_row
from benchmarks.snapshot import COMMITTER, REPO, git
from benchmarks.timing import Spread, compare

# Importing any of these costs seconds; `check --quick` must stay clear of them.
FRAMEWORKS = ("tensorflow", "keras", "jax", "torch")


def run(command, env=None):
    return subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True, env=env)


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


def update_project(template, work):
    """A team's project of ten layers (the default and the first nine catalog
    layers, by name: the catalog grows) at template release 1.0.0, with release 1.1.0 out and two spec
    edits committed: what `update --all` has to do. Returns the project and
    its layers."""
    source = work / "keras-layer-template"
    git(work, "clone", "-q", str(template), str(source))
    git(source, "tag", "1.0.0")
    project = work / "project"
    specs = [{}] + [
        yaml.safe_load(path.read_text())
        for path in sorted((REPO / "examples" / "catalog").glob("*.yml"))[:9]
    ]
    for spec in specs:
        with open(work / "spec.yml", "w") as file:
            yaml.safe_dump(spec, file)
        run(
            [
                sys.executable,
                "-m",
                "copier",
                "copy",
                "--defaults",
                "--vcs-ref=1.0.0",
                "--data-file",
                str(work / "spec.yml"),
                str(source),
                str(project),
            ]
        )
    commit(project, "ten layers")
    checks = source / "template" / "tests" / "layer_checks.py"
    checks.write_text(checks.read_text() + "\n# release 1.1.0\n")
    commit(source, "release 1.1.0")
    git(source, "tag", "1.1.0")
    layers = sorted(path.stem for path in (project / ".copier-answers").glob("*.yml"))
    for layer in layers[:2]:
        spec_file = project / "specs" / f"{layer}.yml"
        spec = yaml.safe_load(spec_file.read_text())
        spec_file.write_text(yaml.safe_dump({**spec, "description": f"{layer}, edited."}))
    commit(project, "two spec edits")
    return project, layers


def commit(folder, message):
    if not (folder / ".git").exists():
        git(folder, "init", "-q", "-b", "main")
    git(folder, "add", "-A")
    git(folder, *COMMITTER, "commit", "-q", "-m", message)


def update_all_row(template, work, rounds=1):
    """`python -m generator update --all` against the same work by hand: one
    `copier update -a FILE --defaults --data-file SPEC` per layer, each
    committed, since Copier needs a clean tree for the next. Both start by
    resetting the project to its state before the update (a cost they share).
    A unit takes half a minute, so one round (three units each) is the
    default."""
    work.mkdir()
    project, layers = update_project(template, work)
    start = git(project, "rev-parse", "HEAD").strip()
    env = dict(os.environ, PYTHONPATH=str(REPO))

    def reset():
        git(project, "reset", "-q", "--hard", start)
        git(project, "clean", "-q", "-fdx")

    def update_all():
        reset()
        subprocess.run(
            [sys.executable, "-m", "generator", "update", "--all"],
            cwd=project,
            env=env,
            check=True,
            capture_output=True,
        )

    def by_hand():
        reset()
        for layer in layers:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "copier",
                    "update",
                    "-a",
                    f".copier-answers/{layer}.yml",
                    "--defaults",
                    "--data-file",
                    f"specs/{layer}.yml",
                ],
                cwd=project,
                check=True,
                capture_output=True,
            )
            commit(project, f"update {layer}")

    result = compare(update_all, by_hand, rounds, warmup=0)
    row = ratio_row(
        f"update --all, {len(layers)} layers (2 spec edits, a release) / copier update per layer",
        result,
        Bar(1.10, aim=True),
        unit="s",
    )
    row.raw["layers"] = len(layers)
    return row


def check_command(spec, *options):
    return [sys.executable, "-m", "generator", "check", *options, str(spec)]


def check_rows(spec, rounds, work):
    """`check --quick`, the rules (what Copier's prompt and each answer of the
    guided path run), against a bar; then `check`, which also builds the
    layer in Keras, for the first time and again, as context."""
    result = compare(
        lambda: run(check_command(spec, "--quick")),
        lambda: run([sys.executable, "-c", "pass"]),
        rounds,
    )
    # A user waits for the wall clock: that is what this bar is about.
    seconds = Spread.of(result.wall.candidate)
    floor = Spread.of(result.wall.reference).median
    bar = Bar(0.3, "<", " s")
    return [
        Row(
            "python -m generator check --quick <spec> (slowest round)",
            f"{seconds.high:.3f} s (median {seconds.median:.3f})",
            f"{floor:.3f} s (python -c pass)",
            bar=bar,
            passed=bar.holds(seconds.high),
            raw=result.as_dict(),
        ),
        frameworks_row(spec),
        built_row(spec, min(rounds, 3), work),
    ]


def built_row(spec, rounds, work):
    """`check` building the layer: the first time (an empty temporary
    folder, so neither Jinja's compiled templates nor the kept answer are
    there, and Keras is imported) and again (the answer kept)."""
    fresh = itertools.count()

    def first():
        folder = work / f"check-tmp-{next(fresh)}"
        folder.mkdir()
        run(check_command(spec), env={**os.environ, "TMPDIR": str(folder)})

    result = compare(first, lambda: run(check_command(spec)), rounds)
    cold = Spread.of(result.wall.candidate).median
    kept = Spread.of(result.wall.reference).median
    return Row(
        "python -m generator check <spec>, building the layer in Keras",
        f"{cold:.2f} s the first time",
        f"{kept:.2f} s again (the answer kept)",
        raw=result.as_dict(),
    )


def frameworks_row(spec):
    """Which heavy frameworks `check --quick` imports, from `python -X importtime`."""
    trace = run([sys.executable, "-X", "importtime", *check_command(spec, "--quick")[1:]]).stderr
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0] for line in trace.splitlines() if "|" in line
    }
    found = sorted(imported.intersection(FRAMEWORKS))
    return Row(
        "python -m generator check --quick: frameworks imported",
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
