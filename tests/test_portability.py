"""A `.keras` file saved on one backend loads and predicts the same on
another: TensorFlow -> JAX -> PyTorch, for every catalog layer."""

import json
import subprocess
import sys

from rendering import REPO, backend_env

HOPS = [("tensorflow", "-"), ("jax", "tensorflow"), ("torch", "jax")]


def test_saved_layers_move_across_backends(catalog_project, tmp_path):
    script = REPO / "tests" / "portability.py"
    paths = f"{catalog_project / 'src'}:{catalog_project / 'tests'}"
    reports = {}
    for backend, source in HOPS:
        proc = subprocess.run(
            [sys.executable, str(script), str(tmp_path), source],
            cwd=catalog_project,
            env=backend_env(backend, PYTHONPATH=paths),
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, f"{backend}: {proc.stderr[-3000:]}"
        reports[backend] = json.loads(proc.stdout.strip().splitlines()[-1])
    layers = {path.stem.split(".")[0] for path in tmp_path.glob("*.x.npz")}
    assert len(layers) >= 9
    for backend, source in HOPS[1:]:
        assert set(reports[backend]) == layers
        for layer, difference in reports[backend].items():
            assert difference < 1e-5, f"{layer}: {source} -> {backend} predicts {difference} off"
