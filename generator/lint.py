"""The project's linter on the spec's own code.

The generated project's CI runs ruff, with the rules of its pyproject.toml,
on every file: the layer's module too, which holds the spec's computation
and output mask as written. A computation that assigns a lambda (E731) or
never reads its loop variable (B007) would pass `check` and fail the team's
CI, so full `check` runs the same ruff on the module it renders and names
what it finds in the spec's own lines.
"""

import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from generator.layer_files import first_line, module_source, paths, pyproject_source


def installed():
    return importlib.util.find_spec("ruff") is not None


def lint_problems(spec):
    """One line per finding of ruff on the layer's module, as the project's
    CI runs it; the spec's own code is named by field and line."""
    text = module_source(spec)
    with tempfile.TemporaryDirectory(prefix="keras-layer-lint-") as folder:
        project = Path(folder)
        module, _ = paths(spec)
        (project / module).parent.mkdir(parents=True)
        (project / module).write_text(text, encoding="utf-8")
        (project / "pyproject.toml").write_text(pyproject_source(spec), encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format=json", module],
            cwd=project,
            capture_output=True,
            text=True,
        )
    if proc.returncode not in (0, 1):
        return [f"computation: ruff could not lint the layer's module: {proc.stderr.strip()}"]
    return [_located(finding, text, spec) for finding in json.loads(proc.stdout)]


def _located(finding, text, spec):
    row = finding["location"]["row"]
    what = f"{finding['code'] or 'syntax'} {finding['message']} (ruff, as the project's CI runs it)"
    for field, function, source in _own_code(spec):
        line = row - first_line(text, function, source) + 1
        if 1 <= line <= len(source.split("\n")):
            return f"{field}: line {line}: {what}"
    return f"computation: the generated module's line {row}: {what}"


def _own_code(spec):
    """(field, function, body) of the code the spec wrote itself."""
    normalized = spec.normalized
    yield "computation", normalized["forward"], spec.answers["computation"]
    if normalized["output_mask"] not in (None, "input"):
        yield "output_mask", normalized["output_mask_function"], normalized["output_mask"]
