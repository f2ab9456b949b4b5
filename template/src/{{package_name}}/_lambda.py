"""The Lambda that runs a generated layer's computation.

Shared by every layer of the package; generated, do not edit.
"""

import keras


class BoundLambda(keras.layers.Lambda):
    """A `Lambda` whose `arguments` hold variables that its parent layer owns.

    Keras tracks every variable a layer holds, so a plain `Lambda` given the
    parent's variables in `arguments` would also save them: each weight would
    be written twice to a `.keras` file. The parent saves and loads them; this
    layer saves nothing of its own. It is never serialized either: the parent
    creates it again in `build()`.
    """

    def save_own_variables(self, store):
        pass

    def load_own_variables(self, store):
        pass
