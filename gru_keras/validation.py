"""Input checks that turn bad input into errors naming what is wrong."""

import keras


def check_inputs(cell, inputs, rank):
    """Checks rank, dtype and feature size of a GRU's inputs.

    Args:
        cell: the `GRUCell` (its kernel, once built, fixes the feature size).
        inputs: a tensor, or a shape (then only rank and size are checked).
        rank: 3 for the layer `(batch, time, features)`, 2 for the cell.

    Raises:
        ValueError: naming the expected and the received shape or dtype.
    """
    shape = tuple(inputs.shape) if hasattr(inputs, "shape") else tuple(inputs)
    what = "(batch, time, features)" if rank == 3 else "(batch, features)"
    if len(shape) != rank:
        raise ValueError(
            f"GRU expects inputs of rank {rank}, shape {what}; received "
            f"inputs of shape {shape}.")
    if hasattr(inputs, "dtype"):
        dtype = keras.backend.standardize_dtype(inputs.dtype)
        if not keras.backend.is_float_dtype(dtype):
            raise ValueError(
                f"GRU expects floating-point inputs; received dtype {dtype} "
                f"(shape {shape}). Cast the inputs, or embed token ids first "
                f"(keras.layers.Embedding).")
    kernel = getattr(cell, "kernel", None)
    if kernel is not None and shape[-1] is not None and shape[-1] != kernel.shape[0]:
        raise ValueError(
            f"GRU was built for inputs with {kernel.shape[0]} features (last "
            f"dimension of {what}); received inputs of shape {shape}.")
