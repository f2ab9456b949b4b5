"""Rendering the template with real Copier and running a rendered project's
own tests in a subprocess, as its users would (`python -m pytest`).

A project's tests run in one process per backend, however many layers it
holds: importing TensorFlow costs seconds, so layers share the process.
"""

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

import copier
import yaml

REPO = Path(__file__).resolve().parent.parent
CATALOG = sorted((REPO / "examples" / "catalog").glob("*.yml"))
# Partial specs whose later answers are left to defaults that must fit the
# earlier ones (the default weights need an int hyperparameter, the default
# example input is 2-D): each must still make a layer that passes its tests.
PARTIAL_SPECS = {
    "flag_gate": {
        "layer_name": "FlagGate",
        "hyperparameters": [{"name": "flag", "type": "bool", "default": True}],
    },
    "no_arguments": {"layer_name": "NoArguments", "hyperparameters": []},
    "deep_axis": {
        "layer_name": "DeepAxis",
        "hyperparameters": [{"name": "rate", "type": "float", "default": 0.5}],
        "weights": [{"name": "w", "shape": ["input_shape[3]", "input_shape[-1]"]}],
    },
    "kernel_sized": {
        "layer_name": "KernelSized",
        "hyperparameters": [{"name": "kernel", "type": "int", "default": 4}],
    },
    # Random noise cannot join integer ids: the default adds it to the output.
    "noisy_ids": {
        "layer_name": "NoisyIds",
        "inputs": [{"name": "ids", "shape": [4, None], "dtype": "int32", "high": 10}],
        "random": True,
    },
}
BACKENDS = ("tensorflow", "jax", "torch")


def load_spec(path):
    return yaml.safe_load(Path(path).read_text())


def render(dest, data=None, src=REPO, vcs_ref="HEAD", **options):
    """`copier copy` of this repo (or `src`) at HEAD, every unanswered question
    defaulted."""
    copier.run_copy(
        str(src),
        str(dest),
        data=data or {},
        defaults=True,
        vcs_ref=vcs_ref,
        unsafe=False,
        quiet=True,
        **options,
    )
    return Path(dest)


def git(project, *args):
    return subprocess.run(
        ["git", "-C", str(project), *args], check=True, capture_output=True, text=True
    ).stdout


def commit_all(project, message="generated"):
    if not (Path(project) / ".git").exists():
        git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(
        project,
        "-c",
        "user.name=test",
        "-c",
        "user.email=test@example.com",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        message,
    )


def released_template(dest, tag="1.0.0"):
    """This checkout's working tree as a template repository of its own,
    committed and tagged `tag`, so that tests copy what is being changed the
    way users copy a release."""
    shutil.copytree(
        REPO,
        dest,
        ignore=shutil.ignore_patterns(
            ".git", "__pycache__", ".pytest_cache", "my-layers", "*.egg-info"
        ),
    )
    commit_all(dest, f"release {tag}")
    git(dest, "tag", tag)
    return Path(dest)


def backend_env(backend, **extra):
    # The tests' tensors are tiny: on torch a second intra-op thread only spins,
    # and on a busy two-core machine it made runs three times slower.
    threads = {"OMP_NUM_THREADS": "1"} if backend == "torch" else {}
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", **threads, **extra)
    env.pop("PYTEST_ADDOPTS", None)
    return env


@dataclass
class Outcome:
    """One generated test: its module, name, and failure text (None: passed).

    `message` is the exception's message alone, without the traceback, whose
    quoted source lines would match any text the test itself contains.
    """

    module: str
    name: str
    failure: str | None
    skipped: bool = False
    message: str | None = None


@dataclass
class ProjectRun:
    """`python -m pytest` of a rendered project on one backend, started at
    once and awaited when its results are first asked for."""

    project: Path
    backend: str
    args: tuple = ()
    env: dict = field(default_factory=dict)  # extra environment variables
    process: subprocess.Popen = field(init=False)

    def __post_init__(self):
        self.report = self.project / f".results-{self.backend}.xml"
        self.log = open(self.project / f".results-{self.backend}.log", "w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--junitxml={self.report}",
                *self.args,
            ],
            cwd=self.project,
            env=backend_env(self.backend, **self.env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._outcomes = None

    def outcomes(self):
        if self._outcomes is None:
            self.process.wait()
            self.log.close()
            if not self.report.exists():
                raise AssertionError(f"pytest wrote no report:\n{self.output()}")
            self._outcomes = parse_junit(self.report)
        return self._outcomes

    def output(self):
        return (self.project / f".results-{self.backend}.log").read_text()

    def of_module(self, module):
        return [o for o in self.outcomes() if o.module == module]


def parse_junit(path):
    outcomes = []
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        module = case.get("classname", "").split(".")[1] if "." in case.get("classname", "") else ""
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        failure = message = None
        if problem is not None:
            message = problem.get("message", "")
            failure = f"{message}\n{problem.text or ''}"
        outcomes.append(
            Outcome(
                module,
                case.get("name"),
                failure,
                case.find("skipped") is not None,
                message=message,
            )
        )
    return outcomes
