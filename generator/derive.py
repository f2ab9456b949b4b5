"""Re-derive ``keras_names.json``, the Keras and Python facts the rules read.

The rules (``includes/rules.jinja``), which Copier and ``generator check``
both run, must not import Keras: ``generator check`` has to stay fast and
Copier runs without it. So the names they need are derived from Keras (and
Python) here, once, and a test of this repo re-derives them and fails if
the stored file is stale.

Run: ``python -m generator.derive`` (writes the file) or ``--check``.
"""

import ast
import builtins
import importlib.metadata
import importlib.util
import inspect
import json
import keyword
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

NAMES_FILE = Path(__file__).with_name("keras_names.json")
BACKENDS = ("tensorflow", "jax", "torch")
# What a generated project imports; with what they import in turn, the
# top-level module names its package must not take.
LIBRARIES = ("keras", *BACKENDS, "numpy", "h5py", "pytest")

# Abstract bases: `get()` accepts their names but they compute nothing.
_BASES = {"Initializer", "Regularizer", "Constraint"}


def _known(module, registry):
    """What `module.get` accepts: bare names, and `class_name`s of the mapping form.

    A bare name only counts when it works with no config (`constant` needs a
    value, so it is only known as a mapping).
    """
    names, arguments = set(), {}
    for name, cls in registry.items():
        if cls.__name__ in _BASES:
            continue
        arguments[name] = _arguments(cls)
        try:
            module.get(name)
        except Exception:  # any failure means "not usable bare"
            continue
        names.add(name)
    return {"names": sorted(names), "class_names": sorted(arguments), "arguments": arguments}


def _arguments(cls):
    """What the `config` of `{class_name, config}` may set: the named
    arguments of the constructor (`from_config` calls it with the config)."""
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    parameters = inspect.signature(cls.__init__).parameters.values()
    return sorted(p.name for p in parameters if p.kind in named and p.name != "self")


def _layer_attributes():
    """Names a weight or hyperparameter must not take on this backend.

    Every attribute of `keras.layers.Layer` (class and built instance, which on
    torch includes `torch.nn.Module`'s), every constructor argument, and every
    argument `keras.layers.Lambda` fills in itself when the function declares it
    (`mask`, `training`): a weight of that name would receive Keras's value.
    """
    import keras

    layer = keras.layers.Layer()
    layer.build(None)
    names = set(dir(type(layer))) | set(vars(layer))
    names |= set(inspect.signature(keras.layers.Layer.__init__).parameters)
    names |= set(inspect.signature(keras.layers.Lambda.call).parameters)
    return names


def derive_backend():
    """The facts one backend gives (run in a process that set KERAS_BACKEND)."""
    import keras
    from keras.src import constraints, initializers, regularizers

    return {
        "keras_version": keras.__version__,
        "initializer": _known(keras.initializers, initializers.ALL_OBJECTS_DICT),
        "regularizer": _known(keras.regularizers, regularizers.ALL_OBJECTS_DICT),
        "constraint": _known(keras.constraints, constraints.ALL_OBJECTS_DICT),
        "layer_attributes": sorted(_layer_attributes()),
    }


def derive():
    """Union over every installed backend; each is probed in its own process."""
    merged = {
        "python_keywords": sorted(set(keyword.kwlist) | set(keyword.softkwlist)),
        "python_builtins": sorted(dir(builtins)),
        "python_modules": sorted(sys.stdlib_module_names),
        "library_modules": sorted(_library_modules()),
        "python_ascii_lookalikes": _ascii_lookalikes(),
    }
    for backend in BACKENDS:
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        code = "import json, generator.derive as d; print(json.dumps(d.derive_backend()))"
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"deriving on {backend} failed:\n{proc.stderr}")
        facts = json.loads(proc.stdout.strip().splitlines()[-1])
        merged[f"keras_version_{backend}"] = facts.pop("keras_version")
        _union_into(merged, facts)
    return merged


def _ascii_lookalikes():
    """A regex class of the characters Python reads in a name as ASCII ones
    (it reads names in NFKC: 'ｕnits' is 'units', 'ﬁlter' is 'filter'),
    which the rules, reading ASCII names, would read as other names."""
    found = [
        code
        for code in range(0x80, sys.maxunicode + 1)
        if not 0xD800 <= code <= 0xDFFF
        and (normal := unicodedata.normalize("NFKC", chr(code))) != chr(code)
        and re.fullmatch(r"[A-Za-z0-9_]+", normal)
    ]
    spans = []
    for code in found:
        if spans and spans[-1][1] == code - 1:
            spans[-1][1] = code
        else:
            spans.append([code, code])

    def escaped(code):
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"

    return (
        "["
        + "".join(escaped(a) if a == b else f"{escaped(a)}-{escaped(b)}" for a, b in spans)
        + "]"
    )


def _library_modules():
    """Top-level modules of LIBRARIES and everything they require, as
    installed: a package of that name would shadow one of them."""
    provides = {}
    distributions_of = importlib.metadata.packages_distributions()
    for module, distributions in distributions_of.items():
        for distribution in distributions:
            provides.setdefault(_canonical(distribution), set()).add(module)
    # A library by the distributions that install it: `tensorflow` may come
    # from tensorflow-cpu, whose requirements are TensorFlow's.
    seen, pending = set(), [d for lib in LIBRARIES for d in distributions_of.get(lib, [lib])]
    while pending:
        name = _canonical(pending.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requirements = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        pending += [re.match(r"[\w.-]+", r)[0] for r in requirements if "extra ==" not in r]
    modules = set(LIBRARIES) | _imported_by_keras()
    for name in seen:
        modules |= provides.get(name, set())
    return {module for module in modules if module.isidentifier() and not module.startswith("_")}


def _imported_by_keras():
    """Every top-level module Keras's code imports, installed or not: it
    tries some whenever it is imported (`matplotlib`, `pandas`), and would
    import a package of that name, half-initialized as Keras then is."""
    root = Path(importlib.util.find_spec("keras").origin).parent
    names = set()
    for path in root.rglob("*.py"):
        if path.name == "conftest.py" or path.name.endswith("_test.py"):
            continue
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.Import):
                names |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.partition(".")[0])
    return names - set(sys.stdlib_module_names)


def _canonical(distribution):
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _union_into(target, facts):
    for key, value in facts.items():
        if isinstance(value, dict):
            _union_into(target.setdefault(key, {}), value)
        else:
            target[key] = sorted(set(target.get(key, ())) | set(value))


def render(facts):
    return json.dumps(facts, indent=1, sort_keys=True) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    text = render(derive())
    if "--check" in argv:
        if NAMES_FILE.read_text() != text:
            print(f"{NAMES_FILE} is stale: run python -m generator.derive")
            return 1
        return 0
    NAMES_FILE.write_text(text)
    print(f"wrote {NAMES_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
