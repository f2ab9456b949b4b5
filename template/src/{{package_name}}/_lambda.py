"""The Lambda that runs a generated layer's computation.

Shared by every layer of the package; generated, do not edit.
"""

import hashlib
import inspect
import json

import keras


class BoundLambda(keras.layers.Lambda):
    """A `Lambda` whose `arguments` hold variables that its parent layer owns.

    Keras tracks every variable a layer holds, so a plain `Lambda` given the
    parent's variables in `arguments` would also save them: each weight would
    be written twice to a `.keras` file. The parent saves and loads them; this
    layer saves nothing of its own. It is never serialized either: the parent
    creates it again in `build()`. Nor does it track the parent's seed
    generator, which Keras would otherwise count twice in the parent's
    `variables`, the state a JAX training step carries.

    Its output shape is the computation traced symbolically, which costs
    milliseconds: each traced shape is remembered, and the parent saves them
    in its build config so that loading a model traces nothing again.

    A layer of several inputs passes them as a list, and their masks as a
    list in `mask`: the function receives each input as a positional
    argument and, as `Lambda` passes `mask`, each mask that its signature
    names (`masks` holds the name of each input's mask), and `training` if
    it names that. `dtypes` holds each
    input's dtype: Keras casts float inputs to the compute dtype and leaves
    integer ones alone, and the trace of the output shape does the same.
    """

    def __init__(self, function, masks=(), dtypes=(), **kwargs):
        super().__init__(function, **kwargs)
        self._seed_generators.clear()
        # Masks are the parent's to consume or pass on; this layer takes
        # them without the warning Keras gives a layer that drops a mask.
        self.supports_masking = True
        self._traced = {}
        self._masks = tuple(masks)
        self._dtypes = tuple(dtypes)
        self._tracing = False
        reads = inspect.signature(function).parameters
        self._reads_masks = [name in reads for name in self._masks]

    def call(self, inputs, mask=None, training=None):
        several = isinstance(inputs, (list, tuple))
        tensors = list(inputs) if several else [inputs]
        masks = list(mask) if several and mask is not None else [mask] * len(tensors)
        if self._tracing and self._dtypes:
            # The trace starts from tensors of the compute dtype: give each
            # integer or bool input its own dtype, as Keras gives it at call time.
            tensors = [
                x if dtype.startswith("float") else keras.ops.cast(x, dtype)
                for x, dtype in zip(tensors, self._dtypes, strict=True)
            ]
        named = {
            name: m
            for name, m, read in zip(
                self._masks, masks, self._reads_masks, strict=False
            )
            if read
        }
        if self._fn_expects_training_arg:
            named["training"] = training
        return self.function(*tensors, **self.arguments, **named)

    def compute_output_shape(self, input_shape):
        key = json.dumps(input_shape)
        if key not in self._traced:
            self._tracing = True
            try:
                self._traced[key] = super().compute_output_shape(input_shape)
            finally:
                self._tracing = False
        return self._traced[key]

    def traced_shapes(self):
        """The shapes traced so far, for the parent's build config."""
        return {
            "computation": self._identity(),
            "shapes": [[json.loads(key), shape] for key, shape in self._traced.items()],
        }

    def remember(self, traced):
        """Take shapes traced before a save, if the computation is the same."""
        if traced and traced.get("computation") == self._identity():
            for input_shape, output_shape in traced["shapes"]:
                self._traced[json.dumps(input_shape)] = _shape(output_shape)

    def _identity(self):
        """What the traced shapes depend on: the computation's code, the
        hyperparameters it is given and its weights' shapes (a config edited
        before loading may give others)."""
        settings = {
            name: list(value.shape) if hasattr(value, "shape") else value
            for name, value in self.arguments.items()
            if hasattr(value, "shape") or isinstance(value, bool | int | float | str)
        }
        return _fingerprint(self.function, settings)

    def save_own_variables(self, store):
        pass

    def load_own_variables(self, store):
        pass


def _fingerprint(function, settings):
    """What identifies a computation's code, wherever the module lies, and
    the settings it is run with."""
    code = function.__code__
    identity = (code.co_code, code.co_consts, code.co_names, code.co_varnames)
    return hashlib.sha256(
        repr((identity, json.dumps(settings, sort_keys=True))).encode()
    ).hexdigest()


def _shape(value):
    """A shape read back from JSON: tuples again, nested as it was."""
    if isinstance(value, list) and all(v is None or isinstance(v, int) for v in value):
        return tuple(value)
    return type(value)(_shape(v) for v in value) if isinstance(value, list) else value
