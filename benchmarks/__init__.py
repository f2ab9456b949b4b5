"""Benchmarks: a generated layer against the built-in layer doing the same
work, and the tool's own speed. Run `python -m benchmarks.run`.

Keras reads its backend once, at first import: the numbers must come from
TensorFlow whatever the caller's environment says, so it is set here, before
any module of this package can import Keras.
"""

import os

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
