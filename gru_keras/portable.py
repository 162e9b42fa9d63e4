"""The portable graph: plain TensorFlow ops that converters understand.

The fast path (`gru_keras.ops`) runs the recurrence in nested, XLA-compiled
`tf.function`s with a custom gradient. TensorFlow runs that well, but the
LiteRT (TFLite) converter and tf2onnx do not: tf2onnx cannot inline an
XLA-marked function call (a `PartitionedCall` is left in the ONNX graph), and
the TFLite converter cannot lower its loops to builtin ops. So when a model is
traced for conversion or export, the layer builds the graph Keras's own GRU
builds instead: Keras's `backend.rnn` while loop (a TensorList unstacked from
the inputs, one written per output) over a step of plain ops, with the
weights read once outside the loop. The TFLite converter lowers that loop to
a builtin `WHILE`; for the default activations, tf2onnx recognises the step
as a GRU cell (the form `tf.keras` 2 wrote) and emits an ONNX `GRU` op.

The layer chooses this graph automatically while it is traced by Keras's
export (`model.export(...)` in any format, `keras.export.ExportArchive`, and
so `tf.lite.TFLiteConverter.from_keras_model`), by the TFLite converter or by
tf2onnx (`tf2onnx.convert.from_keras`, and `from_function` when the function
is first traced there). A function traced before the converter sees it (the
usual `TFLiteConverter.from_concrete_functions` recipe) must be traced inside
`with gru_keras.portable():`.
"""

import contextlib
import sys
import threading

import tensorflow as tf
from keras.src import backend as keras_backend  # rnn: Keras's own loop

from gru_keras.gates import gate_step, is_sigmoid, project_inputs

_PORTABLE = threading.local()

# Modules whose code traces a model for conversion or export. Checked only
# while a graph is built (once per trace), never when it runs.
CONVERTER_MODULES = ("keras.src.export", "tensorflow.lite.python", "tf2onnx")


@contextlib.contextmanager
def portable(enabled=True):
    """Context manager: trace the portable graph (`True`), the fast one
    (`False`), or choose automatically (`"auto"`, the default).

    "auto" builds the portable graph while a converter or exporter traces
    the model (see the module's docstring) and the fast one otherwise.
    Use `portable()` around tracing that happens outside a converter, e.g.

        with gru_keras.portable():
            concrete = tf.function(model).get_concrete_function(spec)
        tf.lite.TFLiteConverter.from_concrete_functions([concrete], model)

    The portable graph computes the same outputs (within float32 rounding)
    and trains (TensorFlow differentiates its loop), but runs slower in
    TensorFlow than the fast path.

    Args:
        enabled: `True`, `False` or `"auto"`.

    Yields:
        Nothing; the choice holds for calls traced inside the block.

    Raises:
        ValueError: `enabled` is none of these.
    """
    if enabled not in (True, False, "auto"):
        raise ValueError(
            f"portable expects True, False or 'auto', got {enabled!r}.")
    previous = getattr(_PORTABLE, "policy", "auto")
    _PORTABLE.policy = enabled
    try:
        yield
    finally:
        _PORTABLE.policy = previous


def portable_policy():
    """The choice in force on this thread: `True`, `False` or `"auto"`."""
    return getattr(_PORTABLE, "policy", "auto")


def _traced_by_converter():
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name.startswith(CONVERTER_MODULES):
            return True
        frame = frame.f_back
    return False


def tracing_portable():
    """Whether the computation being built now should be the portable graph.

    Returns:
        `True` inside `portable(True)`; under "auto", when a graph (not eager
        code) is being traced from one of `CONVERTER_MODULES`.
    """
    policy = portable_policy()
    if policy != "auto":
        return policy
    return not tf.executing_eagerly() and _traced_by_converter()


def _maps_to_onnx_gru(x, h0, input_masks, recurrent_masks, reset_after,
                      recurrent_activation):
    """Whether tf2onnx can turn the loop into an ONNX `GRU` op: its pattern
    is `tf.keras` 2's `reset_after=True` step with a sigmoid gate (TF1's
    `reset_after=False` cell pattern needs Identity ops that grappler
    removes), without dropout, in one dtype."""
    return (reset_after and x.dtype == h0.dtype and input_masks is None
            and recurrent_masks is None
            and is_sigmoid(recurrent_activation))


def sequence(x, h0, kernel, recurrent_kernel, input_bias=None,
             recurrent_bias=None, mask=None, input_masks=None,
             recurrent_masks=None, *, reset_after=True, activation=tf.tanh,
             recurrent_activation=tf.sigmoid, go_backwards=False,
             return_sequences=True, zero_output_for_mask=False):
    """`gru_keras.ops.sequence` as Keras's own loop over plain ops.

    Same arguments and results as `gru_keras.ops.sequence` (the state in
    `h0`'s dtype, the outputs in `x`'s). The weights are captured by the
    loop as tensors, so a converter that freezes them sees constants. The
    step is written in the form tf2onnx maps to an ONNX `GRU` op where it
    can (see `_maps_to_onnx_gru`).

    Returns:
        `(last_output, outputs, last_state)`.
    """
    state_dtype = h0.dtype
    onnx_gru = _maps_to_onnx_gru(x, h0, input_masks, recurrent_masks,
                                 reset_after, recurrent_activation)
    if onnx_gru and input_bias is None:
        # tf2onnx's pattern has the BiasAdds; zeros change nothing.
        units = recurrent_kernel.shape[0]
        input_bias = tf.zeros([3 * units], kernel.dtype)
        recurrent_bias = tf.zeros([3 * units], recurrent_kernel.dtype)

    def step(x_t, states):
        x_proj = project_inputs(x_t, kernel, input_bias, input_masks)
        h = gate_step(tf.cast(x_proj, state_dtype), states[0],
                      recurrent_kernel, recurrent_bias, recurrent_masks,
                      reset_after, activation, recurrent_activation)
        return tf.cast(h, x.dtype), [h]

    last_output, outputs, states = keras_backend.rnn(
        step, x, [h0], go_backwards=go_backwards, mask=mask,
        input_length=x.shape[1], zero_output_for_mask=zero_output_for_mask,
        return_all_outputs=return_sequences)
    return last_output, outputs, tf.cast(states[0], x.dtype)
