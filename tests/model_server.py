"""A stand-in for `tensorflow_model_server`, for the client's tests.

TF Serving is not a pip package and this machine has no Docker, so the tests
of `translate.serving` talk to this: a process that loads an exported model
the way TF Serving's Python-free path does what matters here (the SavedModel
and its signatures, `tensorflow_text` imported for the SentencePiece ops,
nothing of this project) and answers both of TF Serving's APIs with its
conventions:

- REST: `POST /v1/models/NAME[/versions/V]:predict`, the row form
  (`"instances"`: values, or objects keyed by input name; `{"b64": ...}` for
  bytes) answered with `"predictions"`, the columnar form (`"inputs"`)
  answered with `"outputs"`; `GET /v1/models/NAME[/versions/V]` for the
  status; errors as `{"error": "..."}` with status 400 (bad request, unknown
  signature) or 404 (unknown model or version, unknown path), with TF
  Serving's messages.
- gRPC: `tensorflow.serving.PredictionService/Predict`; NOT_FOUND for an
  unknown model or version, FAILED_PRECONDITION for an unknown signature,
  INVALID_ARGUMENT for wrong inputs, as TF Serving.

    python tests/model_server.py --model_name=NAME --model_base_path=DIR \
        [--port=0] [--rest_api_port=0]

(`tensorflow_model_server`'s flags; port 0 picks a free port.) Every
numeric version under DIR is loaded; the highest is the latest. When both
servers listen it prints one JSON line, `{"port": P, "rest_api_port": R}`, to
standard output. `serve()` starts it for a test and stops it afterwards.
"""

import argparse
import base64
import contextlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_PREDICT = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+))?:predict$")
_STATUS = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+))?$")


class ServingFailure(Exception):
    """An error answered to the client: a gRPC status code name and a message."""

    HTTP = {"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "NOT_FOUND": 404}

    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


class Models:
    """The loaded versions of one model and how to run their signatures."""

    def __init__(self, name, base_path):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401 (registers the SentencePiece ops)

        self.tf, self.name = tf, name
        versions = sorted(int(p.name) for p in Path(base_path).iterdir()
                          if p.is_dir() and re.fullmatch(r"[0-9]+", p.name))
        if not versions:
            raise SystemExit(f"no versions under {base_path}")
        self.loaded = {v: tf.saved_model.load(str(Path(base_path) / str(v)))
                       for v in versions}

    def version(self, name, version):
        """The version asked for, or NOT_FOUND with TF Serving's message."""
        if version is None:
            request, version = f"Latest({name})", max(self.loaded)
        else:
            request = f"Specific({name}, {version})"
        if name != self.name or version not in self.loaded:
            raise ServingFailure("NOT_FOUND", f"Servable not found for request: {request}")
        return version

    def signature(self, version, name, rest):
        name = name or "serving_default"
        signatures = self.loaded[version].signatures
        if name not in signatures:
            if rest:
                raise ServingFailure(
                    "INVALID_ARGUMENT",
                    f'Serving signature name: "{name}" not found in signature def')
            raise ServingFailure("FAILED_PRECONDITION",
                                 f'Serving signature key "{name}" not found.')
        return signatures[name]

    def run(self, function, inputs):
        """Runs `function` on `{name: list or array}`; outputs as numpy arrays."""
        tf = self.tf
        expected = set(function.structured_input_signature[1])
        if set(inputs) != expected:
            raise ServingFailure(
                "INVALID_ARGUMENT",
                f"input size does not match signature: {len(inputs)}!={len(expected)} "
                f"len({{{', '.join(sorted(inputs))}}}) != "
                f"len({{{', '.join(sorted(expected))}}}). "
                f"Sent extra: {{{', '.join(sorted(set(inputs) - expected))}}}. "
                f"Missing but required: {{{', '.join(sorted(expected - set(inputs)))}}}.")
        try:
            tensors = {key: tf.constant(value, tf.string) for key, value in inputs.items()}
            outputs = function(**tensors)
        except (TypeError, ValueError, tf.errors.InvalidArgumentError) as error:
            raise ServingFailure("INVALID_ARGUMENT", str(error).strip()) from None
        return {key: value.numpy() for key, value in outputs.items()}


def _json_value(value):
    """A tensor's value (of one instance) as JSON: nested lists, as TF Serving."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if getattr(value, "ndim", 0):
        return [_json_value(v) for v in value]
    return value.item() if hasattr(value, "item") else value


def _string_input(value):
    """One input string from JSON: a str, or `{"b64": ...}` for bytes."""
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    if isinstance(value, str):
        return value.encode("utf-8")
    raise ServingFailure("INVALID_ARGUMENT",
                         f"JSON Value: {json.dumps(value)} not formatted correctly for "
                         "base64 data")


def rest_predict(models, name, version, body):
    """The JSON answer to a REST predict request (TF Serving's row/columnar rules)."""
    version = models.version(name, version)
    try:
        request = json.loads(body)
    except ValueError as error:
        raise ServingFailure("INVALID_ARGUMENT", f"JSON Parse error: {error}") from None
    if not isinstance(request, dict):
        raise ServingFailure("INVALID_ARGUMENT", "JSON Parse error: not an object")
    function = models.signature(version, request.get("signature_name"), rest=True)
    names = list(function.structured_input_signature[1])
    input_name = names[0] if len(names) == 1 else None  # bare values need one input

    def single(values):
        if input_name is None:
            raise ServingFailure("INVALID_ARGUMENT", f"the signature has inputs {names}: "
                                                     f"name them")
        return {input_name: values}
    if ("instances" in request) == ("inputs" in request):
        raise ServingFailure("INVALID_ARGUMENT",
                             "Missing 'inputs' or 'instances' key" if "instances" not in request
                             else "Not formatted correctly expecting only one of 'inputs' "
                                  "or 'instances' keys exists")
    if "instances" in request:
        rows = request["instances"]
        if not isinstance(rows, list):
            raise ServingFailure("INVALID_ARGUMENT", "Expecting 'instances' to be an list/array")
        named = [isinstance(r, dict) and "b64" not in r for r in rows]
        if any(named) and not all(named):
            raise ServingFailure("INVALID_ARGUMENT",
                                 "Expecting all values of 'instances' to be JSON objects")
        if all(named) and rows:
            keys = {k for r in rows for k in r}
            inputs = {k: [_string_input(r[k]) for r in rows if k in r] for k in keys}
        else:
            inputs = single([_string_input(r) for r in rows])
        outputs = models.run(function, inputs)
        count = len(next(iter(outputs.values())))
        return {"predictions": [{k: _json_value(v[i]) for k, v in outputs.items()}
                                for i in range(count)]}
    columns = request["inputs"]
    if not isinstance(columns, dict):
        columns = single(columns)
    inputs = {}
    for key, values in columns.items():
        if not isinstance(values, list):
            raise ServingFailure("INVALID_ARGUMENT",
                                 f"Expecting a list of values for input '{key}'")
        inputs[key] = [_string_input(v) for v in values]
    outputs = models.run(function, inputs)
    return {"outputs": {k: [_json_value(x) for x in v] for k, v in outputs.items()}}


def rest_status(models, name, version):
    models.version(name, None if version is None else int(version))
    versions = sorted(models.loaded) if version is None else [int(version)]
    return {"model_version_status": [
        {"version": str(v), "state": "AVAILABLE",
         "status": {"error_code": "OK", "error_message": ""}} for v in reversed(versions)]}


def rest_handler(models):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as TF Serving

        def _answer(self, status, body):
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            pattern = _PREDICT if method == "POST" else _STATUS
            match = pattern.match(self.path)
            try:
                if not match:
                    raise ServingFailure("NOT_FOUND",
                                         f"Malformed request: {method} {self.path}")
                name, version = match.group(1), match.group(2)
                version = None if version is None else int(version)
                if method == "POST":
                    self._answer(200, rest_predict(models, name, version, body))
                else:
                    self._answer(200, rest_status(models, name, version))
            except ServingFailure as failure:
                self._answer(ServingFailure.HTTP.get(failure.code, 500),
                             {"error": failure.message})

        def do_POST(self):  # noqa: N802 (BaseHTTPRequestHandler's name)
            self._handle("POST")

        def do_GET(self):  # noqa: N802
            self._handle("GET")

        def log_message(self, *args):
            pass

    return Handler


def grpc_servicer(models):
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):  # noqa: N802 (the service's name)
            spec = request.model_spec
            try:
                version = models.version(
                    spec.name, spec.version.value if spec.HasField("version") else None)
                function = models.signature(version, spec.signature_name, rest=False)
                inputs = {}
                for key, proto in request.inputs.items():
                    if proto.dtype != tf.string.as_datatype_enum:
                        raise ServingFailure(
                            "INVALID_ARGUMENT",
                            f"Expects arg[0] to be string but "
                            f"{tf.dtypes.as_dtype(proto.dtype).name} is provided")
                    inputs[key] = tf.make_ndarray(proto)
                outputs = models.run(function, inputs)
            except ServingFailure as failure:
                context.abort(getattr(grpc.StatusCode, failure.code), failure.message)
            response = predict_pb2.PredictResponse()
            response.model_spec.name = models.name
            response.model_spec.signature_name = spec.signature_name or "serving_default"
            response.model_spec.version.value = version
            for key, value in outputs.items():
                response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
            return response

    return Servicer(), prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model_name", required=True)
    parser.add_argument("--model_base_path", required=True)
    parser.add_argument("--port", type=int, default=0, help="gRPC port (0: a free one)")
    parser.add_argument("--rest_api_port", type=int, default=0, help="REST port (0: a free one)")
    args = parser.parse_args(argv)

    import grpc

    models = Models(args.model_name, args.model_base_path)
    servicer, add = grpc_servicer(models)
    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    add(servicer, grpc_server)
    grpc_port = grpc_server.add_insecure_port(f"127.0.0.1:{args.port}")
    grpc_server.start()
    http_server = ThreadingHTTPServer(("127.0.0.1", args.rest_api_port), rest_handler(models))
    http_server.daemon_threads = True
    threading.Thread(target=http_server.serve_forever, daemon=True).start()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(json.dumps({"port": grpc_port, "rest_api_port": http_server.server_address[1]}),
          flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        http_server.shutdown()
        grpc_server.stop(grace=None)


class Server:
    """A running `model_server.py`: its process and addresses."""

    def __init__(self, process, ports):
        self.process = process
        self.rest = f"127.0.0.1:{ports['rest_api_port']}"
        self.grpc = f"127.0.0.1:{ports['port']}"


@contextlib.contextmanager
def serve(model_base_path, model_name="translator", log_path=None, deadline_s=180):
    """Starts the stand-in server on free ports; stops it when the block ends.

    Args:
        model_base_path: the directory of numbered versions.
        model_name: the name the model is served under.
        log_path: where its standard error goes (for failure messages).
        deadline_s: the most seconds to wait for it to be ready.

    Yields:
        A `Server` (`.rest` and `.grpc` are `"127.0.0.1:PORT"`).
    """
    log = open(log_path or os.devnull, "w")
    process = subprocess.Popen(
        [sys.executable, __file__, f"--model_name={model_name}",
         f"--model_base_path={model_base_path}"],
        stdout=subprocess.PIPE, stderr=log, text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))

    def log_tail():
        return Path(log_path).read_text()[-3000:] if log_path else ""

    try:
        end = time.monotonic() + deadline_s
        line = ""
        while not line:
            if process.poll() is not None:
                raise RuntimeError(f"the model server exited ({process.returncode}):\n"
                                   + log_tail())
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the model server was not ready in {deadline_s} s:\n"
                                   + log_tail())
            if select.select([process.stdout], [], [], min(remaining, 1.0))[0]:
                line = process.stdout.readline()
                line = line if line.startswith("{") else ""
        yield Server(process, json.loads(line))
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
        log.close()


if __name__ == "__main__":
    main()
