"""The LibreTranslate-compatible web application (Starlette, ASGI).

`create_app(backend, pair, ...)` makes the app; `translate.endpoint.server`
runs it with uvicorn. The routes, as LibreTranslate answers them:

- `GET /languages`: the pair (`translate.endpoint.languages`). Needs no API
  key, as LibreTranslate's; it never waits for the model.
- `POST /translate`: a JSON object or form data (`application/x-www-form-
  urlencoded` or `multipart/form-data`) with `q` (a string, or a list of
  strings; in a form, several `q` fields are a list), `source`, `target`,
  optional `format` (`text`, the default, or `html`: the text goes to the
  model as it is, and the export keeps the markup), `alternatives` (how many
  other translations to add, from the export's `translate_n_best`
  signature) and `api_key`. Answered `{"translatedText": ...}`, a string for
  a string `q` and a list in the order of a list `q`, and with
  `alternatives` > 0 also `"alternatives"`: a list of up to that many other
  translations (for a list `q`, one such list per text), none of them equal
  to the translation, none repeated.
- `GET /health`: `{"status": "ok", "model_calls": N, "texts": M}`, for a
  load balancer or a container's health check (`texts / model_calls` is
  the mean batch).

Every error is a JSON object `{"error": "..."}` saying what is wrong, with a
4xx status for a bad request: invalid JSON or form data (400), a missing or
malformed parameter (400), a language pair the model does not translate
(400), too many texts or too long a text (400, LibreTranslate's status for
its limits), `alternatives` from a model that has no n-best signature (400),
a missing API key (400) or a wrong one (403, both as LibreTranslate), a body
over the limit (413), an unknown path (404) or method (405), another
Content-Type (415). A failing model server answers 502, a full queue 503,
and anything unexpected 500 with the error's text (the server logs its
traceback); the server goes on.

Requests meet the model through two `MicroBatcher`s (one for translations,
one for n-best lists), so the texts of concurrent requests go to the model
in one call, in a worker thread; a handler awaits its batch's future, and
the memory's lookups run in Starlette's thread pool, so nothing slow runs
on the event loop. With a memory, a model that reads memory matches
(`train.memory_matches`) is given each text's nearest match, as `translate
po` gives it, through the export's match signatures.
"""

import asyncio
import contextlib
import dataclasses
import functools
import hmac
import json

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from translate.endpoint.batcher import Busy, MicroBatcher
from translate.endpoint.limits import Limits
from translate.serving import ServingError
from translate.signatures import N_BEST_SIGNATURE, SignatureNotFound

FORMATS = ("text", "html")


class RequestError(Exception):
    """A request the endpoint refuses: its HTTP status and what is wrong."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


def _error(status, message):
    return JSONResponse({"error": message}, status_code=status)


@dataclasses.dataclass(frozen=True)
class TranslateRequest:
    """A checked `POST /translate`: the texts, whether `q` was a list, and
    how many alternatives are asked for."""

    texts: list
    is_list: bool
    alternatives: int


async def _body(request, limit):
    """The request's body, read up to `limit` bytes (413 beyond, before
    reading it when its Content-Length says so)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"the request body ({int(declared)} bytes) is over the "
                                f"limit of {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestError(413, f"the request body is over the limit of {limit} bytes.")
    return bytes(body)


async def _parameters(request, limit):
    """The request's parameters, from a JSON object or form data."""
    body = await _body(request, limit)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            parameters = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise RequestError(400, f"Invalid JSON: {error}.") from None
        if not isinstance(parameters, dict):
            raise RequestError(400, 'Invalid JSON: the body must be an object, such as '
                                    '{"q": "Hello", "source": "en", "target": "de"}.')
        return parameters
    if content_type not in ("", "application/x-www-form-urlencoded", "multipart/form-data"):
        raise RequestError(415, f"unsupported Content-Type {content_type!r}: send a JSON "
                                f"object (application/json) or form data.")

    async def replay():  # the body already read, for Starlette's form parser
        return {"type": "http.request", "body": body, "more_body": False}
    try:
        form = await Request(request.scope, replay).form()
    except Exception as error:  # noqa: BLE001 (python-multipart's, Starlette's)
        raise RequestError(400, f"Invalid form data: {getattr(error, 'detail', error)}.") \
            from None
    parameters = {}
    for key in form.keys():
        values = form.getlist(key)
        if any(isinstance(v, UploadFile) for v in values):
            raise RequestError(400, f"Invalid form data: {key!r} is a file; send text.")
        parameters[key] = values[0] if len(values) == 1 else values
    return parameters


def _check_key(parameters, api_keys):
    """Refuses a request without one of `api_keys` (when there are any)."""
    if not api_keys:
        return
    key = parameters.get("api_key")
    if key is None or key == "":
        raise RequestError(400, "missing api_key: this server needs an API key; ask its "
                                "operator for one.")
    given = key.encode("utf-8") if isinstance(key, str) else b""
    # Compared in constant time, against every key.
    if not any([hmac.compare_digest(given, k) for k in api_keys]):
        raise RequestError(403, "Invalid API key.")


def _check_translate(parameters, pair, limits):
    """The `TranslateRequest` of `POST /translate`'s parameters, or RequestError."""
    q = parameters.get("q")
    if q is None or q == "" or q == []:
        raise RequestError(400, "Invalid request: missing q parameter (the text to translate: "
                                "a string or a list of strings).")
    is_list = isinstance(q, list)
    texts = q if is_list else [q]
    wrong = [i for i, text in enumerate(texts) if not isinstance(text, str)]
    if wrong:
        where = f"q[{wrong[0]}] is" if is_list else "q is"
        raise RequestError(400, f"Invalid request: {where} {type(texts[wrong[0]]).__name__}, "
                                f"not a string; q must be a string or a list of strings.")
    if len(texts) > limits.max_texts:
        raise RequestError(400, f"Invalid request: {len(texts)} texts, over the limit of "
                                f"{limits.max_texts} per request.")
    for i, text in enumerate(texts):
        if len(text) > limits.max_chars:
            where = f"q[{i}]" if is_list else "q"
            raise RequestError(400, f"Invalid request: {where} has {len(text)} characters, "
                                    f"over the limit of {limits.max_chars}.")
    for name in ("source", "target"):
        value = parameters.get(name)
        if not isinstance(value, str) or not value.strip():
            raise RequestError(400, f"Invalid request: missing {name} parameter (a language "
                                    f"code: this server translates {pair}).")
    problem = pair.problem(parameters["source"], parameters["target"])
    if problem:
        raise RequestError(400, problem + ".")
    text_format = parameters.get("format") or "text"
    if text_format not in FORMATS:
        raise RequestError(400, f"{text_format!r} format is not supported: use "
                                f"{' or '.join(FORMATS)}.")
    alternatives = parameters.get("alternatives", 0)
    if isinstance(alternatives, str) and alternatives.strip().isdigit():
        alternatives = int(alternatives)
    if (isinstance(alternatives, bool) or not isinstance(alternatives, int)
            or not 0 <= alternatives <= limits.max_alternatives):
        raise RequestError(400, f"Invalid request: alternatives must be a whole number from 0 "
                                f"to {limits.max_alternatives}, got {alternatives!r}.")
    return TranslateRequest(texts, is_list, alternatives)


def _others(hypotheses, translation, count):
    """Up to `count` of `hypotheses`, in order, without repeats or `translation`."""
    found = []
    for hypothesis in hypotheses:
        if hypothesis != translation and hypothesis not in found:
            found.append(hypothesis)
    return found[:count]


class _Service:
    """What the routes call: the batchers in front of the backend, the memory."""

    def __init__(self, backend, limits, memory, memory_threshold, glossary=None,
                 match_from=None):
        self.backend, self.limits = backend, limits
        self.memory, self.memory_threshold = memory, memory_threshold
        self.glossary = glossary
        # No signature takes a glossary and matches together: the glossary wins.
        self.match_from = (match_from if memory is not None and glossary is None
                           else None)
        self.translations = self.n_best = None

    def _for_model(self, function):
        """`function` (the backend's) given the glossary, when there is one;
        for a model that reads matches, called with `(text, match)` pairs."""
        if function is None:
            return None
        if self.glossary is not None:
            return functools.partial(function, glossary=self.glossary)
        if self.match_from is not None:
            return lambda pairs: function([text for text, _ in pairs],
                                          matches=[match for _, match in pairs])
        return function

    def start(self):
        options = dict(max_sentences=self.limits.batch_sentences,
                       max_wait=self.limits.batch_wait, max_pending=self.limits.max_pending)
        self.translations = MicroBatcher(self._for_model(self.backend.translate),
                                         name="model", **options)
        n_best = self._for_model(getattr(self.backend, "n_best", None))
        self.n_best = MicroBatcher(n_best or self._no_n_best, name="model-n-best", **options)

    def stop(self):
        for batcher in (self.translations, self.n_best):
            if batcher is not None:
                batcher.close()
        close = getattr(self.backend, "close", None)
        if close:
            close()

    @staticmethod
    def _no_n_best(sentences):
        raise SignatureNotFound("the backend has no n-best translations.")

    async def answer(self, texts, alternatives):
        """`(translations, alternatives or None)` for a checked request."""
        if self.memory is None:  # the common case: no thread of its own
            if not alternatives:
                return await asyncio.wrap_future(self.translations.submit(texts)), None
            hypotheses = await asyncio.wrap_future(self.n_best.submit(texts))
            translations = [h[0] for h in hypotheses]
        else:
            found = await run_in_threadpool(self._lookup, texts)
            inputs = dict(zip(texts, self._model_inputs(texts, found)))
            if not alternatives:
                model = self.translations.submit
                return await self._with_memory(
                    texts, found, lambda rest: model([inputs[t] for t in rest]).result()), None
            found_n_best = dict(zip(inputs, await asyncio.wrap_future(
                self.n_best.submit(list(inputs.values())))))
            translations = await self._with_memory(
                texts, found, lambda rest: [found_n_best[t][0] for t in rest])
            hypotheses = [found_n_best[t] for t in texts]
        return translations, [_others(h, t, alternatives)
                              for h, t in zip(hypotheses, translations)]

    def _lookup(self, texts):
        """The memory's match of each text (as the corpus stores messages)."""
        from translate.corpus import normalize

        return self.memory.lookup([normalize(text) for text in texts])

    def _model_inputs(self, texts, found):
        """What the batchers take for `texts`: the texts, or for a model that
        reads matches `(text, match translation)` pairs (`matches.given`)."""
        if self.match_from is None:
            return list(texts)
        from translate.matches import given

        return list(zip(texts, given(found, self.match_from)))

    async def _with_memory(self, texts, found, translate):
        """The memory's translations where usable (`found`: the texts'
        lookups), `translate(rest)` elsewhere, in a worker thread (it may block)."""
        from translate import assist  # scikit-learn and sacrebleu: only with a memory

        outputs, _ = await run_in_threadpool(assist.memory_first, texts, self.memory,
                                             self.memory_threshold, translate, self.glossary,
                                             found)
        return outputs


def create_app(backend, pair, *, api_keys=(), limits=None, memory=None,
               memory_threshold=None, glossary=None, match_from=None):
    """The LibreTranslate-compatible app in front of a model (see the module doc).

    Args:
        backend: the model, text in, text out: `translate(sentences) ->
            translations` (a list of strings in, as many out, in order) and,
            for `alternatives`, `n_best(sentences) -> lists of
            translations` (best first) raising
            `translate.signatures.SignatureNotFound` where the model has
            none; e.g. a `translate.exported.ExportedModel` or a
            `translate.serving` client. Called from the batchers' threads;
            its `close()`, if any, is called when the app shuts down.
        pair: the `translate.endpoint.languages.LanguagePair` it translates.
        api_keys: the keys a request must give one of (`api_key`); none:
            no key needed.
        limits: a `Limits` (default: `Limits()`).
        memory: a `translate.memory.TranslationMemory` whose usable matches
            are used instead of the model (as `translate po` does), or None.
        memory_threshold: the similarity from which the memory is used;
            needed with `memory`.
        glossary: a `translate.glossary.Glossary` every answer follows, or
            None: the backend's `translate` and `n_best` are called with
            `glossary=` (`translate.exported.ExportedModel`'s and the serving
            clients' take it), and a memory match lacking a term is not used.
        match_from: for a model that reads memory matches (an export with
            the match signatures; `translate.exported.ExportedModel.
            reads_matches`), the least similarity of the match each text
            going to the model is given (its `min_match_similarity`): the
            backend's `translate` and `n_best` are then called with
            `matches=` (`translate.matches.given`). None: no matches (also
            without a memory, or with a glossary).

    Returns:
        A `starlette.applications.Starlette` app (its batchers start and
        stop with the app's lifespan).

    Raises:
        ValueError: `memory` without a threshold, or an empty API key.
    """
    limits = limits or Limits()
    if memory is not None and memory_threshold is None:
        raise ValueError("a translation memory needs a similarity threshold.")
    keys = [key.encode("utf-8") for key in api_keys]
    if not all(keys):
        raise ValueError("an API key must not be empty.")
    service = _Service(backend, limits, memory, memory_threshold, glossary, match_from)
    languages = pair.languages()

    async def get_languages(request):
        return JSONResponse(languages)

    async def health(request):
        batchers = (service.translations, service.n_best)
        return JSONResponse({"status": "ok",
                             "model_calls": sum(b.calls for b in batchers),
                             "texts": sum(b.sentences for b in batchers)})

    async def translate(request):
        try:
            parameters = await _parameters(request, limits.max_body_bytes)
            _check_key(parameters, keys)
            checked = _check_translate(parameters, pair, limits)
            translations, others = await service.answer(checked.texts, checked.alternatives)
        except RequestError as error:
            return _error(error.status, error.message)
        except SignatureNotFound as error:
            return _error(400, f"this model offers no alternatives: it has no "
                               f"{N_BEST_SIGNATURE!r} signature ({error}); ask without "
                               f"alternatives.")
        except Busy as error:
            return _error(503, f"the server is busy: {error}")
        except ServingError as error:
            return _error(502, f"the model server failed: {error}")
        body = {"translatedText": translations if checked.is_list else translations[0]}
        if checked.alternatives:
            body["alternatives"] = others if checked.is_list else others[0]
        return JSONResponse(body)

    async def http_error(request, error):
        return _error(error.status_code, error.detail)

    async def server_error(request, error):
        # Starlette re-raises it after this answer, for the server to log.
        return _error(500, f"translation failed: {type(error).__name__}: {error}")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        service.start()
        try:
            yield
        finally:
            service.stop()

    return Starlette(
        routes=[Route("/languages", get_languages, methods=["GET"]),
                Route("/translate", translate, methods=["POST"]),
                Route("/health", health, methods=["GET"])],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan)
