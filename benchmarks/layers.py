"""The layers compared: one generated from a spec by real Copier, and the two
hand-written patterns the template replaces."""

import importlib
import sys

import copier
import keras
from keras import ops

# The work of keras.layers.Dense(units) without activation, as a spec.
DENSE_SPEC = {
    "package_name": "bench_layers",
    "layer_name": "GeneratedDense",
    "description": "Dense projection without activation, for the benchmarks.",
    "hyperparameters": [{"name": "units", "type": "int", "default": 32}],
    "weights": [
        {"name": "kernel", "shape": ["input_dim", "units"], "initializer": "glorot_uniform"},
        {"name": "bias", "shape": ["units"], "initializer": "zeros"},
    ],
    "computation": "return ops.matmul(x, kernel) + bias\n",
    "example_input_shape": [8, 16],
}


def generate(template, dest):
    """Render DENSE_SPEC into `dest` with Copier and import the layer class."""
    copier.run_copy(
        str(template), str(dest), data=DENSE_SPEC, defaults=True, vcs_ref="HEAD", quiet=True
    )
    sys.path.insert(0, str(dest / "src"))
    module = importlib.import_module("bench_layers.generated_dense")
    return module.GeneratedDense


def dense_forward(x, kernel, bias):
    return ops.matmul(x, kernel) + bias


class BlogDense(keras.layers.Layer):
    """The blog's pattern: weights from build(), and a new Lambda given them
    through `arguments=` on every call; no get_config, not registered."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units))
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        arguments = {"kernel": self.kernel, "bias": self.bias}
        return keras.layers.Lambda(dense_forward, arguments=arguments)(inputs)


class NaiveDense(BlogDense):
    """The pattern fixed only as far as building its Lambda once, in build():
    the Lambda then tracks the variables it is given, and the file holds them
    twice (what the template's BoundLambda prevents)."""

    def build(self, input_shape):
        super().build(input_shape)
        arguments = {"kernel": self.kernel, "bias": self.bias}
        self.forward = keras.layers.Lambda(dense_forward, arguments=arguments)

    def call(self, inputs):
        return self.forward(inputs)


def model_of(layer, input_dim):
    return keras.Sequential([keras.Input((input_dim,)), layer])
