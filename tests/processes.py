"""`python -m generator check` run as users run it, in a process of its own,
with what it cost: its CPU time and its peak memory, children included."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rendering import REPO

# Runs `python -m generator check SPEC` under an address-space limit and
# prints the child's own CPU seconds and peak resident kilobytes. A child
# starts with the peak of the process it was forked from (Linux carries it
# over exec), and the test process holds TensorFlow: this small launcher is
# the parent whose peak the child inherits instead.
LAUNCHER = """
import os, resource, subprocess, sys
limit, timeout, spec, report = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
if limit:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
child = subprocess.Popen([sys.executable, "-m", "generator", "check", spec])
try:
    child.wait(timeout)
except subprocess.TimeoutExpired:
    child.kill()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(report, "w") as file:
    print(usage.ru_utime + usage.ru_stime, usage.ru_maxrss, file=file)
sys.exit(child.returncode)
"""


def check_process(spec, timeout=60, limit_bytes=None, **env):
    """`python -m generator check` as a user runs it; (process, CPU seconds,
    peak resident kilobytes of it and of the processes it started)."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "usage"
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                LAUNCHER,
                str(limit_bytes or 0),
                str(timeout),
                str(spec),
                report,
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            env={**os.environ, **env},
        )
        cpu, peak = report.read_text().split()
    return proc, float(cpu), int(peak)
