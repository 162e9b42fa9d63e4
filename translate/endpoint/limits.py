"""What one request to the endpoint may ask, and how requests are batched.

Apart from the app so that the command line knows the defaults without
loading the web framework.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one request may ask, and how requests are batched.

    Attributes:
        max_body_bytes: the largest request body (over it: 413).
        max_texts: the most texts in one request's `q` (LibreTranslate's
            `--batch-limit`).
        max_chars: the most characters in one text (its `--char-limit`).
        max_alternatives: the most `alternatives` a request may ask for.
        batch_sentences: the most sentences gathered into one model call
            (1: no batching, each request a call of its own).
        batch_wait: the most seconds a request waits for others to join its
            model call.
        max_pending: the most sentences waiting for the model (beyond it:
            503).

    Raises:
        ValueError: a limit that is not a positive integer, or a
            `batch_wait` outside 0-60 seconds.
    """

    max_body_bytes: int = 1 << 20
    max_texts: int = 128
    max_chars: int = 5000
    max_alternatives: int = 8
    batch_sentences: int = 64
    batch_wait: float = 0.005
    max_pending: int = 4096

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "batch_wait":
                if not 0 <= value < 60:
                    raise ValueError(f"batch_wait must be from 0 to 60 seconds, got {value!r}.")
            elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{field.name} must be a positive integer, got {value!r}.")
