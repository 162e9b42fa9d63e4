"""The notebooks run top to bottom (in their quick setting) and are committed
without outputs."""

import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NAMES = ("train_translation.ipynb", "gru_layer.ipynb")


@pytest.fixture(scope="module")
def jupyter_path(tmp_path_factory):
    """A Jupyter data directory whose "python3" kernel is this interpreter.

    Put first on `JUPYTER_PATH`, it hides any other "python3" kernel spec
    (a user's, the system's, or ipykernel's own, whose `python` is whichever
    is first on PATH) that could start a Python without this project.
    """
    from ipykernel.kernelspec import write_kernel_spec

    data = tmp_path_factory.mktemp("jupyter")
    write_kernel_spec(data / "kernels" / "python3")
    return data


@pytest.fixture
def kernel_env(jupyter_path, monkeypatch):
    """The environment of the test process (kernel specs are looked up in it)
    and of the kernels: quick notebooks, this project importable."""
    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join(
        filter(None, [str(jupyter_path), os.environ.get("JUPYTER_PATH")])))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("GRU_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    return os.environ


def execute(name, work_dir):
    """Runs a notebook in a fresh kernel (cwd: notebooks/); returns it with outputs."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=600,
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute(env=dict(os.environ, GRU_NOTEBOOK_DIR=str(work_dir)))
    return notebook


def outputs(notebook):
    return [output for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.outputs]


def images(notebook):
    return [o for o in outputs(notebook)
            if o.output_type == "display_data" and "image/png" in o.get("data", {})]


def text(notebook):
    return "".join(o.get("text", "") for o in outputs(notebook)
                   if o.output_type == "stream")


def test_kernel_spec_names_this_interpreter(kernel_env):
    assert KernelSpecManager().get_kernel_spec("python3").argv[0] == sys.executable


@pytest.mark.layer
def test_gru_layer_notebook_runs(kernel_env, tmp_path):
    notebook = execute("gru_layer.ipynb", tmp_path)
    printed = text(notebook)
    assert "largest difference from the specification" in printed
    assert "largest difference from keras.layers.GRU" in printed
    assert len(images(notebook)) == 1, "the gates' plot"


def test_train_translation_notebook_runs(kernel_env, tmp_path):
    notebook = execute("train_translation.ipynb", tmp_path)
    printed = text(notebook)
    assert "quick: True" in printed and "BLEU" in printed and "chrF" in printed
    assert len(images(notebook)) == 2, "the loss curve and the attention heatmap"
    assert (tmp_path / "run" / "metrics.jsonl").exists()
    assert (tmp_path / "models" / "translator" / "1" / "saved_model.pb").exists()
    assert "  -> " in printed, "the exported model was queried"
    assert (tmp_path / "test-slice.filled.po").exists()
    assert not (NOTEBOOKS / "runs").exists(), "nothing written beside the notebooks"


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:80]
        assert "execution" not in cell.get("metadata", {}), "no timing metadata"
    assert "widgets" not in notebook.metadata


def test_every_notebook_is_tested_and_documented():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)
    readme = (NOTEBOOKS / "README.md").read_text()
    assert all(name in readme for name in NAMES)
