"""A generated layer against keras.layers.Dense doing the same work, on the
TensorFlow backend: training, eager calls, and its `.keras` file."""

import io
import tempfile
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np
import tensorflow as tf

from benchmarks.layers import BlogDense, NaiveDense, model_of
from benchmarks.report import Bar, Row, ratio_row
from benchmarks.timing import Spread, compare

# Big enough that the matmuls, not Python, fill most of a training step; small
# enough that every comparison takes seconds.
FIT_DIM, FIT_SAMPLES, FIT_BATCH = 1024, 2048, 128
# Eager calls at a small size, where Keras's per-call work is most of the
# latency and any overhead of the generated layer shows most, and a large one.
EAGER_SIZES, EAGER_BATCH = ((64, 256), (1024, 1024)), 32
SAVE_DIM = 2048
PATTERNS = {"blog": "blog pattern: ", "naive": "naive Lambda in build(): "}


def use_threads(count):
    """Run each TensorFlow op on `count` threads (0: one per core, TF's default).

    With one thread per op, the CPU time of a step is the time it takes on a
    core of its own: an op split over both cores of a shared machine waits
    for its slower thread, and a waiting thread pool spins, which CPU time
    would count. Both candidates run alike; `--threads 0` restores TF's default.
    """
    tf.config.threading.set_intra_op_parallelism_threads(count)


def rng():
    return np.random.default_rng(0)


def fit_rows(generated, rounds):
    x = rng().standard_normal((FIT_SAMPLES, FIT_DIM), dtype="float32")
    y = rng().standard_normal((FIT_SAMPLES, FIT_DIM), dtype="float32")
    rows = []
    for jit in (False, True):
        runs = [
            fit_epoch(layer, jit, x, y)
            for layer in (generated(FIT_DIM), keras.layers.Dense(FIT_DIM))
        ]
        mode = "jit_compile=True" if jit else "graph mode"
        metric = f"fit, {mode} ({FIT_DIM}->{FIT_DIM}, batch {FIT_BATCH})"
        result = compare(*runs, rounds)
        rows.append(
            ratio_row(metric, result, Bar(1.05), unit="ms/step", per=FIT_SAMPLES // FIT_BATCH)
        )
    return rows


def fit_epoch(layer, jit, x, y):
    model = model_of(layer, FIT_DIM)
    model.compile(optimizer="adam", loss="mse", jit_compile=jit)
    return lambda: model.fit(x, y, batch_size=FIT_BATCH, epochs=1, shuffle=False, verbose=0)


def eager_rows(generated, rounds):
    rows = []
    for input_dim, units in EAGER_SIZES:
        x = keras.ops.convert_to_tensor(
            rng().standard_normal((EAGER_BATCH, input_dim), dtype="float32")
        )
        dense = call(keras.layers.Dense(units), x)
        size = f"{input_dim}->{units}, batch {EAGER_BATCH}"
        result = compare(call(generated(units), x), dense, rounds)
        rows.append(ratio_row(f"eager call ({size})", result, Bar(1.15), unit="us/call"))
        result = compare(call(BlogDense(units), x), dense, rounds)
        rows.append(ratio_row(f"{PATTERNS['blog']}eager call ({size})", result, unit="us/call"))
    return rows


def call(layer, x):
    return lambda: layer(x)


def saving_rows(generated, rounds):
    layers = {
        "generated": generated(SAVE_DIM),
        "dense": keras.layers.Dense(SAVE_DIM),
        "blog": BlogDense(SAVE_DIM),
        "naive": NaiveDense(SAVE_DIM),
    }
    models = {name: model_of(layer, SAVE_DIM) for name, layer in layers.items()}
    with tempfile.TemporaryDirectory() as directory:
        paths = {name: Path(directory) / f"{name}.keras" for name in models}
        runs = [save_and_load(models[name], paths[name]) for name in ("generated", "dense")]
        result = compare(*runs, rounds)
        for name in PATTERNS:
            models[name].save(paths[name])
        stored = {name: weight_bytes(path) for name, path in paths.items()}
        return [
            bytes_row("", stored["generated"], stored["dense"], Bar(1.0, "==")),
            ratio_row(f"save + load ({SAVE_DIM}x{SAVE_DIM})", result, Bar(1.05)),
            *(
                bytes_row(label, stored[name], stored["dense"], note=reload(paths[name]))
                for name, label in PATTERNS.items()
            ),
        ]


def save_and_load(model, path):
    def run():
        model.save(path)
        keras.saving.load_model(path)

    return run


def weight_bytes(path):
    """Bytes of every array in the file's weights store."""
    with (
        zipfile.ZipFile(path) as archive,
        h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as store,
    ):
        sizes = []
        store.visititems(
            lambda _, item: sizes.append(item.nbytes) if isinstance(item, h5py.Dataset) else None
        )
    return sum(sizes)


def bytes_row(label, stored, reference, bar=None, note=""):
    ratio = stored / reference
    return Row(
        f"{label}weight bytes in .keras ({SAVE_DIM}x{SAVE_DIM})",
        f"{stored:,} B",
        f"{reference:,} B",
        ratio=Spread.of([ratio]),
        bar=bar,
        passed=bar.holds(ratio) if bar else None,
        note=note,
        raw={"candidate_bytes": stored, "reference_bytes": reference},
    )


def reload(path):
    """What `load_model` makes of a file, as a sentence for the report."""
    try:
        keras.saving.load_model(path)
    except Exception as error:  # whatever the failure, it is the fact reported
        return f"cannot be reloaded: {type(error).__name__}: {str(error).split('. ')[0]}"
    return "reloads"
