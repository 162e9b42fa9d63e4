"""translate: GRU encoder-decoder translation built on `gru_keras` (in progress)."""
