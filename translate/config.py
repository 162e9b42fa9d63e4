"""Model, training and decoding settings: named presets and config files.

A config is a mapping of three sections, each optional in a file (missing
keys come from the preset it names, `tiny` by default):

    preset: small            # optional: start from this preset
    model: {units: 256, ...}
    train: {batch_tokens: 4096, ...}
    decode: {beam_width: 4, ...}

Unknown sections or keys, and values of the wrong type, are errors that
name them.
"""

import copy
import json
from pathlib import Path

DEFAULTS = {
    "model": {
        "embedding_dim": 256, "units": 256,
        "decoder_units": 0,  # 0: the same as units
        "encoder_layers": 1,
        "decoder_layers": 1, "bidirectional": True, "attention": "additive",
        "dropout": 0.2, "share_embeddings": True, "tie_output": False,
        "copy": False,  # copy source pieces (needs a joint vocabulary)
    },
    "train": {
        "batch_tokens": 4096, "max_length": 64,
        # Pairs batch with others whose longer side is within this many
        # tokens of theirs: narrower buckets, less padding (translate.dataset).
        "bucket_width": 8,
        "learning_rate": 2e-3,
        "warmup_steps": 400, "label_smoothing": 0.1, "clip_norm": 1.0,
        # With a time budget: the learning rate falls linearly to zero over
        # this last fraction of it (0: no cool-down).
        "cooldown": 0.0,
        "epochs": 30, "early_stopping_patience": 3, "keep_checkpoints": 3,
        "checkpoint_every_steps": 200, "seed": 0, "precision": "float32",
        # Neural fuzzy repair (translate.matches): each pair also trains with
        # its source followed by the translation of its nearest other pair,
        # where they are at least this similar (also the least similarity of
        # a match given to the model when it translates).
        "memory_matches": False, "memory_matches_min_similarity": 0.0,
        # Polyak averaging: above 0, the weights scored on dev, kept as the
        # best and exported are an exponential moving average of the
        # training weights with this momentum (training goes on from the
        # raw ones). 0: off.
        "weight_average": 0.0,
    },
    "decode": {"beam_width": 4, "length_penalty": 0.6, "max_length_ratio": 2.0,
               "max_length_extra": 10,
               # A masking model's hypotheses write each sentinel of their
               # source once, and no other (translate.decoding).
               "complete_spans": True,
               # Beam search also follows each sentence's greedy hypothesis,
               # one more row of its loop, and answers it where it scores
               # best (translate.decoding): test BLEU +0.1, 10 more of 3,098
               # held-out entries filled, a batch of 8 1.2x slower (README).
               "greedy_row": False},
}

PRESETS = {
    # Tests: seconds on 2 CPU cores.
    "tiny": {"model": {"embedding_dim": 32, "units": 32, "dropout": 0.0},
             "train": {"batch_tokens": 1024, "max_length": 48, "epochs": 2,
                       "warmup_steps": 20, "checkpoint_every_steps": 10}},
    # The demo: a useful model within about 20 minutes on 2 CPU cores. Copying
    # carries names and numbers over (held-out programs: +11.4 chrF over copy
    # where the model without it made +8.9); the cool-down ends the budget
    # at the lowest rates. Tuned for quality at 1,100 steps (a slow machine's
    # 20 minutes): a short warm-up, a high peak and little dropout learn
    # fastest per step (test chrF 59.49 against 47.63 before; a peak of
    # 0.01 instead of 0.005: dev BLEU 45.52 against 41.64; README).
    # bfloat16 where the CPU multiplies it natively: 1.2x the steps in a
    # budget, the same dev loss step for step (README). Label smoothing 0.2:
    # dev BLEU 47.09 and 46.15 (seeds 0, 1) against 45.60 with 0.1, 43.62
    # with 0, 46.54 with 0.3 at 1,100 steps (README).
    "small": {"model": {"copy": True, "dropout": 0.1},
              "train": {"cooldown": 0.25, "warmup_steps": 100, "learning_rate": 1e-2,
                        "label_smoothing": 0.2, "precision": "auto"}},
    # For a GPU.
    "base": {"model": {"embedding_dim": 512, "units": 512, "encoder_layers": 2,
                       "decoder_layers": 2, "dropout": 0.3},
             "train": {"batch_tokens": 8192, "max_length": 128, "warmup_steps": 2000,
                       "checkpoint_every_steps": 1000}},
}

INFERENCE_PRECISIONS = ("float32", "bfloat16")
"""Precisions of a trained model's output projection at inference
(`Seq2Seq.set_inference_precision`): a choice of where it runs, not a setting
of the run."""

CHOICES = {("model", "attention"): ("additive", "multiplicative"),
           ("train", "precision"): ("auto", "float32", "mixed_float16", "mixed_bfloat16")}
RANGES = {("train", "cooldown"): (0.0, 1.0),  # closed intervals
          ("train", "bucket_width"): (1, 1024),
          ("train", "memory_matches_min_similarity"): (0.0, 1.0),
          ("train", "weight_average"): (0.0, 0.9999)}


class ConfigError(ValueError):
    """A config names an unknown preset, section or key, or a bad value."""


def _merge(base, update, where):
    for section, values in update.items():
        if section not in base:
            raise ConfigError(f"{where}: unknown section {section!r}; "
                              f"expected one of {sorted(base)}.")
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: section {section!r} must be a mapping.")
        for key, value in values.items():
            if key not in base[section]:
                raise ConfigError(f"{where}: unknown key {section}.{key}; expected one "
                                  f"of {sorted(base[section])}.")
            expected = type(base[section][key])
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise ConfigError(f"{where}: {section}.{key} must be {expected.__name__}, "
                                  f"got {value!r}.")
            choices = CHOICES.get((section, key))
            if choices and value not in choices:
                raise ConfigError(f"{where}: {section}.{key} must be one of {choices}, "
                                  f"got {value!r}.")
            low, high = RANGES.get((section, key), (value, value))
            if not low <= value <= high:
                raise ConfigError(f"{where}: {section}.{key} must be between {low} and "
                                  f"{high}, got {value!r}.")
            base[section][key] = value
    return base


def preset(name):
    """The full config of a named preset.

    Raises:
        ConfigError: unknown preset name.
    """
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; expected one of {sorted(PRESETS)}.")
    return _merge(copy.deepcopy(DEFAULTS), PRESETS[name], f"preset {name}")


def from_mapping(mapping, where="config"):
    """A full config from a (possibly partial) mapping; see the module doc."""
    mapping = dict(mapping)
    base = preset(mapping.pop("preset", "tiny"))
    return _merge(base, mapping, where)


def load(path):
    """Reads a YAML or JSON config file (by its suffix).

    Raises:
        ConfigError: unreadable file, or bad contents (naming the key).
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml
            mapping = yaml.safe_load(text) or {}
        else:
            mapping = json.loads(text)
    except Exception as error:  # yaml and json raise their own error types
        raise ConfigError(f"{path}: cannot parse: {error}") from error
    if not isinstance(mapping, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level.")
    return from_mapping(mapping, str(path))
