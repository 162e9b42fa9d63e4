"""Training speed side by side with OpenNMT-tf, on this machine, in one run.

    python benchmarks/toolkit.py CORPUS_DIR [--minutes 4] [--venv runs/toolkit/venv]

The reference toolkit: OpenNMT-tf 2.32 with TensorFlow 2.13 (its last
supported version), in a virtual environment of its own (`--venv`, made with
`--python`, Python 3.11, and `pip install` of the pinned versions when it
does not exist: OpenNMT-tf cannot live beside this project's TensorFlow).
Its model is the GRU attention model the project's issues measure it with:
word embeddings of 256, one bidirectional GRU layer of 256 units a
direction, a GRU decoder of 512 units with additive (Bahdanau) attention
and input feeding, Adam at 1e-3, batches of 2,048 tokens.

Both train on the same token streams: the corpus's training split through
its own SentencePiece model (masked as this project's models read it), the
pieces written as space-separated text with the whole vocabulary for
OpenNMT-tf. OpenNMT-tf trains for `--minutes`; the mean of its log's target tokens/s
(pieces here) after its first report is its steady rate. This project's
model of the same shape (`benchmarks/configs/toolkit_exact.yaml`) trains
`--steps` batches twice (`benchmarks/translation.py`: the second pass is its
steady rate), in float32 and, where `train.precision: auto` resolves to
bfloat16 on this CPU, in that too (the toolkit has no bfloat16 training on
CPU: its `--mixed_precision` is float16). Printed: the rates, the ratios,
the CPU, and the parameters of each model. Nothing else should run meanwhile.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
TOOLKIT = ("opennmt-tf==2.32.0", "tensorflow==2.13.1", "tensorflow-addons==0.21.0")
EXACT_CONFIG = ROOT / "benchmarks" / "configs" / "toolkit_exact.yaml"

MODEL_FILE = '''\
import opennmt
import tensorflow as tf
import tensorflow_addons as tfa


def model():
    return opennmt.models.SequenceToSequence(
        source_inputter=opennmt.inputters.WordEmbedder(embedding_size=256),
        target_inputter=opennmt.inputters.WordEmbedder(embedding_size=256),
        encoder=opennmt.encoders.RNNEncoder(
            num_layers=1, num_units=256, bidirectional=True, dropout=0.2,
            cell_class=tf.keras.layers.GRUCell),
        decoder=opennmt.decoders.AttentionalRNNDecoder(
            num_layers=1, num_units=512, dropout=0.2, cell_class=tf.keras.layers.GRUCell,
            attention_mechanism_class=tfa.seq2seq.BahdanauAttention,
            bridge_class=opennmt.layers.DenseBridge))
'''

_RATE = re.compile(r"Step = (\d+) ; steps/s = ([0-9.]+), tokens/s = \d+ "
                   r"\((\d+) source, (\d+) target\)")
_PARAMETERS = re.compile(r"Number of model parameters: (\d+)")


def toolkit_venv(venv, python):
    """The toolkit's Python, installing its environment first if needed."""
    binary = Path(venv) / "bin" / "python"
    if not binary.exists():
        print(f"installing {', '.join(TOOLKIT)} into {venv} ...", flush=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(binary), "-m", "pip", "install", "-q", *TOOLKIT], check=True)
    return binary


def write_pieces(corpus_dir, out_dir):
    """The training split as space-separated pieces (`train.src`, `train.tgt`)
    and the vocabulary (`vocab.txt`), as this project's models read them."""
    from translate import prepare, spans, tokenizer
    from translate.corpus import read_tsv

    model_path = prepare.tokenizer_paths(corpus_dir)[0]
    processor = tokenizer.load_processor(model_path)
    masking = tokenizer.masks_spans(processor)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "train.src", "w", encoding="utf-8") as src, \
            open(out_dir / "train.tgt", "w", encoding="utf-8") as tgt:
        for pair in read_tsv(Path(corpus_dir) / "train.tsv"):
            source, target = (spans.mask_pair(pair.source, pair.target) if masking
                              else (pair.source, pair.target))
            src.write(" ".join(processor.encode(source, out_type=str)) + "\n")
            tgt.write(" ".join(processor.encode(target, out_type=str)) + "\n")
    pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    (out_dir / "vocab.txt").write_text("".join(p + "\n" for p in pieces if " " not in p),
                                       encoding="utf-8")


def toolkit_rate(python, data_dir, minutes):
    """`(steady target tokens/s, parameters, reports)` of OpenNMT-tf training."""
    (data_dir / "model.py").write_text(MODEL_FILE, encoding="utf-8")
    config = {
        "model_dir": str(data_dir / "onmt"),
        "data": {"train_features_file": str(data_dir / "train.src"),
                 "train_labels_file": str(data_dir / "train.tgt"),
                 "source_vocabulary": str(data_dir / "vocab.txt"),
                 "target_vocabulary": str(data_dir / "vocab.txt")},
        "params": {"optimizer": "Adam", "learning_rate": 0.001},
        # Its training log reports the rates every `save_summary_steps`.
        "train": {"batch_size": 2048, "batch_type": "tokens", "max_step": 1_000_000,
                  "save_checkpoints_steps": 1_000_000, "save_summary_steps": 20,
                  "maximum_features_length": 64,
                  "maximum_labels_length": 64, "sample_buffer_size": 500_000},
    }
    (data_dir / "config.json").write_text(json.dumps(config), encoding="utf-8")
    command = [str(python), "-m", "opennmt.bin.main", "--model", str(data_dir / "model.py"),
               "--config", str(data_dir / "config.json"), "train"]
    log_path = data_dir / "onmt.log"
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="1",
                                            PYTHONUNBUFFERED="1"))
        try:
            process.wait(timeout=60 * minutes)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(timeout=60)
    text = log_path.read_text(encoding="utf-8", errors="replace")
    reports = [(int(step), float(target)) for step, _, _, target in _RATE.findall(text)]
    if len(reports) < 2:
        raise RuntimeError(f"OpenNMT-tf reported fewer than two rates in {minutes} minutes; "
                           f"its log: {log_path}\n{text[-2000:]}")
    parameters = _PARAMETERS.search(text)
    # Its first report includes tracing the training step: left out.
    return (statistics.mean(rate for _, rate in reports[1:]),
            int(parameters.group(1)) if parameters else None, reports)


def own_rate(corpus_dir, steps, precision):
    """`(steady target tokens/s, parameters)` of this project's model of the
    same shape, trained in `precision` (a `train.precision` name)."""
    import translation  # benchmarks/translation.py
    from translate import config

    settings = config.load(EXACT_CONFIG)
    settings["train"]["precision"] = precision
    first, steady, parameters = translation.training_rate(corpus_dir, settings, steps,
                                                          with_parameters=True)
    return steady, parameters


def own_precisions():
    """The precisions to run ours in: float32, and the default where it
    resolves to something else on this machine (bfloat16 on a CPU with
    bfloat16 matmuls)."""
    from translate import config, training

    default = training.resolve_precision(config.load(EXACT_CONFIG)["train"]["precision"])
    return ["float32"] + ([default] if default != "float32" else [])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus_dir", type=Path)
    parser.add_argument("--minutes", type=float, default=4.0,
                        help="OpenNMT-tf's training time (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=60,
                        help="batches of this project's model, run twice (default: %(default)s)")
    parser.add_argument("--venv", type=Path, default=ROOT / "runs" / "toolkit" / "venv")
    parser.add_argument("--python", default="python3.11",
                        help="the Python that makes the toolkit's environment")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "toolkit" / "work")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    from translate.machine import describe

    python = toolkit_venv(args.venv, args.python)
    write_pieces(args.corpus_dir, args.work)
    started = time.strftime("%Y-%m-%d %H:%M")
    toolkit, toolkit_parameters, reports = toolkit_rate(python, args.work, args.minutes)
    ours = {}
    for precision in own_precisions():
        rate, our_parameters = own_rate(args.corpus_dir, args.steps, precision)
        ours[precision] = {"target_tokens_per_second": rate, "ratio": rate / toolkit}
    result = {"cpu": describe(), "started": started, "corpus": str(args.corpus_dir),
              "toolkit": {"name": "OpenNMT-tf 2.32.0, TensorFlow 2.13.1",
                          "parameters": toolkit_parameters, "target_tokens_per_second": toolkit,
                          "reports": reports},
              "ours": {"config": str(EXACT_CONFIG.relative_to(ROOT)),
                       "parameters": our_parameters, "precisions": ours}}
    print(f"{result['cpu']}, {started}")
    print(f"| model | parameters | steady target tokens/s | ours / toolkit |\n|---|---|---|---|\n"
          f"| {result['toolkit']['name']}, float32 | {toolkit_parameters:,} | {toolkit:,.0f} | |")
    for precision, figures in ours.items():
        print(f"| gru_keras, {result['ours']['config']}, {precision} | {our_parameters:,} | "
              f"{figures['target_tokens_per_second']:,.0f} | {figures['ratio']:.2f}x |")
    for precision, figures in ours.items():
        print(f"ours in {precision} / toolkit: {figures['ratio']:.2f}x (target >= 1.5x: "
              f"{'met' if figures['ratio'] >= 1.5 else 'NOT met'})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
