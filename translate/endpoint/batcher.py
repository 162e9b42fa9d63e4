"""Micro-batching: the sentences of concurrent requests in one model call.

A model translates a batch of 8 sentences in far less than 8 times the time
of one (the matmuls fill the cores, the search's per-step overhead is paid
once), so an HTTP endpoint that gets requests one by one from many clients
gathers them: requests are queued, and one worker thread takes the first
one with every other request already queued (up to `max_sentences`
sentences) and makes one call of the model for all of them.

Whether to wait for more: clients that each send their next request once
answered (Weblate, a translator's browser) come back a few milliseconds
after their answer, while the requests that came during the model call are
already queued. Taking only what is queued splits the clients into two
groups that then alternate, each call half full and about as slow as a full
one (a search runs as long as its longest sentence). So the batcher expects
the requests its previous call answered (they may come back) plus those
that queued meanwhile, and while it has fewer it waits for more: at most
`max_wait` seconds after the model became free or the first request came,
whichever is later. A lone client (one request answered, none queued) is
never held back, the wait is bounded on top of the model's own time, and
the expectation follows the load (a call cut short by the deadline lowers
it).

The worker is a thread, so the model runs off the asyncio event loop (the
web server keeps answering, e.g. `GET /languages`, while it runs): a request
handler awaits `asyncio.wrap_future(batcher.submit(...))`, or a worker
thread blocks on `submit(...).result()`.
"""

import concurrent.futures
import dataclasses
import queue
import threading
import time


class Busy(RuntimeError):
    """More sentences are waiting for the model than the batcher accepts."""


@dataclasses.dataclass
class _Request:
    sentences: list
    future: concurrent.futures.Future
    arrived: float


_STOP = object()


class MicroBatcher:
    """Gathers the sentences of concurrent requests into model calls.

    Args:
        function: `f(sentences) -> results`: a list of strings in, one
            result per sentence out, in order (e.g. a model's `translate`).
            Called from the batcher's thread only, one call at a time.
        max_sentences: gather no more once this many sentences are in the
            batch (a request is never split, so one with more sentences is
            a batch of its own); 1 turns batching off: every request is a
            call of its own.
        max_wait: the most seconds a call waits for more requests once the
            model is free (only while it has fewer than it expects: see the
            module doc).
        max_pending: the most sentences queued and not yet in a call; a
            request beyond it raises `Busy` rather than queue without bound.
        name: the thread's name.

    Raises:
        ValueError: a limit that is not positive (`max_wait` may be 0).
    """

    def __init__(self, function, max_sentences=64, max_wait=0.005, max_pending=4096,
                 name="model"):
        for label, value in (("max_sentences", max_sentences), ("max_pending", max_pending)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{label} must be a positive integer, got {value!r}.")
        if not 0 <= max_wait < 60:
            raise ValueError(f"max_wait must be from 0 to 60 seconds, got {max_wait!r}.")
        self.function = function
        self.max_sentences = max_sentences
        self.max_wait = float(max_wait)
        self.max_pending = max_pending
        self.calls = 0
        """Model calls made so far."""
        self.sentences = 0
        """Sentences given to those calls (`sentences / calls`: the mean batch)."""
        self._queue = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self._closed = False
        self._expected = 1  # requests the next call is expected to gather (see the module doc)
        self._free_since = time.monotonic()  # when the last call ended
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, sentences):
        """Queues `sentences` for the model.

        Args:
            sentences: a list of strings.

        Returns:
            A `concurrent.futures.Future` of the list of results, one per
            sentence in order, or of the exception the function raised for
            the batch.

        Raises:
            Busy: `max_pending` sentences are already waiting.
            RuntimeError: the batcher is closed.
        """
        sentences = list(sentences)
        future = concurrent.futures.Future()
        if not sentences:
            future.set_result([])
            return future
        with self._lock:
            if self._closed:
                raise RuntimeError("the batcher is closed.")
            if self._pending + len(sentences) > self.max_pending:
                raise Busy(f"{self._pending} sentences are already waiting for the model "
                           f"(at most {self.max_pending}); try again shortly.")
            self._pending += len(sentences)
        self._queue.put(_Request(sentences, future, time.monotonic()))
        return future

    def close(self, timeout=10.0):
        """Stops the thread once the queued requests are done."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _gather(self, first):
        """`first` and the requests that join it within the bounds."""
        batch, count = [first], len(first.sentences)
        deadline = max(first.arrived, self._free_since) + self.max_wait
        while count < self.max_sentences:
            try:
                if len(batch) < self._expected:
                    item = self._queue.get(timeout=max(deadline - time.monotonic(), 0.0))
                else:
                    item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                self._queue.put(_STOP)  # seen again by _run once this batch is done
                break
            batch.append(item)
            count += len(item.sentences)
        return batch

    def _run(self):
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = self._gather(first)
            with self._lock:
                self._pending -= sum(len(r.sentences) for r in batch)
            sentences = [s for r in batch for s in r.sentences]
            try:
                results = list(self.function(sentences))
                if len(results) != len(sentences):
                    raise RuntimeError(f"the model returned {len(results)} results for "
                                       f"{len(sentences)} sentences.")
            except BaseException as error:  # noqa: BLE001 (handed to every waiting request)
                for request in batch:
                    request.future.set_exception(error)
                continue
            finally:
                self.calls += 1
                self.sentences += len(sentences)
                self._free_since = time.monotonic()
                self._expected = len(batch) + self._queue.qsize()
            start = 0
            for request in batch:
                request.future.set_result(results[start:start + len(request.sentences)])
                start += len(request.sentences)
