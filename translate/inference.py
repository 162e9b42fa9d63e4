"""Text in, text out: a trained model with its tokenizers and decoding."""

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from translate import config as config_lib
from translate import batching, decoding, prepare, tokenizer
from translate.model import build_model
from translate.rundir import BEST_WEIGHTS
from translate.tokenizer import SPECIAL_IDS

PAD, EOS = SPECIAL_IDS["pad"], SPECIAL_IDS["eos"]


class Translator:
    """Translates sentences with a `Seq2Seq` model, in batches.

    Args:
        model: a trained `translate.model.Seq2Seq`.
        source_model, target_model: SentencePiece model files.
        beam_width: 1 for greedy search.
        length_penalty, max_length_ratio, max_length_extra: decoding settings.
        max_source_length: longer inputs are truncated (bounded work).
    """

    def __init__(self, model, source_model, target_model, *, beam_width=4,
                 length_penalty=0.6, max_length_ratio=2.0, max_length_extra=10,
                 max_source_length=128):
        self.model = model
        self.beam_width = beam_width
        self.source = tokenizer.load_processor(source_model)
        self.target = tokenizer.load_processor(target_model)
        self.max_source_length = max_source_length
        settings = dict(alpha=length_penalty, max_length_ratio=max_length_ratio,
                        max_length_extra=max_length_extra)
        spec = [tf.TensorSpec([None, None], tf.int32)]
        # The search is explicit TensorFlow control flow: no autograph needed.
        if beam_width == 1:
            self._decode = tf.function(
                lambda s: decoding.greedy_search(model, s, **settings), input_signature=spec,
                autograph=False)
        else:
            self._decode = tf.function(
                lambda s: decoding.beam_search(model, s, beam_width=beam_width,
                                               alignments=False, **settings),
                input_signature=spec, autograph=False)
        # Alignments only when asked for (`alignment`): they slow beam search.
        self._decode_aligned = self._decode if beam_width == 1 else tf.function(
            lambda s: decoding.beam_search(model, s, beam_width=beam_width, **settings),
            input_signature=spec, autograph=False)

    @classmethod
    def from_run(cls, run_dir, checkpoint="best", **decode_overrides):
        """The model of a training run (its best or latest checkpoint).

        Args:
            run_dir: from `translate train` (it names its corpus directory,
                whose tokenizers are used).
            checkpoint: "best" (the weights of the best dev loss) or "latest"
                (the last training checkpoint).
            **decode_overrides: decoding settings (`beam_width`,
                `length_penalty`, ...) replacing the run config's.

        Raises:
            FileNotFoundError: no run or no checkpoint there.
        """
        run_dir = Path(run_dir)
        if not (run_dir / "config.json").exists():
            raise FileNotFoundError(f"{run_dir} is not a training run (no config.json).")
        settings = config_lib.from_mapping(json.loads((run_dir / "config.json").read_text()))
        corpus_dir = Path(json.loads((run_dir / "run.json").read_text())["corpus_dir"])
        paths = prepare.tokenizer_paths(corpus_dir)
        model = build_model(settings["model"], *[tokenizer.vocab_size(p) for p in paths])
        if checkpoint == "best":
            weights = run_dir / BEST_WEIGHTS
            if not weights.exists():
                raise FileNotFoundError(f"no {weights}: no epoch has finished yet.")
            model.load_weights(weights)
        else:
            latest = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
            if latest is None:
                raise FileNotFoundError(f"no checkpoint in {run_dir / 'checkpoints'}.")
            # The checkpoint also holds the optimizer, which is not needed here.
            tf.train.Checkpoint(model=model).restore(latest).expect_partial()
        decode = {**settings["decode"], **decode_overrides}
        return cls(model, *paths, beam_width=decode["beam_width"],
                   length_penalty=decode["length_penalty"],
                   max_length_ratio=decode["max_length_ratio"],
                   max_length_extra=decode["max_length_extra"])

    def encode(self, sentences):
        """Padded source ids (EOS added, truncated to the maximum length)."""
        rows = [self.source.encode(s)[: self.max_source_length - 1] + [EOS]
                for s in sentences]
        width = max(len(r) for r in rows)
        return np.array([r + [PAD] * (width - len(r)) for r in rows], np.int32)

    def translate_batch(self, sentences, alignments=False):
        """`(translations, scores, attention)` for one batch of sentences.

        The attention weights are those of the chosen hypotheses with
        `alignments`; without, beam search's are zeros (it runs faster).
        """
        decode = self._decode_aligned if alignments else self._decode
        ids, scores, attention = decode(self.encode(sentences))
        texts = [self.target.decode([int(t) for t in row if t != PAD])
                 for row in ids.numpy()]
        return texts, scores.numpy(), attention.numpy()

    def translate(self, sentences, batch_size=64, progress=None):
        """Translations of `sentences`, in order.

        Sentences are decoded in batches of similar length (less padding);
        `progress`, if given, wraps the batch iterator (a progress bar).
        """
        return batching.by_length(lambda batch: self.translate_batch(batch)[0],
                                  sentences, batch_size, progress)

    def alignment(self, sentence):
        """`(source_pieces, target_pieces, weights)` for one sentence."""
        texts, _, attention = self.translate_batch([sentence], alignments=True)
        source = [self.source.id_to_piece(i) for i in self.source.encode(sentence)] + ["</s>"]
        target = self.target.encode(texts[0], out_type=str) + ["</s>"]
        return source, target, attention[0][: len(target), : len(source)]
