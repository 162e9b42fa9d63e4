"""Pictures people would rather look at: training curves, attention maps."""

import matplotlib

matplotlib.use("Agg")  # files only, no screen
import matplotlib.pyplot as plt  # noqa: E402

from translate.atomic import atomic_file  # noqa: E402


def _save(figure, path):
    figure.tight_layout()
    with atomic_file(path, mode="wb") as f:
        figure.savefig(f, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)


def training_curves(records, path):
    """Loss and token accuracy per epoch, and dev BLEU against training
    minutes, as a PNG.

    Args:
        records: `translate.rundir.read_metrics(run_dir)`.
        path: the PNG to write (atomically).
    """
    epochs = [r["epoch"] for r in records]
    figure, (loss_ax, acc_ax, time_ax) = plt.subplots(1, 3, figsize=(15, 3.8))
    for key, label in (("loss", "train"), ("val_loss", "dev")):
        loss_ax.plot(epochs, [r.get(key) for r in records], marker="o", label=label)
    for key, label in (("masked_accuracy", "train"), ("val_masked_accuracy", "dev")):
        acc_ax.plot(epochs, [r.get(key) for r in records], marker="o", label=label)
    lines = []
    if any("dev_bleu" in r for r in records):
        bleu_ax = acc_ax.twinx()
        lines = bleu_ax.plot(epochs, [r.get("dev_bleu") for r in records], color="C3",
                             marker="s", label="dev BLEU (right axis)")
        bleu_ax.set_ylabel("BLEU")
    minutes, elapsed = [], 0.0
    for r in records:
        elapsed += r.get("seconds", 0.0) / 60
        minutes.append(elapsed)
    time_ax.plot(minutes, [r.get("dev_bleu") for r in records], color="C3", marker="s")
    time_ax.set(xlabel="training minutes (epoch ends)", ylabel="dev BLEU",
                title="dev BLEU against time")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy (label-smoothed)", title="loss")
    acc_ax.set(xlabel="epoch", ylabel="token accuracy", title="accuracy")
    loss_ax.legend()
    acc_lines, acc_labels = acc_ax.get_legend_handles_labels()
    acc_ax.legend(acc_lines + lines, acc_labels + [ln.get_label() for ln in lines],
                  loc="lower right")
    _save(figure, path)


def attention_heatmap(weights, source_pieces, target_pieces, path):
    """An attention alignment (target rows, source columns) as a PNG.

    Args:
        weights: `(target_len, source_len)` array.
        source_pieces, target_pieces: the tokens labelling the axes.
        path: the PNG to write (atomically).
    """
    figure, ax = plt.subplots(figsize=(0.45 * len(source_pieces) + 2,
                                      0.45 * len(target_pieces) + 1.5))
    ax.imshow(weights, cmap="viridis", aspect="auto", vmin=0.0)
    ax.set_xticks(range(len(source_pieces)), source_pieces, rotation=90)
    ax.set_yticks(range(len(target_pieces)), target_pieces)
    ax.set_xlabel("source")
    ax.set_ylabel("translation")
    _save(figure, path)
