"""The last check of `generator check`: the layer built in Keras.

The rules and the parse of the computation cannot know what a computation
does to shapes: `ops.matmul(x, kernel)` with a kernel of the wrong shape, a
`reshape` that only fits a fixed batch, an output that cannot carry the
mask `output_mask: input` gives it. The generated test would be the first to
find out, so it would fail on a spec `check` accepted. So the generated
module is rendered from the template and its layer built and called as the
generated test calls it (generator/keras_build.py says how).

That runs the spec's own code, which can loop forever or fill the memory.
It runs in a process of its own, watched from here: past a time or memory
limit it is stopped and the spec refused, in one line as ever. The process
is kept for the next spec this one checks (importing Keras costs seconds),
and each answer is kept in the temporary folder, as Jinja keeps compiled
templates, so an unchanged spec is not built again.
"""

import atexit
import hashlib
import importlib.util
import itertools
import json
import os
import queue
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path

from generator import keras_build
from generator.errors import InputError
from generator.layer_files import module_source, test_source
from generator.messages import printable

_packages = itertools.count()
BACKENDS = ("tensorflow", "jax", "torch")
_KEPT = Path(tempfile.gettempdir()) / f"keras-layer-check-{os.getuid()}"
# Limits on building one layer, once Keras is imported: the generated test
# builds it at the same sizes in far less (seconds, at most a few hundred MB
# beyond the framework).
SECONDS = "KERAS_LAYER_CHECK_SECONDS"
GIB = "KERAS_LAYER_CHECK_GIB"
_DEFAULT_SECONDS = 60.0
# Or half the machine's memory, where that is less.
_DEFAULT_GIB = min(8.0, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**31)
# Importing a framework is not the spec's doing: it only has to end.
_IMPORT_SECONDS = 600.0
_POLL_SECONDS = 0.05
# How long a process past its time limit has to say where it is.
_ASK_SECONDS = 1.0


def trace_problems(spec, backends=None):
    """One-line problems found building `spec`'s layer in Keras, at most one:
    on the backend Keras is set to use or, given `backends`, on each of them
    in turn, the problem then naming its backend."""
    limits = _limits()
    for backend in backends or [None]:
        found = _problems_on(spec, backend, limits)
        if found and backend:
            return [found[0].replace(": ", f": [{backend}] ", 1)]
        if found:
            return found
    return []


def backends_named(text):
    """The backends `--backends` names: a comma list, or `all` (those installed)."""
    if text.strip() == "all":
        return [name for name in BACKENDS if importlib.util.find_spec(name)]
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in BACKENDS]
    if unknown or not names:
        raise InputError(
            f"--backends: {unknown[0] if unknown else text!r} is not a Keras backend "
            f"({', '.join(BACKENDS)}, or all: those installed)"
        )
    return list(dict.fromkeys(names))


def _problems_on(spec, backend, limits):
    package = f"_keras_layer_check_{os.getpid()}_{next(_packages)}"
    source, tests = module_source(spec, package), test_source(spec, package)
    sources = [text.replace(package, "_") for text in (source, tests)]
    kept = _KEPT / f"{_digest(sources, spec, backend)}.json"
    try:
        if _own(_KEPT):
            return json.loads(kept.read_text("utf-8"))
    except (OSError, ValueError):
        pass
    request = {
        "package": package,
        "module_name": spec.module_name,
        "layer_name": spec.layer_name,
        "source": source,
        "test_source": tests,
        "normalized": spec.normalized,
        "computation": spec.answers["computation"],
    }
    found, keep = _builder(backend).build(request, limits)
    if keep:
        _keep(kept, found)
    return found


def _digest(sources, spec, backend):
    """What the answer depends on: the module and its test, the files they
    import, the sizes and values the layer is built with, which Keras runs
    it, and the code that builds it and words the answer."""
    versions = []
    for name in ("keras", "tensorflow", "jax", "torch"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} -")
    code = [
        Path(path).read_text("utf-8")
        for path in (keras_build.LAMBDA, *keras_build.SHARED_TESTS, keras_build.__file__, __file__)
    ]
    parts = [*sources, *code, json.dumps(spec.normalized), *versions, *_backend(backend)]
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _backend(named=None):
    """What picks the Keras backend: the one named, or the environment, and
    keras.json."""
    config = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
    chosen = named or os.environ.get("KERAS_BACKEND", "")
    return [chosen, config.read_text() if config.is_file() else ""]


def _own(folder):
    """Whether `folder` is a folder of this user's alone: in a temporary
    folder shared by users, another who made it first could plant answers."""
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077


def _keep(path, found):
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        if not _own(path.parent):
            return
        partial = path.with_suffix(f".{os.getpid()}")
        partial.write_text(json.dumps(found), encoding="utf-8")
        partial.replace(path)
    except OSError:
        pass  # an answer not kept is worked out again next time


def _limits():
    """(seconds, bytes) for building one layer, from the environment."""
    return _limit(SECONDS, _DEFAULT_SECONDS), _limit(GIB, _DEFAULT_GIB) * 2**30


def _limit(name, default):
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise InputError(f"{name}: {text!r} is not a positive number") from None
    return value


# The process's first path is this package's folder, not the current one:
# a `generator` package where the user stands must not be the one imported.
_SERVE = (
    "import sys; folder = sys.argv[1]; sys.path[0:1] = [] if folder in sys.path[1:] else [folder]; "
    "from generator.keras_build import serve; serve()"
)
# By the backend named (none: the one Keras is set to use).
_builders = {}


def _builder(named=None):
    """The building process for a backend, started on first use and again
    whenever the backend settings have changed or the last one was stopped."""
    settings = _backend(named)
    key = named or ""
    current = _builders.get(key)
    if current is None or not current.serves(settings):
        if current is not None:
            current.stop()
        _builders[key] = _Builder(settings)
    return _builders[key]


class _Builder:
    """A process that has imported Keras and builds layers on request."""

    def __init__(self, backend):
        self.backend = backend
        self.errors = tempfile.TemporaryFile()
        chosen = {"KERAS_BACKEND": backend[0]} if backend[0] else {}
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SERVE, str(Path(keras_build.__file__).parent.parent)],
            env=os.environ | chosen,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
            encoding="utf-8",
        )
        self.messages = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.ready = False
        atexit.register(self.stop)

    def serves(self, backend):
        return self.backend == backend and self.process.poll() is None

    def _read(self):
        for line in self.process.stdout:
            self.messages.put(json.loads(line))
        self.messages.put(None)

    def build(self, request, limits):
        """(problems, whether they can be kept): the layer's own problems,
        or the limit it ran past, which another machine might not."""
        seconds, memory = limits
        if not self.ready:
            self._start(memory)
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        at = {"at": "", "field": "computation"}
        deadline = time.monotonic() + seconds
        while True:
            message, over = self._next(deadline, memory)
            if message is not None and "found" in message:
                return message["found"], True
            if message is not None:
                # Each stage (a call, a generated test) has the whole limit.
                at, deadline = message, time.monotonic() + seconds
                continue
            field, line = at["field"], ""
            if over == "time":
                field, line = self._stuck(field)
            self.stop()
            where = f" on inputs {at['at']}" if at["at"] else ""
            if over == "time":
                problem = (
                    f"{field}: {line}still running after {seconds:g} s{where} (an endless loop?), "
                    f"where the generated tests would hang too ({SECONDS} sets the limit)"
                )
            elif over == "memory":
                problem = (
                    f"{field}: takes more than {memory / 2**30:g} GiB of memory{where}, "
                    f"as the generated tests would too ({GIB} sets the limit)"
                )
            else:
                problem = f"{field}: ends the process building the layer{where}{self._why()}"
            return [printable(problem)], False

    def _start(self, memory):
        message, over = self._next(time.monotonic() + _IMPORT_SECONDS, memory)
        if message is not None and message.get("ready"):
            self.ready = True
            return
        self.stop()
        if message is not None:
            raise InputError(
                f"building and testing the layer needs Keras, a backend, pytest and h5py "
                f"({message['missing']}): "
                "pip install 'keras-layer-template[run]'; check --quick checks the rules alone"
            )
        if over == "memory":
            reason = f"more than {memory / 2**30:g} GiB ({GIB} sets the limit)"
        elif over == "time":
            reason = f"more than {_IMPORT_SECONDS:g} s"
        else:
            reason = f"a process that ended{self._why()}"
        raise InputError(printable(f"building the layer: importing Keras took {reason}"))

    def _next(self, deadline, memory):
        """The next message, or None and why none came: "time", "memory", or
        the process ended."""
        while True:
            try:
                message = self.messages.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                pass
            else:
                return message, "ended" if message is None else None
            if _resident(self.process.pid) > memory:
                return None, "memory"
            if time.monotonic() > deadline:
                return None, "time"

    def _stuck(self, field):
        """(field, "line N: ") of the spec's code running now, if Python is
        running it (a stuck op of the framework cannot say)."""
        if hasattr(signal, "SIGUSR1"):
            self.process.send_signal(signal.SIGUSR1)
            deadline = time.monotonic() + _ASK_SECONDS
            while (message := self._next(deadline, float("inf"))[0]) is not None:
                if "stuck" in message:
                    if message["stuck"]:
                        return message["stuck"][0], f"line {message['stuck'][1]}: "
                    break
        return field, ""

    def _why(self):
        """The exit status and the last line the process wrote to stderr."""
        self.process.wait()
        self.errors.seek(0)
        lines = [line.strip() for line in self.errors.read().decode(errors="replace").splitlines()]
        last = next((line for line in reversed(lines) if line), "")
        return f" (exit status {self.process.returncode}{': ' + last[:200] if last else ''})"

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for key in [key for key, builder in _builders.items() if builder is self]:
            del _builders[key]


def _resident(pid):
    """Bytes of memory the process holds, where the system says (Linux)."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")
