"""gru_keras: a drop-in, faster `keras.layers.GRU` for TensorFlow.

    from gru_keras import GRU
    layer = GRU(256, return_sequences=True)

`GRU` and `GRUCell` subclass Keras's classes, keep their weights, and are
registered for serialization under the package name "gru_keras", so models
saved with them reload wherever `gru_keras` is imported.
"""

import keras

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        "gru_keras needs Keras's TensorFlow backend; KERAS_BACKEND is "
        f"{keras.backend.backend()!r}. Set KERAS_BACKEND=tensorflow.")

from gru_keras.cell import GRUCell  # noqa: E402
from gru_keras.layer import GRU  # noqa: E402
from gru_keras.compile import (  # noqa: E402
    portable, portable_policy, use_xla, xla_policy)

__all__ = ["GRU", "GRUCell", "portable", "portable_policy", "use_xla",
           "xla_policy"]
__version__ = "0.1.0"
