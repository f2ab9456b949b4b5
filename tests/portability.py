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


def main(folder, source):
    folder, backend = Path(folder), keras.backend.backend()
    report = {}
    for name, case in cases():
        x = case.inputs()
        if source == "-":
            model = keras.Sequential([keras.Input(case.input_shape[1:]), case.layer_class()])
            np.save(folder / f"{name}.x.npy", x)
        else:
            model = keras.saving.load_model(folder / f"{name}.{source}.keras")
            expected = np.load(folder / f"{name}.{source}.npy")
            got = model.predict(np.load(folder / f"{name}.x.npy"), verbose=0)
            report[name] = float(np.max(np.abs(got - expected)))
            x = np.load(folder / f"{name}.x.npy")
        model.save(folder / f"{name}.{backend}.keras")
        np.save(folder / f"{name}.{backend}.npy", model.predict(x, verbose=0))
    print(json.dumps(report))


if __name__ == "__main__":
    main(*sys.argv[1:])
