"""`translate serve`: the LibreTranslate-compatible endpoint, with real clients
against real server processes on free localhost ports.

The servers: the tiny export of conftest.py loaded in process (with API
keys and small limits), the same through the stand-in TF Serving
(`model_server.py`, REST and gRPC), and a stand-in of an export with the
n-best signature (`translate_n_best`, string ops only) for `alternatives`.
Whatever a client gets must be what the export itself answers.
"""

import concurrent.futures
import contextlib
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest
import requests
import tensorflow as tf
from libretranslatepy import LibreTranslateAPI

from model_server import serve as serve_model
from translate import prepare
from translate.endpoint import server as endpoint_server
from translate.endpoint.app import create_app
from translate.endpoint.batcher import Busy, MicroBatcher
from translate.endpoint.languages import LanguagePair
from translate.endpoint.limits import Limits
from translate.evaluation import read_tsv_pairs
from translate.memory import TranslationMemory
from translate.exported import ExportedModel
from translate.serving import SignatureNotServed, connect
from translate.signatures import export_languages

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
KEYS = ("key-one", "key-from-file")
LIMITS = ["--max-texts", "16", "--max-chars", "300", "--max-body-bytes", "8192"]


class Endpoint:
    """A `translate serve ARGS --port 0` process, started when made."""

    def __init__(self, args, log_path):
        self.log_path, self.url = log_path, None
        self._log = open(log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "translate", "serve", "--port", "0", "--log-level",
             "warning", *map(str, args)], stdout=subprocess.PIPE, stderr=self._log, text=True,
            env=ENV)

    def ready(self, deadline_s=180):
        """Waits for the line that names the URL; returns self."""
        end, line = time.monotonic() + deadline_s, ""
        while not line.startswith("translate serve: http://"):
            if self.process.poll() is not None:
                raise RuntimeError(f"translate serve exited ({self.process.returncode}):\n"
                                   + Path(self.log_path).read_text()[-3000:])
            if time.monotonic() > end:
                raise TimeoutError(f"translate serve not ready in {deadline_s} s")
            if select.select([self.process.stdout], [], [], 1.0)[0]:
                line = self.process.stdout.readline()
        self.url = line.split()[2]
        return self

    def post(self, **kwargs):
        return requests.post(self.url + "/translate", timeout=60, **kwargs)

    def stop(self):
        """Stops the process (SIGTERM: a clean shutdown; SIGKILL after 30 s)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self._log.close()


@contextlib.contextmanager
def endpoint(args, log_path):
    """One `Endpoint`, ready, stopped when the block ends."""
    server = Endpoint(args, log_path)
    try:
        yield server.ready()
    finally:
        server.stop()


def n_best_export(path):
    """A stand-in of an export with the n-best signature, in string ops.

    `serving_default` answers the text in capitals; `translate_n_best` four
    hypotheses per text: the capitals, the text + " (2)", the capitals
    again (a repeat, which alternatives must drop) and "alt " + the text.
    Its `assets/decoding.json` records the pair en -> de.
    """
    spec = [tf.TensorSpec([None], tf.string, name="text")]

    class Module(tf.Module):
        @tf.function(input_signature=spec)
        def best(self, text):
            return {"translation": tf.strings.upper(text),
                    "score": tf.zeros(tf.shape(text), tf.float32)}

        @tf.function(input_signature=spec)
        def n_best(self, text):
            upper = tf.strings.upper(text)
            hypotheses = tf.stack([upper, text + " (2)", upper, "alt " + text], axis=1)
            scores = tf.tile([[-1.0, -2.0, -3.0, -4.0]], [tf.shape(text)[0], 1])
            return {"translations": hypotheses, "scores": scores}

    module = Module()
    tf.saved_model.save(module, str(path),
                        signatures={"serving_default": module.best,
                                    "translate_n_best": module.n_best})
    (path / "assets").mkdir(exist_ok=True)
    (path / "assets" / "decoding.json").write_text(
        json.dumps({"languages": {"source": "en", "target": "de"}}))
    return path


@pytest.fixture(scope="module")
def models(tiny_export, tmp_path_factory):
    """A model directory of two versions: 1 the tiny export, 2 the n-best stand-in."""
    root = tmp_path_factory.mktemp("endpoint_models") / "translator"
    root.mkdir()
    (root / "1").symlink_to(tiny_export / "models" / "translator" / "1")
    n_best_export(root / "2")
    return root


@pytest.fixture(scope="module")
def servers(models, tmp_path_factory):
    """The servers of the module, started together (they load in parallel):

    - "embedded": the tiny export in process, API keys, small limits;
    - "rest": TF Serving's version 1 (the tiny export) over REST, no key;
    - "grpc": TF Serving's version 2 (the n-best stand-in) over gRPC;
    - "tf_serving": the stand-in TF Serving itself (`model_server.Server`).
    """
    logs = tmp_path_factory.mktemp("endpoint_logs")
    key_file = logs / "keys.txt"
    key_file.write_text(f"\n{KEYS[1]}\n")
    started = {}
    try:
        started["embedded"] = Endpoint(["--model", models / "1", "--api-key", KEYS[0],
                                        "--api-key-file", key_file, *LIMITS],
                                       logs / "embedded.log")
        with serve_model(models, log_path=logs / "model_server.log") as tf_serving:
            started["rest"] = Endpoint(["--tf-serving", tf_serving.rest, "--model-version", 1,
                                        "--model", models / "1"], logs / "rest.log")
            started["grpc"] = Endpoint(["--tf-serving", tf_serving.grpc, "--protocol", "grpc",
                                        "--model-version", 2, "--source", "en", "--target",
                                        "de"], logs / "grpc.log")
            yield {**{name: server.ready() for name, server in started.items()},
                   "tf_serving": tf_serving}
    finally:
        for server in started.values():
            server.process.terminate()  # all at once: each takes a while to exit
        for server in started.values():
            server.stop()


@pytest.fixture(scope="module")
def tiny_model(models):
    """The tiny export, loaded in this process."""
    return ExportedModel(models / "1")


@pytest.fixture(scope="module")
def direct(tiny_model):
    """The tiny export's own translations."""
    return tiny_model.translate


@pytest.fixture(scope="module")
def texts(tiny_export):
    sources = read_tsv_pairs(tiny_export / "corpus" / "test.tsv")[0]
    return sources[:6] + ["", "Übersetzung für café: naïve 日本語 — ½ %s"]


def weblate_translate(url, texts, key=None, source="en", target="de"):
    """What Weblate's LibreTranslate backend sends and checks, as it does it.

    (`weblate/machinery/libretranslate.py`: a JSON body with a list `q`;
    the answer must be a list of as many strings.)
    """
    response = requests.post(
        f"{url}/translate", json={"api_key": key, "q": texts, "source": source,
                                  "target": target},
        headers={"Accept": "application/json; charset=utf-8"}, timeout=60)
    response.raise_for_status()
    translated = response.json()["translatedText"]
    assert isinstance(translated, list) and len(translated) == len(texts)
    assert all(isinstance(t, str) for t in translated)
    return translated


def test_the_export_records_its_pair_and_languages_lists_both(servers, models):
    assert export_languages(models / "1") == ("en", "de")
    languages = requests.get(servers["embedded"].url + "/languages", timeout=10).json()
    assert languages == [{"code": "en", "name": "English", "targets": ["de"]},
                         {"code": "de", "name": "German", "targets": []}]
    # Weblate supports a pair when both codes are listed; libretranslatepy's
    # GET sends a form body, which is ignored.
    codes = [entry["code"] for entry in LibreTranslateAPI(servers["rest"].url).languages()]
    assert "en" in codes and "de" in codes
    assert requests.get(servers["grpc"].url + "/languages", timeout=10).json() == languages


def test_libretranslatepy_form_and_a_weblate_json_list_get_the_exports_translations(
        servers, direct, texts):
    expected = direct(texts)
    assert sum(map(bool, expected)) >= len(texts) - 1, "not a vacuous comparison"
    url = servers["embedded"].url
    client = LibreTranslateAPI(url, api_key=KEYS[0])
    assert [client.translate(t, "en", "de") for t in texts if t] == [e for t, e in
                                                                    zip(texts, expected) if t]
    assert weblate_translate(url, texts, KEYS[1]) == expected
    # A single string q gets a single string; the pair matches whatever the case.
    answer = servers["embedded"].post(json={"q": texts[0], "source": "EN", "target": "de",
                                            "api_key": KEYS[0]})
    assert answer.json() == {"translatedText": expected[0]}
    # html goes to the model as it is (the export keeps the markup).
    html = "<b>Could not open</b> file %s"
    answer = servers["embedded"].post(data={"q": html, "source": "en", "target": "de",
                                            "format": "html", "api_key": KEYS[0]})
    assert answer.json() == {"translatedText": direct([html])[0]}


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_through_tf_serving(servers, direct, texts, protocol):
    if protocol == "rest":  # version 1: the tiny export, with its n-best signature
        assert weblate_translate(servers["rest"].url, texts) == direct(texts)
        answer = servers["rest"].post(json={"q": texts, "source": "en", "target": "de",
                                            "alternatives": 1})
        assert answer.status_code == 200
        body = answer.json()
        assert len(body["alternatives"]) == len(texts)
        assert all(len(a) <= 1 and t not in a
                   for t, a in zip(body["translatedText"], body["alternatives"]))
    else:  # version 2: the n-best stand-in (its alternatives: the next test)
        assert weblate_translate(servers["grpc"].url, ["x", "Open"]) == ["X", "OPEN"]


def test_the_exported_models_n_best(models, tiny_model):
    assert ExportedModel(models / "2").n_best(["a", "b c"]) == [
        ["A", "a (2)", "A", "alt a"], ["B C", "b c (2)", "B C", "alt b c"]]
    (hypotheses,) = tiny_model.n_best(["a"])  # the tiny export's own: its beam's
    assert len(hypotheses) == json.loads(
        (models / "1" / "assets" / "decoding.json").read_text())["n_best"]


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_the_serving_clients_n_best(servers, models, protocol):
    address = getattr(servers["tf_serving"], protocol)
    with connect(address, protocol=protocol, version=2) as client:
        assert client.n_best(["a", "b c"], batch_size=1) == [
            ["A", "a (2)", "A", "alt a"], ["B C", "b c (2)", "B C", "alt b c"]]
    with connect(address, protocol=protocol, version=1) as client:
        beam = json.loads((models / "1" / "assets" / "decoding.json").read_text())["n_best"]
        assert [len(h) for h in client.n_best(["a", "b"])] == [beam, beam]  # the tiny export's


def test_alternatives_from_the_n_best_signature(servers):
    url = servers["grpc"].url
    post = servers["grpc"].post
    assert post(json={"q": "open", "source": "en", "target": "de"}).json() == \
        {"translatedText": "OPEN"}
    # LibreTranslate's shapes: a list of strings for one text, one per text
    # for a list; never the translation itself, never twice; at most as many
    # as asked.
    assert post(data={"q": "open", "source": "en", "target": "de", "alternatives": "1"}
                ).json() == {"translatedText": "OPEN", "alternatives": ["open (2)"]}
    assert post(json={"q": ["a", "b"], "source": "en", "target": "de", "alternatives": 5}
                ).json() == {"translatedText": ["A", "B"],
                             "alternatives": [["a (2)", "alt a"], ["b (2)", "alt b"]]}
    # Without alternatives the beam signature answers (it need not be the
    # n-best's first).
    assert weblate_translate(url, ["x y"]) == ["X Y"]


def test_the_embedded_export_gives_alternatives_from_its_n_best(servers):
    answer = servers["embedded"].post(json={"q": "Open", "source": "en", "target": "de",
                                            "alternatives": 2, "api_key": KEYS[0]})
    assert answer.status_code == 200
    body = answer.json()
    assert len(body["alternatives"]) <= 2 and body["translatedText"] not in body["alternatives"]


BAD = [
    # (what is sent, expected status, words of the error)
    (dict(data=b'{"q": "Open", ', headers={"Content-Type": "application/json"}), 400,
     "Invalid JSON"),
    (dict(json=["Open"]), 400, "must be an object"),
    (dict(json={"source": "en", "target": "de"}), 400, "missing q parameter"),
    (dict(json={"q": "", "source": "en", "target": "de"}), 400, "missing q parameter"),
    (dict(json={"q": 7, "source": "en", "target": "de"}), 400, "q is int, not a string"),
    (dict(json={"q": ["a", None], "source": "en", "target": "de"}), 400, "q[1] is NoneType, not a string"),
    (dict(json={"q": "Open", "target": "de"}), 400, "missing source parameter"),
    (dict(json={"q": "Open", "source": "en", "target": "fr"}), 400,
     "fr is not supported as the target language: this server translates en to de only"),
    (dict(data={"q": "Open", "source": "de", "target": "en"}), 400,
     "de is not supported as the source language"),
    (dict(json={"q": "Open", "source": "auto", "target": "de"}), 400, "no language detection"),
    (dict(json={"q": "Open", "source": "en", "target": "de", "format": "xml"}), 400,
     "'xml' format is not supported: use text or html"),
    (dict(json={"q": "Open", "source": "en", "target": "de", "alternatives": "two"}), 400,
     "alternatives must be a whole number from 0 to 8, got 'two'"),
    (dict(json={"q": ["a"] * 17, "source": "en", "target": "de"}), 400,
     "17 texts, over the limit of 16 per request"),
    (dict(json={"q": ["a", "b" * 301], "source": "en", "target": "de"}), 400,
     "q[1] has 301 characters, over the limit of 300"),
    (dict(json={"q": "x" * 9000, "source": "en", "target": "de"}), 413,
     "is over the limit of 8192 bytes"),
    # No Content-Length (chunked): counted while it is read.
    (dict(data=(b"q=" + b"x" * 1000 for _ in range(10)),
          headers={"Content-Type": "application/x-www-form-urlencoded"}), 413,
     "the request body is over the limit of 8192 bytes"),
    (dict(data="q=Open", headers={"Content-Type": "text/plain"}), 415,
     "unsupported Content-Type 'text/plain'"),
]


@pytest.mark.parametrize("request_args, status, words", BAD,
                         ids=[words[:30] for _, _, words in BAD])
def test_bad_input_is_a_4xx_saying_what_is_wrong(servers, request_args, status, words):
    request_args = dict(request_args)
    if "json" in request_args and isinstance(request_args["json"], dict):
        request_args["json"] = {**request_args["json"], "api_key": KEYS[0]}
    elif isinstance(request_args.get("data"), dict):
        request_args["data"] = {**request_args["data"], "api_key": KEYS[0]}
    answer = servers["embedded"].post(**request_args)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert words in answer.json()["error"]


def test_api_keys_and_unknown_routes(servers):
    post = servers["embedded"].post
    request = {"q": "Open", "source": "en", "target": "de"}
    missing = post(json=request)
    assert missing.status_code == 400 and "missing api_key" in missing.json()["error"]
    wrong = post(json={**request, "api_key": "key-two"})
    assert (wrong.status_code, wrong.json()) == (403, {"error": "Invalid API key."})
    assert post(data={**request, "api_key": KEYS[1]}).status_code == 200
    with pytest.raises(Exception, match="403"):
        LibreTranslateAPI(servers["embedded"].url, api_key="nope").translate("Open", "en", "de")
    # A server without keys takes requests without one.
    assert servers["rest"].post(json=request).status_code == 200
    url = servers["embedded"].url
    assert requests.get(url + "/nope", timeout=10).json() == {"error": "Not Found"}
    assert requests.get(url + "/translate", timeout=10).status_code == 405
    health = requests.get(url + "/health", timeout=10).json()
    assert health["status"] == "ok" and health["texts"] >= health["model_calls"] > 0
    # Still serving after every refusal above.
    assert servers["embedded"].process.poll() is None


def test_concurrent_clients_get_every_answer_in_order(servers, direct, tiny_export):
    """8 clients at once, 5 requests each, lists of different texts: no
    error, and each answer is the export's translations in the request's order."""
    sources = read_tsv_pairs(tiny_export / "corpus" / "train.tsv")[0][:40]
    expected = dict(zip(sources, direct(sources)))
    assert len(set(expected.values())) > len(sources) // 2, "the order is checked"

    def client(worker):
        session, answers = requests.Session(), []
        for i in range(5):
            batch = [sources[(worker * 5 + i + k * 7) % len(sources)] for k in range(1 + i % 3)]
            response = session.post(servers["embedded"].url + "/translate", timeout=60, json={
                "q": batch, "source": "en", "target": "de", "api_key": KEYS[0]})
            answers.append((batch, response.status_code, response.json()))
        return answers

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = [a for answers in pool.map(client, range(8)) for a in answers]
    assert len(results) == 40
    for batch, status, body in results:
        assert status == 200, body
        assert body["translatedText"] == [expected[s] for s in batch]


def test_command_line_errors_exit_2(models, tmp_path):
    def serve(*args):
        return subprocess.run([sys.executable, "-m", "translate", "serve", *map(str, args)],
                              capture_output=True, text=True, env=ENV, timeout=120)

    result = serve()
    assert result.returncode == 2 and "--model EXPORT_DIR, or --tf-serving" in result.stderr
    bare = tmp_path / "bare" / "1"  # an export of old, recording no pair (never loaded)
    (bare / "assets").mkdir(parents=True)
    (bare / "saved_model.pb").write_bytes(b"")
    (bare / "assets" / "decoding.json").write_text("{}")
    result = serve("--model", bare)
    assert result.returncode == 2
    assert "does not record its language pair: pass --source LANG --target LANG" \
        in result.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        result = serve("--model", bare, "--source", "en", "--target", "de",
                       "--port", taken.getsockname()[1])
    assert result.returncode == 2 and "cannot listen on 127.0.0.1:" in result.stderr
    result = serve("--model", bare, "--source", "en")
    assert result.returncode == 2 and "--source and --target go together" in result.stderr


def test_a_model_server_that_is_down_is_a_502(tmp_path):
    with socket.socket() as refusing:
        refusing.bind(("127.0.0.1", 0))
        port = refusing.getsockname()[1]
        with endpoint(["--tf-serving", f"127.0.0.1:{port}", "--source", "en", "--target",
                       "de"], tmp_path / "down.log") as down:
            answer = down.post(json={"q": ["Open"], "source": "en", "target": "de"})
    assert answer.status_code == 502
    assert answer.json()["error"].startswith("the model server failed: ")
    assert "server is down / connection refused" in answer.json()["error"]


def test_prepare_names_the_pair_of_a_gettext_corpus_only(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"inputs": [{"gettext": "pt_BR", "locale_dir": "/usr/share/locale"}]}))
    assert prepare.language_pair(tmp_path) == ("en", "pt-BR")
    (tmp_path / "manifest.json").write_text(json.dumps({"inputs": [{"tsv": "pairs.tsv"}]}))
    assert prepare.language_pair(tmp_path) is None


# In-process: the app in a uvicorn thread, with backends written here.

@contextlib.contextmanager
def app_in_thread(app):
    """Serves `app` on a free port in a thread; yields its URL."""
    sock = endpoint_server.bind("127.0.0.1", 0)
    uvicorn = endpoint_server.uvicorn_server(app, log_level="warning")
    thread = threading.Thread(target=uvicorn.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not uvicorn.started:
            assert thread.is_alive(), "the server stopped"
            time.sleep(0.01)
        yield endpoint_server.url(sock)
    finally:
        uvicorn.should_exit = True
        thread.join(30)
        sock.close()


class SlowBackend:
    """Translates to capitals once `release` is set; counts its calls."""

    def __init__(self):
        self.release, self.calls = threading.Event(), []

    def translate(self, sentences):
        self.calls.append(list(sentences))
        assert self.release.wait(30)
        return [s.upper() for s in sentences]


def test_a_slow_model_never_blocks_languages_and_the_memory_comes_first():
    backend = SlowBackend()
    memory = TranslationMemory(["Could not open file %s", "Print the page"],
                               ["Datei %s konnte nicht geöffnet werden", "Seite drucken"])
    app = create_app(backend, LanguagePair("en", "de"), memory=memory, memory_threshold=0.9)
    with app_in_thread(app) as url, concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(requests.post, url + "/translate", timeout=60, json={
            "q": ["Print  the page", "Delete it", "Could not open file %s"],
            "source": "en", "target": "de"})
        while not backend.calls:  # the model call has started and hangs
            time.sleep(0.01)
        start = time.monotonic()
        assert requests.get(url + "/languages", timeout=5).status_code == 200
        assert time.monotonic() - start < 2
        assert not pending.done()
        backend.release.set()
        answer = pending.result(timeout=30)
    assert answer.json() == {"translatedText": [
        "Seite drucken", "DELETE IT", "Datei %s konnte nicht geöffnet werden"]}
    assert backend.calls == [["Delete it"]], "the model is asked only what the memory lacks"


def test_an_unexpected_model_error_is_a_500_and_the_server_goes_on():
    def translate(sentences):
        if "crash" in sentences:
            raise ZeroDivisionError("division by zero")
        return sentences

    backend = types.SimpleNamespace(translate=translate)  # no n_best
    with app_in_thread(create_app(backend, LanguagePair("en", "de"))) as url:
        request = {"source": "en", "target": "de"}
        crashed = requests.post(url + "/translate", json={**request, "q": "crash"}, timeout=30)
        assert (crashed.status_code, crashed.json()) == (
            500, {"error": "translation failed: ZeroDivisionError: division by zero"})
        fine = requests.post(url + "/translate", json={**request, "q": ["a"]}, timeout=30)
        assert fine.json() == {"translatedText": ["a"]}
        alternatives = requests.post(url + "/translate", timeout=30,
                                     json={**request, "q": "a", "alternatives": 1})
        assert alternatives.status_code == 400, "a backend without n_best offers none"


def test_requests_that_arrive_while_the_model_runs_share_its_next_call():
    backend = SlowBackend()
    batcher = MicroBatcher(backend.translate, max_sentences=64, max_wait=0.0, max_pending=6)
    try:
        first = batcher.submit(["a"])
        while not backend.calls:
            time.sleep(0.01)
        waiting = [batcher.submit([f"{i}", f"{i}{i}"]) for i in range(3)]
        with pytest.raises(Busy, match="6 sentences are already waiting"):
            batcher.submit(["one too many"])
        backend.release.set()
        assert first.result(10) == ["A"]
        assert [w.result(10) for w in waiting] == [["0", "00"], ["1", "11"], ["2", "22"]]
    finally:
        batcher.close()
    assert backend.calls == [["a"], ["0", "00", "1", "11", "2", "22"]]
    assert batcher.calls == 2


def test_a_lone_client_is_not_held_but_a_call_waits_for_clients_coming_back():
    calls = []

    def model(sentences):
        calls.append(list(sentences))
        return sentences

    batcher = MicroBatcher(model, max_wait=10.0)  # a wait no test would sit out
    try:
        start = time.monotonic()
        for text in ("alone", "again"):
            assert batcher.submit([text]).result(5) == [text]
        assert time.monotonic() - start < 5, "one request answered, none queued: no wait"
        # While "x" is translated, three requests queue; the next call takes
        # them and waits for x's client to come back ("y") ...
        backend = SlowBackend()
        batcher.function = backend.translate
        blocker = batcher.submit(["x"])
        while not backend.calls:
            time.sleep(0.01)
        queued = [batcher.submit([t]) for t in ("a", "b", "c")]
        backend.release.set()
        assert blocker.result(5) == ["X"]
        time.sleep(0.2)
        queued.append(batcher.submit(["y"]))
        assert [f.result(5) for f in queued] == [["A"], ["B"], ["C"], ["Y"]]
        # ... and then for as many as it answered, however they trickle in.
        later = [batcher.submit(["d"])]
        for text in ("e", "f", "g"):
            time.sleep(0.2)
            later.append(batcher.submit([text]))
        assert [f.result(15) for f in later] == [["D"], ["E"], ["F"], ["G"]]
    finally:
        batcher.close()
    assert calls == [["alone"], ["again"]]
    assert backend.calls == [["x"], ["a", "b", "c", "y"], ["d", "e", "f", "g"]]


def test_a_failing_model_fails_its_batch_and_the_batcher_goes_on():
    calls = []

    def model(sentences):
        calls.append(sentences)
        if "boom" in sentences:
            raise RuntimeError("the model broke")
        return sentences

    batcher = MicroBatcher(model, max_sentences=1, max_wait=0.0)
    try:
        with pytest.raises(RuntimeError, match="the model broke"):
            batcher.submit(["boom"]).result(10)
        assert batcher.submit(["fine"]).result(10) == ["fine"]
    finally:
        batcher.close()
    with pytest.raises(ValueError, match="max_sentences"):
        MicroBatcher(model, max_sentences=0)
    with pytest.raises(ValueError, match="batch_wait"):
        Limits(batch_wait=-1)


def test_connections_to_the_bound_socket_send_without_delay():
    """Nagle's algorithm off on every accepted connection (asyncio turns it
    off only for a socket that names TCP): else each answer waits for a
    delayed ACK, 40 ms a request."""
    import asyncio

    async def check():
        found = asyncio.get_running_loop().create_future()

        async def handle(reader, writer):
            sock = writer.get_extra_info("socket")
            found.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        listening = await asyncio.start_server(handle, sock=endpoint_server.bind("127.0.0.1", 0))
        async with listening:
            port = listening.sockets[0].getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            nodelay = await asyncio.wait_for(found, 10)
            writer.close()
        return nodelay

    assert asyncio.run(check()) != 0


GLOSSARY_TEXTS = ["Could not open file %s for the printer", "Save", "Deleted {count} items"]


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_the_serving_clients_send_a_glossary_to_the_glossary_signatures(servers, tiny_model,
                                                                        protocol):
    from translate.glossary import Entry, Glossary

    glossary = Glossary([Entry("printer", "Drucker", "test"), Entry("item", "Eintrag", "test")])
    address = getattr(servers["tf_serving"], protocol)
    with connect(address, protocol=protocol, version=1) as client:
        assert (client.translate(GLOSSARY_TEXTS, glossary=glossary)
                == tiny_model.translate(GLOSSARY_TEXTS, glossary=glossary))
        assert (client.n_best(GLOSSARY_TEXTS, glossary=glossary)
                == tiny_model.n_best(GLOSSARY_TEXTS, glossary=glossary))
        assert client.translate(GLOSSARY_TEXTS, glossary=Glossary([])) == client.translate(
            GLOSSARY_TEXTS), "an empty glossary is no glossary"
    with connect(address, protocol=protocol, version=2) as client:  # the stand-in has none
        with pytest.raises(SignatureNotServed, match="translate_glossary"):
            client.translate(["x"], glossary=glossary)


class GlossaryBackend:
    """Capitals; with a glossary, each term's target after the text."""

    def __init__(self):
        self.calls = []

    def translate(self, sentences, glossary=None):
        self.calls.append((list(sentences), glossary))
        return [s.upper() + "".join(f" {e.target}" for e in glossary.find(s)) if glossary
                else s.upper() for s in sentences]


def test_the_endpoint_follows_its_glossary_and_skips_memory_matches_without_a_term():
    from translate.glossary import Entry, Glossary

    backend = GlossaryBackend()
    glossary = Glossary([Entry("page", "Seite", "test")])
    memory = TranslationMemory(["Print the page", "Delete it"], ["Blatt drucken", "Löschen"])
    app = create_app(backend, LanguagePair("en", "de"), memory=memory, memory_threshold=0.9,
                     glossary=glossary)
    with app_in_thread(app) as url:
        answer = requests.post(url + "/translate", timeout=60, json={
            "q": ["Print the page", "Delete it"], "source": "en", "target": "de"})
    assert answer.json() == {"translatedText": ["PRINT THE PAGE Seite", "Löschen"]}
    assert backend.calls == [(["Print the page"], glossary)]
