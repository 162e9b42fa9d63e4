"""The interface of an exported translator: signature names, input and output keys.

Written by `translate.export` and called by `translate.serving` (and anything
else that talks to a served model), defined once here. Imports nothing, so a
client that only talks to the server loads no TensorFlow to know them.
"""

SERVING_SIGNATURE = "serving_default"
"""Beam search (the beam width fixed at export)."""

GREEDY_SIGNATURE = "translate_greedy"
"""Greedy search."""

SIGNATURES = (SERVING_SIGNATURE, GREEDY_SIGNATURE)

INPUT_KEY = "text"
"""The one input: `tf.string`, shape `[None]`, raw sentences."""

OUTPUT_KEYS = ("translation", "score")
"""The outputs: `tf.string` `[None]` translations and `float32` `[None]`
length-normalised log-probabilities."""
