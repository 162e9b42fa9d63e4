"""`translate.serving` and `translate client` against a model server on localhost.

The server (`model_server.py`) is a stand-in for `tensorflow_model_server`
with its REST and gRPC conventions, serving the tiny export of conftest.py;
whatever the client gets must be what the SavedModel itself answers.
"""

import http.server
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from model_server import serve
from translate import cli
from translate.evaluation import read_tsv_pairs
from translate.serving import GrpcClient, RestClient, ServingError, connect

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")

PROTOCOLS = [("rest", "instances"), ("rest", "inputs"), ("grpc", None)]


@pytest.fixture(scope="module")
def server(tiny_export, tmp_path_factory):
    log = tmp_path_factory.mktemp("model_server") / "server.log"
    with serve(tiny_export / "models" / "translator", log_path=log) as running:
        yield running


@pytest.fixture(scope="module")
def direct(tiny_export):
    """The exported SavedModel called in this process, as TF Serving runs it."""
    import tensorflow_text  # noqa: F401 (the SentencePiece ops)

    loaded = tf.saved_model.load(str(tiny_export / "models" / "translator" / "1"))

    def call(texts, signature="serving_default"):
        out = loaded.signatures[signature](text=tf.constant(texts, tf.string))
        return ([t.decode("utf-8") for t in out["translation"].numpy()],
                out["score"].numpy())
    return call


@pytest.fixture(scope="module")
def sentences(tiny_export):
    """A handful of test sources, an empty string and non-ASCII text."""
    sources = read_tsv_pairs(tiny_export / "corpus" / "test.tsv")[0][:5]
    return sources + ["", "Übersetzung für café: naïve 日本語 — ½ %s",
                      "Could not open file %s for the printer"]


def client(server, protocol, rest_format=None, **kwargs):
    options = {} if rest_format is None else {"rest_format": rest_format}
    address = server.rest if protocol == "rest" else server.grpc
    return connect(address, protocol=protocol, **options, **kwargs)


@pytest.fixture
def refusing():
    """An address where nothing listens: a bound socket that does not listen."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield "127.0.0.1:%d" % s.getsockname()[1]


@pytest.fixture
def silent():
    """An address that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield "127.0.0.1:%d" % s.getsockname()[1]


@pytest.mark.parametrize("signature", ["serving_default", "translate_greedy"])
@pytest.mark.parametrize("protocol, rest_format", PROTOCOLS)
def test_translations_equal_the_saved_model(server, direct, sentences, protocol,
                                            rest_format, signature):
    with client(server, protocol, rest_format, signature=signature) as c:
        translations, scores = c.predict(sentences)
    expected, expected_scores = direct(sentences, signature)
    assert sum(map(bool, expected)) >= len(sentences) - 1, "not a vacuous comparison"
    assert translations == expected
    assert translations[sentences.index("")] == ""
    assert all(isinstance(s, float) for s in scores)
    np.testing.assert_allclose(scores, expected_scores, atol=1e-5, rtol=0)


def test_beam_and_greedy_signatures_differ_somewhere(server, direct, sentences):
    with client(server, "rest") as beam, \
            client(server, "rest", signature="translate_greedy") as greedy:
        assert beam.predict(sentences)[1] != greedy.predict(sentences)[1]
    assert direct(sentences)[1].tolist() != direct(sentences, "translate_greedy")[1].tolist()


@pytest.mark.parametrize("protocol, rest_format", PROTOCOLS)
def test_batches_of_at_most_batch_size_keep_the_order(server, direct, tiny_export,
                                                      protocol, rest_format):
    sources = [s for split in ("dev", "train")
               for s in read_tsv_pairs(tiny_export / "corpus" / f"{split}.tsv")[0]][:10] + [""]
    with client(server, protocol, rest_format, signature="translate_greedy") as c:
        sent = []
        predict = c.predict
        c.predict = lambda batch, *more: sent.append(len(batch)) or predict(batch, *more)
        batches = []
        translations = c.translate(sources, batch_size=4,
                                   progress=lambda b: batches.append(len(b)) or b)
    assert sent == [4, 4, 3] and batches == [3]
    assert translations == direct(sources, "translate_greedy")[0]
    assert len(set(translations)) > len(sources) // 2, "the order is checked"


def test_a_version_can_be_named(server, direct, sentences):
    for protocol in ("rest", "grpc"):
        assert client(server, protocol, version=1).translate(sentences) == \
            direct(sentences)[0]
        with pytest.raises(ServingError, match=r"Servable not found for request: "
                                               r"Specific\(translator, 2\)"):
            client(server, protocol, version=2).translate(sentences)


def test_nothing_to_translate_sends_nothing(refusing):
    for protocol in ("rest", "grpc"):
        assert connect(refusing, protocol=protocol).translate([]) == []


def test_unknown_model_gives_the_servers_message(server):
    with pytest.raises(ServingError) as error:
        client(server, "rest", name="nope").translate(["Deleted {count} items"])
    assert error.value.status == 404
    assert str(error.value) == (
        f"http://{server.rest}/v1/models/nope:predict: the server answered HTTP 404: "
        "Servable not found for request: Latest(nope)")
    with pytest.raises(ServingError) as error:
        client(server, "grpc", name="nope").translate(["Deleted {count} items"])
    assert error.value.status == "NOT_FOUND"
    assert str(error.value) == (f"gRPC server {server.grpc}: the server answered NOT_FOUND: "
                                "Servable not found for request: Latest(nope)")


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_server_down_names_the_address(refusing, protocol):
    with pytest.raises(ServingError, match="server is down / connection refused") as error:
        connect(refusing, protocol=protocol).translate(["Deleted {count} items"])
    assert refusing in str(error.value) and error.value.status is None


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_a_server_that_never_answers_times_out(silent, protocol):
    start = time.monotonic()
    with pytest.raises(ServingError, match=r"timed out after 0\.3 s") as error:
        connect(silent, protocol=protocol, timeout=0.3).translate(["Deleted {count} items"])
    assert silent in str(error.value)
    assert time.monotonic() - start < 10


def test_an_answer_that_is_not_a_translation_is_an_error():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"predictions": [{"translation": "only one"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with pytest.raises(ServingError, match=r"not 2 translation\(s\) and score\(s\)"):
            connect(f"127.0.0.1:{httpd.server_address[1]}").translate(["a", "b"])
    finally:
        httpd.shutdown()


def test_bad_arguments_are_value_errors(refusing):
    for server in ("", "localhost", "localhost:http", "http://host:1/path"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            RestClient(server)
    with pytest.raises(ValueError, match="timeout"):
        RestClient(refusing, timeout=0)
    with pytest.raises(ValueError, match="version"):
        GrpcClient(refusing, version=0)
    with pytest.raises(ValueError, match="rest_format"):
        connect(refusing, protocol="grpc", rest_format="inputs")
    with pytest.raises(ValueError, match="protocol"):
        connect(refusing, protocol="soap")
    with pytest.raises(ValueError, match="batch_size"):
        RestClient(refusing).translate(["a"], batch_size=0)
    assert RestClient("https://example.org:8501/").url == \
        "https://example.org:8501/v1/models/translator:predict"


def test_cli_end_to_end_file_in_lines_out(server, direct, sentences, tmp_path):
    lines = sentences[:3] + [""] + sentences[3:]
    path = tmp_path / "in.txt"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "translate", "client", path, "--server", server.rest,
         "--batch-size", "3", "--rest-format", "inputs"],
        cwd=ROOT, env=ENV, capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split("\n") == direct(lines)[0] + [""], "one line out per line in"
    assert "translating" in result.stderr and "3/3" in result.stderr, "a progress bar"


def test_cli_grpc_from_standard_input(server, direct, sentences, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(s + "\n" for s in sentences)))
    code = cli.main(["client", "--server", server.grpc, "--protocol", "grpc",
                     "--signature", "translate_greedy", "--version", "1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.split("\n") == direct(sentences, "translate_greedy")[0] + [""]
    assert "translating" not in err, "no progress bar for standard input"


def test_cli_errors_exit_2_naming_the_address(server, refusing, silent, monkeypatch,
                                              capsys):
    def run(*args):
        monkeypatch.setattr(sys, "stdin", io.StringIO("Deleted {count} items\n"))
        code = cli.main(["client", *args])
        return code, capsys.readouterr()

    code, (out, err) = run("--server", refusing, "--protocol", "grpc")
    assert code == 2 and out == ""
    assert err.startswith(f"translate client: error: gRPC server {refusing}: ")
    assert "server is down / connection refused" in err
    code, (_, err) = run("--server", refusing)
    assert code == 2 and f"http://{refusing}/v1/models/translator:predict" in err
    code, (_, err) = run("--server", server.rest, "--name", "nope")
    assert code == 2 and "Servable not found for request: Latest(nope)" in err
    code, (_, err) = run("--server", silent, "--timeout", "0.2")
    assert code == 2 and "timed out after 0.2 s" in err
    code, (_, err) = run("--server", server.grpc, "--protocol", "grpc",
                         "--rest-format", "inputs")
    assert code == 2 and "rest_format is for the REST protocol only" in err
