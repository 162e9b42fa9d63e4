"""The translation model: a GRU encoder-decoder with attention."""

from translate.model.attention import Attention
from translate.model.seq2seq import Seq2Seq, build_model

__all__ = ["Attention", "Seq2Seq", "build_model"]
