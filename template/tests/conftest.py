"""Shared fixtures of the generated tests."""

import keras
import pytest


@pytest.fixture(autouse=True)
def _seeded():
    """Each test starts from the same random state, whatever ran before it."""
    keras.utils.set_random_seed(0)
    yield
    keras.config.set_dtype_policy("float32")
