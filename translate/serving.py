"""A client of a running TensorFlow Serving that serves an exported translator.

It knows nothing of the model: only TF Serving's two APIs and the exported
signatures' interface (`translate.signatures`: input `text`, outputs
`translation` and `score`).

- REST (`RestClient`): `POST http://HOST:PORT/v1/models/NAME[/versions/V]:predict`
  with a JSON body in the row form, `{"signature_name": ..., "instances":
  [{"text": ...}, ...]}`, answered `{"predictions": [{"translation": ...,
  "score": ...}, ...]}`, or the columnar form, `{"signature_name": ...,
  "inputs": {"text": [...]}}`, answered `{"outputs": {"translation": [...],
  "score": [...]}}`. An error is an HTTP 4xx/5xx status with `{"error": "..."}`.
- gRPC (`GrpcClient`): `tensorflow.serving.PredictionService/Predict` with a
  `PredictRequest` (`model_spec` name, signature name and optional version;
  `inputs["text"]` a string tensor); an error is a gRPC status code with
  details.

Both split a list of sentences into requests of at most `batch_size`
sentences (similar lengths together: less padding for the server), send one
request at a time with a timeout in seconds, and return the translations in
the order of the sentences. `n_best` asks the `translate_n_best` signature
for the n best translations of each sentence. Whatever goes wrong on the way
raises `ServingError`, whose message names the address and says what
happened: the server is down (connection refused), the request timed out, or
the server's own error text; a model without the signature asked for raises
its subclass `SignatureNotServed`.

Example:

```python
from translate.serving import connect

with connect("localhost:8501") as client:             # REST
    client.translate(["Could not open file %s", "Deleted {count} items"])
with connect("localhost:8500", protocol="grpc") as client:
    translations, scores = client.predict(["Could not open file %s"])
```

The REST client needs `requests`; the gRPC client needs `grpcio`,
`tensorflow-serving-api` and TensorFlow (for the tensor protos), imported
only when a `GrpcClient` is made.
"""

import math

from translate import batching
from translate.signatures import (GLOSSARY_INPUT_KEYS, GLOSSARY_SIGNATURE, INPUT_KEY,
                                  MATCH_INPUT_KEY, MATCH_TWINS, N_BEST_GLOSSARY_SIGNATURE,
                                  N_BEST_OUTPUT_KEYS,
                                  N_BEST_SIGNATURE, OUTPUT_KEYS,
                                  SERVING_SIGNATURE, SignatureNotFound)

PROTOCOLS = ("rest", "grpc")
REST_FORMATS = ("instances", "inputs")

TRANSLATION, SCORE = OUTPUT_KEYS


class ServingError(OSError):
    """A request to the model server failed.

    An `OSError`, as `requests`' own errors: the failure is in talking to
    another process, whether the connection failed, the answer took too
    long, or the server answered with an error.

    Attributes:
        target: the URL (REST) or `host:port` (gRPC) that was asked.
        status: the HTTP status (an `int`) or the gRPC status code name (a
            `str`, e.g. `"NOT_FOUND"`) the server answered with; `None` when
            no answer came.
        server_message: the server's own error text, `None` if none.
    """

    def __init__(self, message, target, status=None, server_message=None):
        super().__init__(message)
        self.target = target
        self.status = status
        self.server_message = server_message

    def __str__(self):
        return self.args[0]


class SignatureNotServed(ServingError, SignatureNotFound):
    """The served model has no signature of the name asked for.

    Both a `ServingError` and a `translate.signatures.SignatureNotFound`: a
    caller that only needs to know that the model lacks it (say, an export
    without `translate_n_best`) catches the latter.
    """


def _signature_error(where, target, signature, status, message):
    """`SignatureNotServed` if the server's error says `signature` is not
    found (TF Serving's REST and gRPC wordings both quote it), else None.

    `where` begins the message; `status` is the HTTP status (an `int`) or
    the gRPC code's name."""
    if message and f'"{signature}" not found' in message:
        shown = f"HTTP {status}" if isinstance(status, int) else status
        return SignatureNotServed(
            f"{where}: the model has no signature {signature!r} (the server answered "
            f"{shown}: {message})", target, status=status, server_message=message)
    return None


def _positive(name, value, kind):
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0:
        raise ValueError(f"{name} must be a positive {kind.__name__}, got {value!r}.")
    return value


def _check_timeout(timeout):
    if (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
            or not 0 < timeout < math.inf):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}.")
    return float(timeout)


def _host_port(server):
    """`host:port` from `host:port` or `http[s]://host:port[/]`."""
    if not isinstance(server, str) or not server.strip():
        raise ValueError(f"server must be 'HOST:PORT', got {server!r}.")
    address = server.strip()
    for scheme in ("http://", "https://"):
        if address.lower().startswith(scheme):
            address = address[len(scheme):]
    address = address.rstrip("/")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or "/" in address:
        raise ValueError(f"server must be 'HOST:PORT', got {server!r}.")
    return address


class ServingClient:
    """What the REST and gRPC clients share: batching, ordering, checks.

    Subclasses implement `predict` (one request). Use `connect` to make one.

    Args:
        server: the server's address, `"HOST:PORT"` (a REST client also
            takes `"http://HOST:PORT"` or `"https://HOST:PORT"`).
        name: the model's name on the server (`--model_name`, or `name` in
            the model config file).
        version: a version number to ask for; `None` asks for the latest
            version the server has.
        signature: the signature to run: `"serving_default"` (beam search)
            or `"translate_greedy"`.
        timeout: seconds one request may take (connecting included).

    Raises:
        ValueError: a malformed address, name, signature, version or timeout.
    """

    protocol = None

    def __init__(self, server, name="translator", version=None,
                 signature=SERVING_SIGNATURE, timeout=10.0):
        self.address = _host_port(server)
        if not isinstance(name, str) or not name or "/" in name or ":" in name:
            raise ValueError(f"name must be a model name, got {name!r}.")
        if not isinstance(signature, str) or not signature:
            raise ValueError(f"signature must be a signature name, got {signature!r}.")
        self.name = name
        self.version = None if version is None else _positive("version", version, int)
        self.signature = signature
        self.timeout = _check_timeout(timeout)

    @property
    def target(self):
        """What error messages name: the URL or `host:port` asked."""
        return self.address

    def outputs(self, sentences, signature, glossary=None, matches=None):
        """Runs `signature` on `sentences` in one request.

        Args:
            sentences: a non-empty list of `str`.
            signature: the signature's name.
            glossary: a `translate.glossary.Glossary` sent as the glossary
                signatures' inputs (`GLOSSARY_INPUT_KEYS`), or None.
            matches: one `str` per sentence, sent as the match signatures'
                input (`MATCH_INPUT_KEY`), or None.

        Returns:
            `{output name: list, one value per sentence}` as the server
            answered (strings decoded), or None for an answer not of that
            form.

        Raises:
            SignatureNotServed: the model has no such signature.
            ServingError: the server is down, the request timed out, or the
                server answered with an error.
        """
        raise NotImplementedError

    def predict(self, sentences, glossary=None, matches=None):
        """Translates `sentences` in one request.

        Args:
            sentences: a list of `str` (may be empty strings; an empty list
                sends no request).
            glossary: a `translate.glossary.Glossary`, or None: with one, the
                request goes to `translate_glossary` (beam search; only
                with the `serving_default` signature).
            matches: each sentence's memory match's translation ("" for
                none), or None: with them, the request goes to
                `translate_match` (a model that reads matches; beam search).

        Returns:
            `(translations, scores)`: a list of `str` and a list of `float`,
            one each per sentence, in order.

        Raises:
            ServingError: the server is down, the request timed out, the
                server answered with an error, or with something that is
                not a translation of each sentence.
        """
        sentences = list(sentences)
        if not sentences:
            return [], []
        signature, glossary = self._glossary_signature(self.signature, glossary)
        signature = self._match_signature(signature, glossary, matches)
        outputs = self.outputs(sentences, signature, glossary, matches) or {}
        return self._check_outputs(outputs.get(TRANSLATION), outputs.get(SCORE),
                                   len(sentences))

    def _glossary_signature(self, signature, glossary):
        """`(signature, glossary)` of a request: the glossary twin of
        `signature`, or the glossary dropped when it is empty."""
        if not glossary:
            return signature, None
        twins = {SERVING_SIGNATURE: GLOSSARY_SIGNATURE,
                 N_BEST_SIGNATURE: N_BEST_GLOSSARY_SIGNATURE}
        if signature not in twins:
            raise ValueError(f"a glossary needs beam search ({SERVING_SIGNATURE}); the "
                             f"client asks {signature!r}.")
        return twins[signature], glossary

    @staticmethod
    def _match_signature(signature, glossary, matches):
        """The signature of a request with `matches`: the match twin of `signature`."""
        if matches is None:
            return signature
        if glossary:
            raise ValueError("no signature takes a glossary and memory matches together.")
        if signature not in MATCH_TWINS:
            raise ValueError(f"memory matches need beam search ({SERVING_SIGNATURE}); the "
                             f"client asks {signature!r}.")
        return MATCH_TWINS[signature]

    def n_best(self, sentences, batch_size=64, glossary=None, matches=None):
        """The n best translations of each sentence (`translate_n_best`), best first.

        Args:
            sentences: a sequence of `str`.
            batch_size: the most sentences in one request.
            glossary: as for `predict` (`translate_n_best_glossary`).
            matches: as for `predict` (`translate_n_best_match`).

        Returns:
            A list with one list of `str` per sentence, in order.

        Raises:
            SignatureNotServed: the model has no `translate_n_best` (an
                export made before it existed).
            ServingError: as `predict`, or the answer is not a list of
                translations per sentence.
            ValueError, TypeError: as `translate_with_scores`.
        """
        signature, glossary = self._glossary_signature(N_BEST_SIGNATURE, glossary)
        signature = self._match_signature(signature, glossary, matches)

        def request(batch, found):
            rows = (self.outputs(batch, signature, glossary, found) or {}).get(
                N_BEST_OUTPUT_KEYS[0])
            if (not isinstance(rows, list) or len(rows) != len(batch) or not all(
                    isinstance(row, list) and row and all(isinstance(t, str) for t in row)
                    for row in rows)):
                raise ServingError(f"{self.target}: the server's answer is not a list of "
                                   f"translations for each of {len(batch)} sentence(s)",
                                   self.target)
            return rows
        return batching.by_length_with_matches(
            request, self._sentences(sentences, batch_size), matches, batch_size)

    @staticmethod
    def _sentences(sentences, batch_size):
        """`sentences` as a list, checked (and `batch_size`)."""
        _positive("batch_size", batch_size, int)
        sentences = list(sentences)
        for i, sentence in enumerate(sentences):
            if not isinstance(sentence, str):
                raise TypeError(f"sentence {i} is a {type(sentence).__name__}, not a str.")
        return sentences

    def translate_with_scores(self, sentences, batch_size=64, progress=None, glossary=None,
                              matches=None):
        """Translations and scores of `sentences`, in requests of at most `batch_size`.

        Sentences of similar lengths go in the same request (less padding
        for the server); the results come back in the order of `sentences`.

        Args:
            sentences: a sequence of `str`.
            batch_size: the most sentences in one request.
            progress: a function wrapping the iterable of batches (e.g.
                `tqdm.tqdm`), called once; `None` for none.
            glossary, matches: as for `predict` (`matches`: one per sentence).

        Returns:
            `(translations, scores)`: two lists as long as `sentences`.

        Raises:
            ServingError: as `predict`, for the first request that fails.
            ValueError: `batch_size` is not a positive integer, or `matches`
                are not one per sentence.
            TypeError: a sentence is not a `str`.
        """
        sentences = self._sentences(sentences, batch_size)
        pairs = batching.by_length_with_matches(
            lambda batch, found: list(zip(*self.predict(batch, glossary, found), strict=True)),
            sentences, matches, batch_size, progress)
        return [text for text, _ in pairs], [score for _, score in pairs]

    def translate(self, sentences, batch_size=64, progress=None, glossary=None, matches=None):
        """Translations of `sentences`, in order (see `translate_with_scores`).

        Returns:
            A list of `str`, one per sentence.
        """
        return self.translate_with_scores(sentences, batch_size, progress, glossary,
                                          matches)[0]

    def close(self):
        """Closes the connection (the client is not usable afterwards)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _check_outputs(self, translations, scores, count):
        """The outputs as `(list of str, list of float)`, checked against `count`."""
        if (not isinstance(translations, list) or not isinstance(scores, list)
                or len(translations) != count or len(scores) != count
                or not all(isinstance(t, str) for t in translations)):
            raise ServingError(
                f"{self.target}: the server's answer is not {count} translation(s) "
                f"and score(s) (is {self.name!r} an exported translator?)", self.target)
        try:
            return translations, [float(s) for s in scores]
        except (TypeError, ValueError):
            raise ServingError(f"{self.target}: the server's scores are not numbers",
                               self.target) from None


class RestClient(ServingClient):
    """A client of TF Serving's REST API (`requests`, one kept-alive session).

    Args:
        server, name, version, signature, timeout: see `ServingClient`.
        rest_format: `"instances"` (the row form: one JSON object per
            sentence in, one per translation out) or `"inputs"` (the
            columnar form: one list of sentences in, one list per output
            out).

    Raises:
        ValueError: as `ServingClient`, or an unknown `rest_format`.
    """

    protocol = "rest"

    def __init__(self, server, name="translator", version=None,
                 signature=SERVING_SIGNATURE, timeout=10.0, rest_format="instances"):
        import requests

        super().__init__(server, name, version, signature, timeout)
        if rest_format not in REST_FORMATS:
            raise ValueError(f"rest_format must be one of {REST_FORMATS}, got {rest_format!r}.")
        self.rest_format = rest_format
        scheme = "https" if server.strip().lower().startswith("https://") else "http"
        version_path = "" if self.version is None else f"/versions/{self.version}"
        self.url = f"{scheme}://{self.address}/v1/models/{self.name}{version_path}:predict"
        self._requests = requests
        self._session = requests.Session()

    @property
    def target(self):
        return self.url

    def request_body(self, sentences, signature=None, glossary=None, matches=None):
        """The JSON body (a `dict`) of the request for `sentences` (to
        `signature`, by default the client's), with each sentence's match
        when `matches` are given. A glossary's inputs have their own length,
        so a request with one is in the columnar `"inputs"` format whatever
        `rest_format` says."""
        signature = signature or self.signature
        if glossary is not None:
            return {"signature_name": signature, "inputs": {
                INPUT_KEY: list(sentences),
                **dict(zip(GLOSSARY_INPUT_KEYS, (glossary.sources, glossary.targets)))}}
        columns = {INPUT_KEY: list(sentences),
                   **({} if matches is None else {MATCH_INPUT_KEY: list(matches)})}
        if self.rest_format == "instances":
            return {"signature_name": signature,
                    "instances": [dict(zip(columns, row)) for row in zip(*columns.values())]}
        return {"signature_name": signature, "inputs": columns}

    def outputs(self, sentences, signature, glossary=None, matches=None):
        """Runs `signature` in one REST request (see `ServingClient.outputs`)."""
        requests = self._requests
        body = self.request_body(sentences, signature, glossary, matches)
        try:
            response = self._session.post(self.url, json=body, timeout=self.timeout)
        except requests.Timeout:
            raise ServingError(f"{self.url}: timed out after {self.timeout:g} s",
                               self.url) from None
        except requests.ConnectionError as error:
            raise ServingError(
                f"{self.url}: cannot connect, the server is down / connection refused "
                f"({_root_cause(error)})", self.url) from None
        except requests.RequestException as error:
            raise ServingError(f"{self.url}: the request failed: {error}", self.url) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200:
            message = (body.get("error") if isinstance(body, dict) else None) \
                or response.text.strip()[:500] or response.reason
            raise _signature_error(self.url, self.url, signature, response.status_code,
                                   message) or ServingError(
                f"{self.url}: the server answered HTTP {response.status_code}: {message}",
                self.url, status=response.status_code, server_message=message)
        if not isinstance(body, dict):
            raise ServingError(f"{self.url}: the server's answer is not a JSON object: "
                               f"{response.text[:200]!r}", self.url, status=200)
        if glossary is None and self.rest_format == "instances":
            rows = body.get("predictions")
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                return None
            return {key: [r.get(key) for r in rows] for key in {k for r in rows for k in r}}
        outputs = body.get("outputs")
        return outputs if isinstance(outputs, dict) else None

    def close(self):
        self._session.close()


def _root_cause(error):
    """The reason of a `requests` connection error, in a few words."""
    reason = error.args[0] if error.args else error
    reason = getattr(reason, "reason", None) or reason  # urllib3's MaxRetryError
    # "<urllib3.connection.HTTPConnection object at 0x...>: Failed to establish a
    # new connection: [Errno 111] Connection refused"
    return str(reason).split(">: ", 1)[-1]


class GrpcClient(ServingClient):
    """A client of TF Serving's gRPC API (`PredictionService.Predict`).

    Args:
        server, name, version, signature, timeout: see `ServingClient`
            (`server` is `"HOST:PORT"`; the channel is insecure, as TF
            Serving's default port).
        max_message_bytes: the largest answer accepted (gRPC's default is
            4 MiB).

    Raises:
        ValueError: as `ServingClient`.
    """

    protocol = "grpc"

    def __init__(self, server, name="translator", version=None,
                 signature=SERVING_SIGNATURE, timeout=10.0, max_message_bytes=64 << 20):
        import grpc
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

        super().__init__(server, name, version, signature, timeout)
        self._grpc, self._tf, self._predict_pb2 = grpc, tf, predict_pb2
        options = [("grpc.max_receive_message_length", max_message_bytes),
                   ("grpc.max_send_message_length", max_message_bytes)]
        self._channel = grpc.insecure_channel(self.address, options=options)
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def request(self, sentences, signature=None, glossary=None, matches=None):
        """The `PredictRequest` for `sentences` (to `signature`, by default
        the client's), with a glossary's inputs or the sentences' matches
        when given."""
        request = self._predict_pb2.PredictRequest()
        request.model_spec.name = self.name
        request.model_spec.signature_name = signature or self.signature
        if self.version is not None:
            request.model_spec.version.value = self.version
        columns = {INPUT_KEY: sentences}
        if glossary is not None:
            columns.update(zip(GLOSSARY_INPUT_KEYS, (glossary.sources, glossary.targets)))
        if matches is not None:
            columns[MATCH_INPUT_KEY] = matches
        for key, values in columns.items():
            request.inputs[key].CopyFrom(self._tf.make_tensor_proto(
                [s.encode("utf-8") for s in values], dtype=self._tf.string,
                shape=[len(values)]))
        return request

    def outputs(self, sentences, signature, glossary=None, matches=None):
        """Runs `signature` in one gRPC request (see `ServingClient.outputs`)."""
        grpc = self._grpc
        try:
            response = self._stub.Predict(self.request(sentences, signature, glossary, matches),
                                          timeout=self.timeout)
        except grpc.RpcError as error:
            code, details = error.code(), error.details() or ""
            status, server_message = None, None  # no answer came
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                message = f"timed out after {self.timeout:g} s"
            elif code == grpc.StatusCode.UNAVAILABLE:
                message = (f"cannot connect, the server is down / connection refused "
                           f"(UNAVAILABLE: {details})")
            else:
                message = f"the server answered {code.name}: {details}"
                status, server_message = code.name, details
                missing = _signature_error(f"gRPC server {self.address}", self.address,
                                           signature, code.name, details)
                if missing:
                    raise missing from None
            raise ServingError(f"gRPC server {self.address}: {message}", self.address,
                               status=status, server_message=server_message) from None
        try:
            return {key: _decoded(self._tf.make_ndarray(proto).tolist())
                    for key, proto in response.outputs.items()}
        except (TypeError, ValueError, AttributeError):
            return None

    def close(self):
        self._channel.close()


def _decoded(value):
    """`value` (a nested list from a tensor) with its bytes decoded as UTF-8."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    return value


def connect(server, protocol="rest", **kwargs):
    """A client of the model server at `server`.

    Args:
        server: `"HOST:PORT"` (TF Serving's REST port is 8501 and its gRPC
            port 8500 by default).
        protocol: `"rest"` or `"grpc"`.
        **kwargs: the client's other arguments (`name`, `version`,
            `signature`, `timeout`, and `rest_format` for REST).

    Returns:
        A `RestClient` or a `GrpcClient`; close it (or use it in a `with`
        block) when done.

    Raises:
        ValueError: an unknown protocol or a bad argument.
    """
    if protocol == "rest":
        return RestClient(server, **kwargs)
    if protocol == "grpc":
        if kwargs.pop("rest_format", None) is not None:
            raise ValueError("rest_format is for the REST protocol only.")
        return GrpcClient(server, **kwargs)
    raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}.")


__all__ = ["GrpcClient", "PROTOCOLS", "REST_FORMATS", "RestClient", "ServingClient",
           "ServingError", "SignatureNotServed", "connect"]
