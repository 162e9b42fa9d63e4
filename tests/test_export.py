"""`translate export`: a SavedModel for TF Serving, raw sentences in, translations
out, that loads and runs with TensorFlow and TensorFlow Text alone."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from translate import config
from translate.evaluation import read_tsv_pairs
from translate.export import _gru_layers, _without_cudnn, export, next_version
from translate.inference import Translator
from translate.model import Seq2Seq

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
BIN = Path(sys.executable).parent

# A fresh interpreter that cannot import this project: TF1's session loader,
# the signature run by tensor names, as TF Serving runs it.
TF1_LOADER = r"""
import importlib.abc, json, sys

class Forbidden(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("translate", "gru_keras"):
            raise ImportError(f"the export must not need {name}")
        return None

sys.meta_path.insert(0, Forbidden())
import tensorflow as tf
import tensorflow_text  # registers the SentencePiece ops

export_dir, sentences = sys.argv[1], json.loads(sys.stdin.read())
with tf.compat.v1.Session(graph=tf.Graph()) as sess:
    meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], export_dir)
    signature = meta.signature_def["serving_default"]
    fetches = {key: signature.outputs[key].name for key in ("translation", "score")}
    out = sess.run(fetches, {signature.inputs["text"].name: sentences})
print(json.dumps({
    "translation": [t.decode("utf-8") for t in out["translation"]],
    "score": [float(s) for s in out["score"]],
    "dtypes": {"text": signature.inputs["text"].dtype,
               **{k: signature.outputs[k].dtype for k in fetches}},
    "project_modules": sorted(m for m in sys.modules
                              if m.split(".")[0] in ("translate", "gru_keras")),
}))
"""

# saved_model_cli with the TF Text ops registered (it has no flag to load them).
SAVED_MODEL_CLI_WITH_TF_TEXT = (
    "import sys, tensorflow_text; "
    "from tensorflow.python.tools.saved_model_cli import main; "
    "sys.argv[0] = 'saved_model_cli'; sys.exit(main())")


@pytest.fixture(scope="module")
def run(tiny_export):
    """The shared tiny run with varied outputs (conftest.py), already exported."""
    return tiny_export


@pytest.fixture(scope="module")
def exported(run):
    return run / "models" / "translator" / "1"


@pytest.fixture(scope="module")
def settings(exported):
    return json.loads((exported / "assets" / "decoding.json").read_text())


@pytest.fixture(scope="module")
def translator(run, settings):
    return Translator.from_run(run / "run", beam_width=settings["beam_width"],
                               length_penalty=settings["length_penalty"])


@pytest.fixture(scope="module")
def sentences(run):
    """The test split's sources (a handful: the synthetic corpus has 140
    distinct ones), then the dev split's, then training sources, 48 in all."""
    sources = []
    for split in ("test", "dev", "train"):
        sources += read_tsv_pairs(run / "corpus" / f"{split}.tsv")[0]
    return sources[:48]


@pytest.fixture(scope="module")
def serve(exported):
    loaded = tf.saved_model.load(str(exported))

    def call(texts, signature="serving_default"):
        out = loaded.signatures[signature](text=tf.constant(texts, tf.string))
        return [t.decode("utf-8") for t in out["translation"].numpy()], out["score"].numpy()
    return call


def hidden_entries(directory):
    return [p.name for p in Path(directory).iterdir() if p.name.startswith(".")]


def test_tf1_session_loader_in_a_fresh_process_matches_the_translator(
        exported, translator, sentences, settings):
    assert exported.name == "1" and exported.parent.name == "translator"
    result = subprocess.run([sys.executable, "-c", TF1_LOADER, str(exported)],
                            input=json.dumps(sentences), capture_output=True, text=True,
                            env=ENV, cwd=exported.parent, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.splitlines()[-1])
    assert served["project_modules"] == []
    assert served["dtypes"] == {"text": tf.string.as_datatype_enum,
                                "translation": tf.string.as_datatype_enum,
                                "score": tf.float32.as_datatype_enum}
    expected, scores, _ = translator.translate_batch(sentences)
    assert sum(map(bool, expected)) > 0.9 * len(expected), "not a vacuous comparison"
    assert len(set(expected)) > 0.5 * len(expected), "not a vacuous comparison"
    assert served["translation"] == expected
    np.testing.assert_allclose(served["score"], scores, atol=1e-3)
    assert settings["beam_width"] == config.preset("tiny")["decode"]["beam_width"]


# `translate po` and `translate serve` load an export as `ExportedModel`.
EXPORTED_MODEL = r"""
import json, sys
from translate.exported import ExportedModel
model = ExportedModel(sys.argv[1], optimize=False)  # as translate po loads it
sentences = json.loads(sys.stdin.read()) if len(sys.argv) < 3 else []
found, n_best = model.translate(sentences), model.n_best(sentences, with_format=True)
print(json.dumps({"translations": found, "n_best": n_best, "keras": "keras" in sys.modules,
                  "tensorflow_text": "tensorflow_text" in sys.modules}))
"""


def exported_model_in_a_fresh_process(path, sentences=(), *extra):
    result = subprocess.run([sys.executable, "-c", EXPORTED_MODEL, str(path), *extra],
                            input=json.dumps(list(sentences)), capture_output=True, text=True,
                            env=ENV, cwd=Path(__file__).resolve().parents[1], timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_exported_model_loads_without_keras_and_translates_as_in_process(exported, sentences):
    """A fresh process loads TensorFlow Text's op libraries, not its Keras
    layers: no Keras at all, and, without Grappler, the same translations
    and n best as a process that imported both and let Grappler optimize."""
    from translate.exported import ExportedModel

    fresh = exported_model_in_a_fresh_process(exported, sentences)
    model = ExportedModel(exported)
    n_best = [[list(pair) for pair in row] for row in model.n_best(sentences, with_format=True)]
    assert fresh == {"translations": model.translate(sentences), "n_best": n_best,
                     "keras": False, "tensorflow_text": False}
    assert sum(map(bool, fresh["translations"])) > 0.9 * len(sentences)


def test_exported_model_loads_a_graph_with_other_text_ops(tmp_path):
    import tensorflow_text as tf_text

    class Words(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def serve(self, text):
            words = tf_text.WhitespaceTokenizer().tokenize(text)
            return {"translation": tf.strings.reduce_join(words, axis=-1, separator="_")}

    module = Words()
    tf.saved_model.save(module, str(tmp_path / "words" / "1"),
                        signatures={"serving_default": module.serve})
    fresh = exported_model_in_a_fresh_process(tmp_path / "words", (), "load only")
    assert fresh["tensorflow_text"] is True, "the fallback: the whole package"


def test_a_copying_model_exports_and_matches_the_translator(run, sentences, tmp_path):
    from messages import tiny_run, vary_weights

    tiny_run(run / "corpus", tmp_path / "run", epochs=1, copy=True)
    vary_weights(tmp_path / "run")
    export(tmp_path / "run", tmp_path / "models")
    loaded = tf.saved_model.load(str(tmp_path / "models" / "translator" / "1"))
    out = loaded.signatures["serving_default"](text=tf.constant(sentences[:16]))
    want = Translator.from_run(tmp_path / "run").translate(sentences[:16])
    assert [t.decode("utf-8") for t in out["translation"].numpy()] == want
    assert sum(map(len, want)) > 16 * 5  # long, varied outputs


def _graph(path):
    """An export's SavedModel proto and every node of its first graph, its
    functions' included."""
    proto = saved_model_pb2.SavedModel.FromString((path / "saved_model.pb").read_bytes())
    graph = proto.meta_graphs[0].graph_def
    return proto, list(graph.node) + [n for f in graph.library.function for n in f.node_def]


def _matmul_types(path):
    """The operand types of the MatMul ops in an export's graph."""
    return {tf.dtypes.as_dtype(n.attr["T"].type).name for n in _graph(path)[1]
            if n.op in ("MatMul", "BatchMatMulV2")}


def test_a_bfloat16_export_records_it_and_translates_as_the_translator(
        run, exported, settings, sentences, tmp_path):
    assert settings["precision"] == "float32"
    assert _matmul_types(exported) == {"float32"}
    path = export(run / "run", tmp_path / "models", precision="bfloat16")
    assert json.loads((path / "assets" / "decoding.json").read_text())["precision"] == "bfloat16"
    assert "bfloat16" in _matmul_types(path)
    loaded = tf.saved_model.load(str(path))
    out = loaded.signatures["serving_default"](text=tf.constant(sentences[:16]))
    want = Translator.from_run(run / "run", precision="bfloat16").translate(sentences[:16])
    assert [t.decode("utf-8") for t in out["translation"].numpy()] == want
    from translate.exported import ExportedModel
    from translate.machine import has_bfloat16_matmuls

    for where, precision in ((exported, "float32"), (path, "bfloat16")):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = ExportedModel(where, optimize=False)
        assert model.precision == precision
        slower = [w for w in caught if "does not multiply natively" in str(w.message)]
        assert bool(slower) is (precision == "bfloat16" and not has_bfloat16_matmuls())
    assert model.translate(sentences[:16]) == want
    with pytest.raises(ValueError, match="precision must be one of"):
        export(run / "run", tmp_path / "other", precision="half")
    assert not (tmp_path / "other").exists()


def test_an_export_with_the_greedy_row_follows_the_translator_with_it(
        run, settings, sentences, tmp_path):
    from translate.exported import ExportedModel

    assert settings["greedy_row"] is False
    path = export(run / "run", tmp_path / "models", greedy_row=True)
    assert json.loads((path / "assets" / "decoding.json").read_text())["greedy_row"] is True
    translator = Translator.from_run(run / "run", greedy_row=True)
    model = ExportedModel(path)
    assert model.translate(sentences) == translator.translate(sentences)
    # (Which hypotheses the row changes: tests/test_decoding.py; on this
    # tiny model's outputs, none.)
    assert model.n_best(sentences) == translator.n_best(sentences)


def test_greedy_signature_matches_the_greedy_translator(run, serve, sentences):
    greedy = Translator.from_run(run / "run", beam_width=1)
    texts, scores = serve(sentences, "translate_greedy")
    expected, expected_scores, _ = greedy.translate_batch(sentences)
    assert texts == expected
    np.testing.assert_allclose(scores, expected_scores, atol=1e-3)


def test_saved_model_cli_shows_and_runs_the_signature(exported, translator, tmp_path):
    shown = subprocess.run(
        [BIN / "saved_model_cli", "show", "--dir", exported, "--tag_set", "serve",
         "--signature_def", "serving_default"],
        capture_output=True, text=True, env=ENV, timeout=300)
    assert shown.returncode == 0, shown.stderr[-3000:]
    for expected in ("inputs['text']", "DT_STRING", "outputs['translation']",
                     "outputs['score']", "DT_FLOAT", "shape: (-1)"):
        assert expected in shown.stdout, shown.stdout
    listed = subprocess.run([BIN / "saved_model_cli", "show", "--dir", exported,
                             "--tag_set", "serve"],
                            capture_output=True, text=True, env=ENV, timeout=300)
    assert '"serving_default"' in listed.stdout and '"translate_greedy"' in listed.stdout

    sentence = "Could not open file %s for the printer"
    ran = subprocess.run(
        [sys.executable, "-c", SAVED_MODEL_CLI_WITH_TF_TEXT, "run", "--dir", exported,
         "--tag_set", "serve", "--signature_def", "serving_default",
         "--input_exprs", f'text=["{sentence}"]', "--outdir", tmp_path / "out"],
        capture_output=True, text=True, env=ENV, timeout=300)
    assert ran.returncode == 0, ran.stderr[-3000:]
    translation = np.load(tmp_path / "out" / "translation.npy", allow_pickle=True)
    assert [t.decode("utf-8") for t in translation] == translator.translate_batch([sentence])[0]
    assert np.load(tmp_path / "out" / "score.npy").shape == (1,)


def test_odd_inputs_all_return_and_do_not_disturb_the_batch(serve, translator):
    normal = "Deleted {count} items for the folder"
    huge = ("Could not open file %s for the user " * 3000).encode()[:100_000]
    controls = "Line %u:\x00\x07\x1b for the\tfile\r\n\u0085\u2028".encode()
    batch = [b"", b"\xff\xfe", controls, huge, normal.encode(), "  \u00a0\u2028 ".encode()]
    texts, scores = serve(batch)
    assert len(texts) == len(scores) == len(batch)
    assert texts[0] == "" and scores[0] == 0.0, "empty in, empty out"
    assert texts[5] == "" and scores[5] == 0.0, "only whitespace is empty"
    assert texts[4] == serve([normal])[0][0] == translator.translate_batch([normal])[0][0]
    assert texts[2] == translator.translate_batch([controls.decode()])[0][0], \
        "control characters and line breaks as the Python path treats them"
    assert texts[3] == translator.translate_batch([huge.decode()])[0][0], \
        "cutting a huge input by bytes keeps the pieces the model sees"
    assert np.all(np.isfinite(scores))


FORMAT_CASES = [
    "Could not open file %s.\n", "Copy %(src)s to %(dst)s", "Click <b>here</b> for {count} items",
    "  Thank you for using %(site_name)s!\n%(site_domain)s\n", "Tab\there  twice", "", " \n",
    "Deleted {count} items for the folder", "<a href=\"mailto:%(email)s\">%(email)s</a>",
    # Longer than the model reads (128 pieces): no hypothesis translates it.
    "Could not open the folder for the user. " * 40,
]


def test_the_graph_masks_and_unmasks_as_the_python_path(exported, translator, settings):
    from translate import spans

    loaded = tf.saved_model.load(str(exported))
    out = loaded.signatures["translate_n_best"](text=tf.constant(FORMAT_CASES))
    hypotheses = [[t.decode("utf-8") for t in row] for row in out["translations"].numpy()]
    ok = out["format_ok"].numpy().tolist()
    assert out["scores"].shape == (len(FORMAT_CASES), settings["beam_width"])
    expected, scores, expected_ok = translator.n_best_batch(FORMAT_CASES)
    assert hypotheses == expected and ok == expected_ok
    np.testing.assert_allclose(out["scores"].numpy(), scores, atol=1e-3)
    assert any(h for row in hypotheses for h in row), "not a vacuous comparison"
    assert not any(ok[-1]) and any(hypotheses[-1]), "a message cut short is flagged"

    best = loaded.signatures["serving_default"](text=tf.constant(FORMAT_CASES))
    chosen = [t.decode("utf-8") for t in best["translation"].numpy()]
    assert chosen == translator.translate_batch(FORMAT_CASES)[0]
    for row, flags, text, text_ok in zip(hypotheses, ok, chosen, best["format_ok"].numpy()):
        first = flags.index(True) if True in flags else 0  # the first that keeps every span
        assert (text, bool(text_ok)) == (row[first], flags[first])
    for source, row, flags in zip(FORMAT_CASES, hypotheses, ok):
        masked = spans.mask(source)
        for hypothesis, fine in zip(row, flags):
            if hypothesis:
                assert hypothesis.startswith(masked.lead) and hypothesis.endswith(masked.trail)
            if fine:
                assert all(span in hypothesis for span in masked.spans)


GLOSSARY_CASES = FORMAT_CASES + [
    "Could not open file %s for the printer", "Deleted {count} items for the Folders",
    "See @GPG@ for details for the window", "%(name)s is ready for the network"]


def test_the_glossary_signatures_follow_the_python_path(run, exported, settings):
    from translate.glossary import Entry, Glossary

    glossary = Glossary([Entry(s, t, "test") for s, t in [
        ("printer", "Drucker"), ("folder", "Verzeichnis"), ("window", "Fenster"),
        ("network", "Netz"), ("details", "Einzelheiten")]])
    translator = Translator.from_run(run / "run", beam_width=settings["beam_width"],
                                     length_penalty=settings["length_penalty"],
                                     glossary=glossary)
    loaded = tf.saved_model.load(str(exported))
    inputs = dict(text=tf.constant(GLOSSARY_CASES),
                  glossary_source=tf.constant(glossary.sources[::-1]),
                  glossary_target=tf.constant(glossary.targets[::-1]))
    out = loaded.signatures["translate_n_best_glossary"](**inputs)
    hypotheses = [[t.decode("utf-8") for t in row] for row in out["translations"].numpy()]
    expected, scores, expected_ok, expected_terms = translator.n_best_batch(
        GLOSSARY_CASES, with_terms=True)
    assert hypotheses == expected
    assert out["format_ok"].numpy().tolist() == expected_ok
    assert out["terms_ok"].numpy().tolist() == expected_terms
    np.testing.assert_allclose(out["scores"].numpy(), scores, atol=1e-3)
    # Not vacuous: terms were masked, and terms_ok says whether their targets came out.
    masked = [translator.mask(case, terms=True) for case in GLOSSARY_CASES]
    assert sum(bool(m.terms) for m in masked) == 6  # the long message's "folder" too
    for m, row, flags in zip(masked, hypotheses, out["terms_ok"].numpy()):
        targets = [m.targets[i].lower() for i in m.terms]
        assert [all(t in h.lower() for t in targets) for h in row] == flags.tolist()

    best = loaded.signatures["translate_glossary"](**inputs)
    assert ([t.decode("utf-8") for t in best["translation"].numpy()]
            == translator.translate_batch(GLOSSARY_CASES)[0])
    assert set(best) == {"translation", "score", "format_ok", "terms_ok"}


def test_an_empty_batch_gives_empty_outputs(serve):
    texts, scores = serve(tf.zeros([0], tf.string))
    assert texts == [] and scores.shape == (0,)


def test_warmup_requests_are_prediction_logs(exported, serve):
    from tensorflow_serving.apis import prediction_log_pb2

    path = exported / "assets.extra" / "tf_serving_warmup_requests"
    records = list(tf.data.TFRecordDataset(str(path)).as_numpy_iterator())
    assert 1 <= len(records) <= 1000
    for record in records:
        log = prediction_log_pb2.PredictionLog.FromString(record)
        request = log.predict_log.request
        assert request.model_spec.name == "translator"
        assert request.model_spec.signature_name == "serving_default"
        assert list(request.inputs) == ["text"]
        texts = tf.make_ndarray(request.inputs["text"])
        assert request.inputs["text"].dtype == tf.string.as_datatype_enum
        assert len(serve(list(texts))[0]) == len(texts), "replays as TF Serving would"


def test_graph_has_no_xla_must_compile_and_no_python_ops(exported):
    proto, nodes = _graph(exported)
    assert len(proto.meta_graphs) == 1
    functions = proto.meta_graphs[0].graph_def.library.function
    marked = [f.signature.name for f in functions if f.attr["_XlaMustCompile"].b]
    marked += [n.name for n in nodes if n.attr["_XlaMustCompile"].b]
    ops = {n.op for n in nodes}
    assert len(functions) > 10
    assert marked == []
    assert not ops & {"EagerPyFunc", "PyFunc", "PyFuncStateless", "XlaLaunch", "_XlaRun"}
    assert "SentencepieceTokenizeOp" in ops and "SentencepieceDetokenizeOp" in ops


def test_export_traces_every_gru_without_cudnn_and_restores_the_setting():
    model = Seq2Seq(50, 50, embedding_dim=8, units=8, encoder_layers=2, decoder_layers=2)
    layers = _gru_layers(model)
    assert len(layers) == 2 * 2 + 2, "forward and backward encoder layers, decoder layers"
    with _without_cudnn(model):
        assert {layer.use_cudnn for layer in layers} == {False}
    assert {layer.use_cudnn for layer in layers} == {"auto"}


def test_versions_numbering_and_no_overwrite(run, exported, tmp_path):
    assert hidden_entries(exported.parent) == [], "no temporary directories left"
    assert sorted(p.name for p in exported.iterdir()) == [
        "assets", "assets.extra", "fingerprint.pb", "saved_model.pb", "variables"]
    for name in ("1", "3", "10", ".11.tmp", "abc", "٣"):
        (tmp_path / name).mkdir()
    (tmp_path / "20").write_text("a file, not a version")
    assert next_version(tmp_path) == 11
    assert next_version(tmp_path / "missing") == 1
    with pytest.raises(FileExistsError, match="version 1 of model 'translator'"):
        export(run / "run", run / "models", version=1)
    assert (exported / "saved_model.pb").exists()
    with pytest.raises(ValueError, match="version"):
        export(run / "run", run / "models", version=0)


def test_failed_export_leaves_nothing(run, tmp_path, monkeypatch):
    def interrupted(module, export_dir, **kwargs):
        (Path(export_dir) / "saved_model.pb").write_bytes(b"half")
        raise RuntimeError("interrupted")

    monkeypatch.setattr(tf.saved_model, "save", interrupted)
    with pytest.raises(RuntimeError, match="interrupted"):
        export(run / "run", tmp_path, name="m")
    assert list((tmp_path / "m").iterdir()) == []


def test_cli_exports_a_new_version_and_replaces_one_only_with_force(run, tmp_path):
    base = tmp_path / "models"
    (base / "translator" / "2").mkdir(parents=True)
    (base / "translator" / "2" / "old").write_text("old")

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "translate", "export", run / "run",
                               "--out", base, *map(str, args)],
                              cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)

    refused = cli("--version", "2")
    assert refused.returncode == 2 and "version 2" in refused.stderr
    done = cli("--version", "2", "--force", "--beam", "1", "--greedy-row")
    assert done.returncode == 0, done.stderr[-3000:]
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path == base / "translator" / "2"
    assert not (path / "old").exists() and (path / "saved_model.pb").exists()
    recorded = json.loads((path / "assets" / "decoding.json").read_text())
    assert (recorded["beam_width"], recorded["greedy_row"]) == (1, True)
    assert hidden_entries(path.parent) == []
    assert next_version(path.parent) == 3


def test_a_shortlist_export_records_it_and_with_every_piece_translates_as_without(
        run, exported, sentences, tmp_path):
    """`--shortlist` (translate.shortlist) is built, saved and read by the
    graph: a list holding every piece changes no translation, in a process
    that imports only TensorFlow and TensorFlow Text; a bad value is named."""
    from translate.exported import ExportedModel

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "translate", "export", run / "run",
                               "--out", tmp_path / "models", *map(str, args)],
                              cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)

    refused = cli("--shortlist", "2000")
    assert refused.returncode == 2 and "FREQUENT:PER_PIECE" in refused.stderr
    done = cli("--shortlist", "100000:1")
    assert done.returncode == 0, done.stderr[-3000:]
    path = Path(done.stdout.strip().splitlines()[-1])
    settings = json.loads((path / "assets" / "decoding.json").read_text())
    assert settings["shortlist"] == {"frequent": 100000, "per_piece": 1}
    plain = ExportedModel(exported)
    n_best = [[list(pair) for pair in row] for row in plain.n_best(sentences, with_format=True)]
    fresh = exported_model_in_a_fresh_process(path, sentences)
    assert (fresh["translations"], fresh["n_best"]) == (plain.translate(sentences), n_best)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(shutil.which("tensorflow_model_server") is None,
                    reason="tensorflow_model_server is not on PATH (TF Serving is not "
                           "installed on this machine; it is not a pip package)")
def test_tensorflow_model_server_serves_the_export(exported, translator, sentences, tmp_path):
    rest, grpc = _free_port(), _free_port()
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen(
        [shutil.which("tensorflow_model_server"), f"--port={grpc}", f"--rest_api_port={rest}",
         "--model_name=translator", f"--model_base_path={exported.parent.resolve()}"],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{rest}/v1/models/translator"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    status = json.load(response)["model_version_status"]
                if status and status[0]["state"] == "AVAILABLE":
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the model did not become available"
            time.sleep(1)
        body = json.dumps({"signature_name": "serving_default",
                           "inputs": {"text": sentences[:8]}}).encode()
        request = urllib.request.Request(url + ":predict", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            outputs = json.load(response)["outputs"]
        assert outputs["translation"] == translator.translate_batch(sentences[:8])[0]
        assert len(outputs["score"]) == 8
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_a_lone_space_piece_before_a_word_writes_one_space_in_both_paths(run, translator):
    # A model may write "▁" then "▁word": no gap it means, and pofilter's
    # doublespacing check would reject the message's translation.
    import sentencepiece as spm
    import tensorflow_text as tf_text

    from translate import export as export_lib
    from translate import masking, spans
    from translate.tokenizer import SPECIAL_IDS

    proto = (run / "corpus" / "spm.model").read_bytes()
    pieces = spm.SentencePieceProcessor(model_proto=proto)
    words = [p for p in map(pieces.id_to_piece, range(pieces.get_piece_size()))
             if p.startswith("▁") and len(p) > 2 and p[1:].isalpha()][:2]
    ids = [pieces.piece_to_id(p) for p in ("▁", words[0], "▁", "▁", words[1], "▁")]
    assert "  " in pieces.decode(ids), "what the pieces alone write"
    expected = f"{words[0][1:]} {words[1][1:]}"

    assert translator._text(np.array(ids), spans.mask("x"))[0] == expected
    tokenizer = tf_text.SentencepieceTokenizer(model=proto, out_type=tf.int32)

    def search(model, source, beam_rows):
        return tf.constant([[ids + [SPECIAL_IDS["eos"]]]]), tf.constant([[0.0]])

    text, _, _, _ = export_lib._decode(
        tf.constant(["x"]), masking.mask(tf.constant(["x"])), None, model=None,
        source_tokenizer=tokenizer, target_tokenizer=tokenizer, search=search,
        settings={"max_source_length": 16})
    assert text.numpy()[0, 0].decode("utf-8") == expected
