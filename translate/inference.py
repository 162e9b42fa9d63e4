"""Text in, text out: a trained model with its tokenizers and decoding.

A masking model (its tokenizer has the sentinels, `translate.tokenizer.masks_spans`)
reads each message masked (`translate.spans.mask`) and its translations are
unmasked (`translate.spans.unmask`): the message's own spans come back by
index, its line breaks and end whitespace included. The chosen translation is
the best hypothesis of the search that brings every span back exactly once
(the best one when none does); `n_best` gives them all. This is the Python
twin of the export's graph (`translate.export`, `translate.masking`).
"""

from pathlib import Path

import numpy as np
import tensorflow as tf

from translate import batching, decoding, matches, prepare, rundir, spans, tokenizer
from translate.glossary import terms as glossary_terms
from translate.model import build_model
from translate.rundir import BEST_WEIGHTS
from translate.tokenizer import SPECIAL_IDS

PAD, EOS = SPECIAL_IDS["pad"], SPECIAL_IDS["eos"]

BYTES_PER_SOURCE_TOKEN = 64
"""Input bytes kept per source token (16 characters of up to 4 bytes: the
longest SentencePiece piece), here and in the export."""


def choose(oks, terms_ok):
    """The hypothesis to take (as the export's `_best`): the first that keeps
    every span and follows the glossary, else the first that keeps every span,
    else the first."""
    both = [ok and follows for ok, follows in zip(oks, terms_ok)]
    for flags in (both, oks):
        if True in flags:
            return flags.index(True)
    return 0


class Translator:
    """Translates sentences with a `Seq2Seq` model, in batches.

    Args:
        model: a trained `translate.model.Seq2Seq`.
        source_model, target_model: SentencePiece model files.
        beam_width: 1 for greedy search.
        length_penalty, max_length_ratio, max_length_extra: decoding settings.
        max_source_length: longer inputs are truncated (bounded work).
        glossary: a `translate.glossary.Glossary` every translation should
            follow, or None; settable later (`translator.glossary = ...`).
        term_masking: with a glossary and a masking model, a sentence whose
            hypotheses all lack a term takes those of its form with its terms
            masked like spans, each sentinel written as the term's target,
            searched in the same batch (see `n_best_batch`); False: the
            glossary only chooses among the hypotheses.
        reads_matches: the model was trained to read each sentence's memory
            match after it (`translate.matches`; `train.memory_matches`):
            the translation methods then take `matches`.
        min_match_similarity: the least similarity of a match it is given
            (`train.memory_matches_min_similarity`; `translate.matches.given`).
        complete_spans: with a masking model, every hypothesis writes each
            sentinel of its input once and no other (`decode.complete_spans`;
            `translate.decoding`); False: the model may drop or repeat one
            (such a hypothesis is not `ok`).
        greedy_row: beam search also follows each sentence's greedy
            hypothesis, a candidate beside the beams (`decode.greedy_row`;
            `translate.decoding.beam_search`).
    """

    def __init__(self, model, source_model, target_model, *, beam_width=4,
                 length_penalty=0.6, max_length_ratio=2.0, max_length_extra=10,
                 max_source_length=128, glossary=None, term_masking=True,
                 reads_matches=False, min_match_similarity=0.0, complete_spans=True,
                 greedy_row=False):
        self.model = model
        self.reads_matches = reads_matches
        self.min_match_similarity = min_match_similarity
        self.glossary = glossary
        self.term_masking = term_masking
        self.beam_width = beam_width
        self.source = tokenizer.load_processor(source_model)
        self.target = tokenizer.load_processor(target_model)
        self.max_source_length = max_source_length
        self.masks_spans = tokenizer.masks_spans(self.source)
        self._separator = self.source.piece_to_id(tokenizer.MATCH_SEPARATOR)
        self.complete_spans = complete_spans and self.masks_spans
        self.greedy_row = greedy_row
        settings = dict(alpha=length_penalty, max_length_ratio=max_length_ratio,
                        max_length_extra=max_length_extra, complete_spans=self.complete_spans)
        beam_settings = dict(settings, greedy_row=greedy_row)
        spec = [tf.TensorSpec([None, None], tf.int32)]
        # The search is explicit TensorFlow control flow: no autograph needed.
        if beam_width == 1:
            self._decode = tf.function(
                lambda s: decoding.greedy_search(model, s, **settings), input_signature=spec,
                autograph=False)
        else:
            self._decode = tf.function(
                lambda s: decoding.beam_search(model, s, beam_width=beam_width,
                                               alignments=False, **beam_settings),
                input_signature=spec, autograph=False)
        self._decode_n_best = tf.function(
            lambda s, beam_rows: decoding.n_best_search(
                model, s, beam_width=beam_width, beam_rows=beam_rows, **beam_settings),
            input_signature=spec + [tf.TensorSpec([], tf.int32)], autograph=False)
        # Alignments only when asked for (`alignment`): they slow beam search.
        self._decode_aligned = self._decode if beam_width == 1 else tf.function(
            lambda s: decoding.beam_search(model, s, beam_width=beam_width, **beam_settings),
            input_signature=spec, autograph=False)

    @classmethod
    def from_run(cls, run_dir, checkpoint="best", glossary=None, term_masking=True,
                 precision="float32", min_match_similarity=None, **decode_overrides):
        """The model of a training run (its best or latest checkpoint).

        Args:
            run_dir: from `translate train` (it names its corpus directory,
                whose tokenizers are used).
            checkpoint: "best" (the weights of the best dev loss) or "latest"
                (the last training checkpoint).
            glossary, term_masking: as for the constructor.
            precision: of the output projection
                (`Seq2Seq.set_inference_precision`): "float32" or "bfloat16".
            min_match_similarity: for a model that reads matches, the least
                similarity of a match it is given (None: the training's own,
                `train.memory_matches_min_similarity`; a floor chosen on dev:
                `translate.assist.dev_match_floor`).
            **decode_overrides: decoding settings (`beam_width`,
                `length_penalty`, ...) replacing the run config's.

        Raises:
            FileNotFoundError: no run or no checkpoint there.
            ValueError: an unknown precision.
        """
        run_dir = Path(run_dir)
        settings = rundir.read_config(run_dir)
        paths = prepare.tokenizer_paths(rundir.corpus_dir(run_dir))
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
        model.set_inference_precision(precision)
        decode = {**settings["decode"], **decode_overrides}
        return cls(model, *paths, beam_width=decode["beam_width"],
                   length_penalty=decode["length_penalty"],
                   max_length_ratio=decode["max_length_ratio"],
                   max_length_extra=decode["max_length_extra"],
                   complete_spans=decode["complete_spans"], greedy_row=decode["greedy_row"],
                   glossary=glossary,
                   term_masking=term_masking,
                   reads_matches=settings["train"]["memory_matches"],
                   min_match_similarity=(
                       settings["train"]["memory_matches_min_similarity"]
                       if min_match_similarity is None else min_match_similarity))

    def mask(self, sentence, terms=False, match=""):
        """The `translate.spans.Masked` form of a sentence (its text as is,
        no spans, for a model without sentinels); with `terms`, the
        glossary's terms masked too; with a `match` (for a model that
        `reads_matches`; a term-masked form reads none), the separator and
        the match after the sentence (`translate.matches`).

        As in the export, a masking model's input is first cut to
        `BYTES_PER_SOURCE_TOKEN * max_source_length` bytes (more than the pieces it keeps), a
        character cut in half becoming U+FFFD.
        """
        match = self._cut(match) if self.reads_matches and not terms else ""
        if self.masks_spans:
            cut = self._cut(sentence)
            masked = spans.mask(cut, terms=self.glossary if terms else None)
            return matches.masked_input(cut, match, masked) if match else masked
        return spans.Masked(matches.join(sentence, match), ())

    def _cut(self, text):
        """`text` cut as the export cuts its inputs (see `mask`)."""
        cut = text.encode("utf-8")[: BYTES_PER_SOURCE_TOKEN * self.max_source_length]
        return cut.decode("utf-8", errors="replace")

    def encode(self, sentences, masked=None):
        """Padded source ids (masked, EOS added, truncated to the maximum length).

        `masked`: the sentences' `mask` forms, when the caller has them already.
        """
        masked = masked or [self.mask(s) for s in sentences]
        return self._padded([self.source.encode(m.text) for m in masked])

    def _padded(self, pieces):
        """Padded source ids of each input's pieces: truncated, EOS added."""
        rows = [p[: self.max_source_length - 1] + [EOS] for p in pieces]
        width = max(len(r) for r in rows)
        return np.array([r + [PAD] * (width - len(r)) for r in rows], np.int32)

    def _text(self, ids, masked):
        """`(text, ok)` of one hypothesis: detokenized, unmasked."""
        # Cleaned as its input was: as the export does (`translate.export`).
        text = spans.clean(self.target.decode([int(t) for t in ids if t != PAD]))
        if not self.masks_spans:
            return text, True
        unmasked = spans.unmask(text, masked)
        return unmasked.text, unmasked.ok

    def _search(self, masked_all, beam_rows=None):
        """`(hypotheses, scores, oks)` of one search over masked sentences
        (only the first `beam_rows` beam-searched: `decoding.n_best_search`)."""
        pieces = [self.source.encode(m.text) for m in masked_all]
        ids, scores = self._decode_n_best(
            self._padded(pieces), len(masked_all) if beam_rows is None else beam_rows)
        hypotheses, oks = [], []
        scores = scores.numpy()
        for i, (masked, rows) in enumerate(zip(masked_all, ids.numpy())):
            if not masked.text:  # nothing to translate, as the export answers
                texts, flags, scores[i] = [""] * len(rows), [True] * len(rows), 0.0
            else:
                texts, flags = zip(*(self._text(row, masked) if score > decoding.NEG_INF / 2
                                     else ("", False) for row, score in zip(rows, scores[i])))
            # A hypothesis of a message the model read only part of is no
            # translation of it, whatever its spans (as the export's format_ok).
            whole = not self._message_cut(pieces[i])
            hypotheses.append(list(texts))
            oks.append([flag and whole for flag in flags])
        return hypotheses, [list(row) for row in scores], oks

    def _message_cut(self, pieces):
        """Whether the model reads only part of the message in an input's
        `pieces`: more before the match separator (or in all, without one)
        than the `max_source_length - 1` kept (`_padded`); the twin of
        `translate.export.source_ids`'s."""
        if self.reads_matches and self._separator in pieces:
            pieces = pieces[:pieces.index(self._separator)]
        return len(pieces) > self.max_source_length - 1

    def n_best_batch(self, sentences, with_terms=False, matches=None):
        """`(hypotheses, scores, oks)` for one batch: per sentence, lists best first.

        `matches`: for a model that `reads_matches`, each sentence's memory
        match's translation ("" for none); None: no matches.

        With a glossary, `terms_ok` says whether a hypothesis has the target
        of every term the sentence has (outside its spans); a sentence none
        of whose hypotheses keeps its spans and has its terms takes its
        term-masked form's greedy translation (`term_masking`), each term's
        sentinel written as its target, first, then its own first `n - 1`;
        the term-masked forms are searched greedily in the same batch as the
        sentences (one search, not two in a row). This is what the export's
        glossary signatures do.

        With `with_terms`, a fourth list: per hypothesis, `terms_ok`.
        """
        masked = [self.mask(s, match=m)
                  for s, m in zip(sentences, matches or [""] * len(sentences))]
        glossary = self.glossary or None  # an empty glossary is none
        termed, extra = None, []
        if glossary is not None and self.masks_spans:
            termed = [self.mask(s, terms=True) for s in sentences]
            if self.term_masking:  # searched in the same batch, as the export does
                extra = [i for i, m in enumerate(termed) if m.terms]
        hypotheses, scores, oks = self._search(masked + [termed[i] for i in extra],
                                               beam_rows=len(sentences))
        redone = [found[len(sentences):] for found in (hypotheses, scores, oks)]
        hypotheses, scores, oks = (found[:len(sentences)] for found in (hypotheses, scores, oks))
        if glossary is None:
            terms_ok = [[True] * len(texts) for texts in hypotheses]
        elif termed is None:  # no sentinels: the glossary is a check alone
            terms_ok = [[not glossary.missed(s, text) for text in texts]
                        for s, texts in zip(sentences, hypotheses)]
        else:
            terms_ok = [[not glossary_terms.missed_targets(m, text) for text in texts]
                        for m, texts in zip(termed, hypotheses)]
            for j, i in enumerate(extra):
                if not any(a and b for a, b in zip(oks[i], terms_ok[i])):
                    hypotheses[i], scores[i], oks[i] = (
                        found[j][:1] + own[i][:len(own[i]) - 1]
                        for found, own in zip(redone, (hypotheses, scores, oks)))
                    terms_ok[i] = [not glossary_terms.missed_targets(termed[i], text)
                                   for text in hypotheses[i]]
        if not with_terms:
            return hypotheses, scores, oks
        return hypotheses, scores, oks, terms_ok

    def translate_batch(self, sentences, alignments=False, matches=None):
        """`(translations, scores, attention)` for one batch of sentences
        (and their `matches`, as in `n_best_batch`).

        Each translation is the best hypothesis that keeps every protected
        span (the best one if none does). The attention weights are those of
        the chosen hypotheses with `alignments` (then the search's best
        hypothesis is taken as it is); without, zeros (it runs faster).
        """
        if alignments:
            masked = [self.mask(s, match=m)
                      for s, m in zip(sentences, matches or [""] * len(sentences))]
            ids, scores, attention = self._decode_aligned(self.encode(None, masked))
            texts = [self._text(row, m)[0] for m, row in zip(masked, ids.numpy())]
            return texts, scores.numpy(), attention.numpy()
        hypotheses, scores, oks, terms_ok = self.n_best_batch(sentences, with_terms=True,
                                                              matches=matches)
        chosen = [choose(flags, follows) for flags, follows in zip(oks, terms_ok)]
        texts = [h[i] for h, i in zip(hypotheses, chosen)]
        best = np.array([row[i] for row, i in zip(scores, chosen)], np.float32)
        return texts, best, np.zeros([len(sentences), 0, 0], np.float32)

    def n_best(self, sentences, batch_size=64, progress=None, matches=None):
        """All hypotheses of each sentence, those keeping every span first.

        Args:
            sentences: a list of strings.
            batch_size: sentences per search.
            progress: optional wrapper of the batch iterator.
            matches: as in `n_best_batch`.

        Returns:
            One list of translations per sentence: the search's hypotheses
            (`beam_width` of them; one for greedy search), unmasked, those
            that bring every protected span back exactly once first, each
            group best first.
        """
        def batch(sentences, matches):
            hypotheses, _, oks = self.n_best_batch(sentences, matches=matches)
            return [[h for h, ok in sorted(zip(texts, flags), key=lambda x: not x[1])]
                    for texts, flags in zip(hypotheses, oks)]
        return batching.by_length_with_matches(batch, sentences, matches, batch_size, progress)

    def translate(self, sentences, batch_size=64, progress=None, matches=None):
        """Translations of `sentences`, in order.

        Sentences are decoded in batches of similar length (less padding);
        `progress`, if given, wraps the batch iterator (a progress bar);
        `matches` as in `n_best_batch`.
        """
        return batching.by_length_with_matches(
            lambda s, m: self.translate_batch(s, matches=m)[0], sentences, matches,
            batch_size, progress)

    def alignment(self, sentence):
        """`(source_pieces, target_pieces, weights)` for one sentence."""
        texts, _, attention = self.translate_batch([sentence], alignments=True)
        masked = self.mask(sentence).text
        source = [self.source.id_to_piece(i) for i in self.source.encode(masked)] + ["</s>"]
        target = self.target.encode(self.mask(texts[0]).text, out_type=str) + ["</s>"]
        return source, target, attention[0][: len(target), : len(source)]
