"""Carry `.keras` files of every layer of a rendered project across backends.

Run inside the project, in a process per backend (the backend is fixed at
import): `python portability.py DIR FROM_BACKEND` loads what FROM_BACKEND
saved (unless it is "-"), checks its predictions against the saved ones, and
saves every layer again from this backend. Prints JSON: layer -> max abs
difference of predictions after loading.
"""

import importlib
import json
import pkgutil
import sys
from pathlib import Path

import custom_layers  # registers every layer, as a user's import would
import keras
import numpy as np


def cases():
    for module in pkgutil.iter_modules(custom_layers.__path__):
        if not module.name.startswith("_"):
            yield module.name, importlib.import_module(f"test_{module.name}").CASE


def save_inputs(path, x):
    np.savez(path, *(x if isinstance(x, list) else [x]))


def load_inputs(path, case):
    with np.load(path) as stored:
        arrays = [stored[f"arr_{i}"] for i in range(len(stored.files))]
    return arrays if case.several else arrays[0]


def main(folder, source):
    folder, backend = Path(folder), keras.backend.backend()
    report = {}
    for name, case in cases():
        inputs = folder / f"{name}.x.npz"
        if source == "-":
            # One keras.Input per input of the layer, as its users build models.
            model = case.functional(case.layer_class())
            save_inputs(inputs, case.data())
        else:
            model = keras.saving.load_model(folder / f"{name}.{source}.keras")
            expected = np.load(folder / f"{name}.{source}.npy")
            got = model.predict(load_inputs(inputs, case), verbose=0)
            report[name] = float(np.max(np.abs(got - expected)))
        model.save(folder / f"{name}.{backend}.keras")
        np.save(
            folder / f"{name}.{backend}.npy", model.predict(load_inputs(inputs, case), verbose=0)
        )
    print(json.dumps(report))


if __name__ == "__main__":
    main(*sys.argv[1:])
