"""The Keras facts both rule sets read are Keras's own, not a stale copy."""

import subprocess
import sys

from rendering import REPO


def test_keras_names_match_the_installed_keras():
    proc = subprocess.run(
        [sys.executable, "-m", "generator.derive", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
