"""Speed of `translate serve` on localhost: latency of one message, and the
throughput of 8 concurrent clients with batching against without.

    python benchmarks/endpoint.py --export runs/export/translator
        [--signature serving_default] [--tsv FILE] [--requests 200]
        [--clients 8] [--seconds 10] [--rounds 3] [--batch-wait-ms 5]

Two endpoints serve the same export, each in a process of its own (the app
of `translate.endpoint.app` under uvicorn, as `translate serve` runs it): one
batches concurrent requests into one model call (up to 64 sentences, a
bounded wait of `--batch-wait-ms`), the other makes one model call per
request (`--batch-size 1`). This process is the clients: `requests`
connections (`http.client`, kept alive), one message of about 10 words per
`POST /translate` (JSON, a list `q` of one text, as Weblate sends them).

- Latency: `--requests` requests one after the other, the two endpoints
  taking turns on each message (so that on a shared machine both see the
  same load); the median and 95th percentile, in milliseconds, HTTP
  included.
- Throughput: `--clients` threads send requests as fast as they get
  answers, for `--seconds`, to one endpoint and then the other, `--rounds`
  times (the first endpoint alternating); sentences answered per second,
  over all rounds. Only one endpoint is loaded at a time; the other idles.

Targets, on 2 CPU cores: median <= 25 ms for a 10-word message (the
batching endpoint, whose lone requests wait for company at most
`--batch-wait-ms`), and batching >= 3x the throughput without it.
"""

import argparse
import concurrent.futures
import http.client
import json
import multiprocessing
import os
import sys
import threading
import time
import urllib.parse

import numpy as np
import requests

import software_messages  # beside this file
from translate.endpoint import server
from translate.endpoint.languages import LanguagePair
from translate.endpoint.limits import Limits
from translate.machine import cpu_model
from translate.signatures import SIGNATURES, export_languages, resolve_export

P50_TARGET_MS = 25.0
SPEEDUP_TARGET = 3.0


def _serve(export_dir, signature, pair, limits, sock):
    """The child process: the export behind the app, on the inherited socket."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from translate.endpoint.app import create_app
    from translate.exported import ExportedModel

    model = ExportedModel(export_dir, signature)
    server.run(create_app(model, pair, limits=limits), sock, log_level="warning")


def start(export_dir, signature, pair, limits, deadline_s=300):
    """An endpoint process on a free port; returns `(process, url)` once it answers."""
    sock = server.bind("127.0.0.1", 0)
    url = server.url(sock)
    # Forked: it inherits the socket; this process has loaded no TensorFlow.
    process = multiprocessing.get_context("fork").Process(
        target=_serve, args=(export_dir, signature, pair, limits, sock), daemon=True)
    process.start()
    sock.close()  # the child holds its own copy
    end = time.monotonic() + deadline_s
    while True:
        try:
            if requests.get(url + "/health", timeout=5).ok:
                return process, url
        except requests.RequestException:  # the socket listens before the app runs
            pass
        if not process.is_alive() or time.monotonic() > end:
            raise SystemExit(f"the endpoint did not start (exit code {process.exitcode})")
        time.sleep(0.2)


class Client:
    """One kept-alive connection to an endpoint (`http.client`: the client's
    own cost per request is far below `requests`', which on 2 shared cores
    would be what is measured)."""

    def __init__(self, url, pair):
        host, port = urllib.parse.urlsplit(url)[1].rsplit(":", 1)
        self.connection = http.client.HTTPConnection(host, int(port), timeout=120)
        self.pair = pair

    def translate(self, message):
        """One `POST /translate` of one message; raises on anything but 200."""
        body = json.dumps({"q": [message], "source": self.pair.source,
                           "target": self.pair.target})
        self.connection.request("POST", "/translate", body,
                                {"Content-Type": "application/json"})
        response = self.connection.getresponse()
        answer = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {answer[:300]!r}")
        return json.loads(answer)["translatedText"]


def latencies(urls, messages, pair, count, warmup):
    """Milliseconds per request to each URL, the URLs taking turns per message."""
    clients = {url: Client(url, pair) for url in urls}
    times = {url: [] for url in urls}
    for i in range(warmup + count):
        message = messages[i % len(messages)]
        for url in urls:
            start = time.perf_counter()
            clients[url].translate(message)
            if i >= warmup:
                times[url].append(1000 * (time.perf_counter() - start))
    return {url: np.array(t) for url, t in times.items()}


def health(url):
    """`(model calls, texts)` the endpoint has made and translated so far."""
    state = requests.get(url + "/health", timeout=30).json()
    return state["model_calls"], state["texts"]


def throughput(url, messages, pair, clients, seconds):
    """`(sentences answered per second, mean sentences per model call)` of
    `url` with `clients` concurrent clients."""
    stop = threading.Event()

    def client(index):
        connection, done = Client(url, pair), 0
        while not stop.is_set():
            connection.translate(messages[(index * 7 + done) % len(messages)])
            done += 1
        return done

    calls, texts = health(url)
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        start = time.perf_counter()
        futures = [pool.submit(client, i) for i in range(clients)]
        time.sleep(seconds)
        stop.set()
        done = sum(f.result() for f in futures)
        elapsed = time.perf_counter() - start
    calls_after, texts_after = health(url)
    return done / elapsed, (texts_after - texts) / max(calls_after - calls, 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", required=True, metavar="DIR",
                        help="a version directory, or a model directory of versions")
    parser.add_argument("--signature", choices=SIGNATURES, default=SIGNATURES[0])
    software_messages.add_argument(parser)
    parser.add_argument("--requests", type=int, default=200,
                        help="requests timed one after the other, per endpoint")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests first")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="seconds of each throughput run")
    parser.add_argument("--rounds", type=int, default=3,
                        help="throughput runs per endpoint, taking turns")
    parser.add_argument("--batch-wait-ms", type=float, default=Limits().batch_wait * 1000)
    args = parser.parse_args(argv)
    if min(args.requests, args.clients, args.rounds) < 1 or args.seconds <= 0:
        parser.error("--requests, --clients, --rounds and --seconds must be positive")
    try:
        export_dir = resolve_export(args.export)
    except FileNotFoundError as error:
        parser.error(str(error))
    messages = software_messages.chosen(args)
    pair = LanguagePair(*(export_languages(export_dir) or ("en", "de")))

    batching = Limits(batch_wait=args.batch_wait_ms / 1000)
    settings = {"batching": batching,
                "no batching": Limits(batch_sentences=1, batch_wait=0.0)}
    started = {name: start(export_dir, args.signature, pair, limits)
               for name, limits in settings.items()}
    urls = {name: url for name, (_, url) in started.items()}
    load_before = os.getloadavg()
    try:
        for url in urls.values():  # concurrent warm-up: every batch size traced
            throughput(url, messages, pair, args.clients, min(args.seconds, 2.0))
        times = latencies(list(urls.values()), messages, pair, args.requests, args.warmup)
        rates = {name: [] for name in urls}
        batches = {name: [] for name in urls}
        for round_ in range(args.rounds):
            for name in (list(urls) if round_ % 2 == 0 else list(urls)[::-1]):
                rate, batch = throughput(urls[name], messages, pair, args.clients, args.seconds)
                rates[name].append(rate)
                batches[name].append(batch)
    finally:
        for process, _ in started.values():
            process.terminate()
            process.join(30)
    load_after = os.getloadavg()

    words = np.mean([len(m.split()) for m in messages])
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; load average "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after; Python "
          f"{sys.version.split()[0]}")
    print(f"export: {export_dir} ({args.signature}); {len(messages)} messages of "
          f"{words:.1f} words on average ({args.tsv or 'built-in'}); {args.requests} "
          f"requests one by one, {args.clients} clients x {args.seconds:g} s x "
          f"{args.rounds} rounds")
    print(f"| endpoint | median ms | p95 ms | {args.clients} clients, sentences/s (each round) "
          f"| texts per model call |\n|---|---|---|---|---|")
    labels = {"batching": f"batching (<= {batching.batch_sentences} sentences, wait <= "
                          f"{args.batch_wait_ms:g} ms)",
              "no batching": "no batching (one model call per request)"}
    for name, url in urls.items():
        print(f"| {labels[name]} | {np.median(times[url]):.1f} | "
              f"{np.percentile(times[url], 95):.1f} | {np.mean(rates[name]):.1f} "
              f"({', '.join(f'{r:.1f}' for r in rates[name])}) | "
              f"{np.mean(batches[name]):.1f} |")
    median = float(np.median(times[urls["batching"]]))
    speedup = np.mean(rates["batching"]) / np.mean(rates["no batching"])
    print(f"batching / no batching throughput: {speedup:.2f}x; target >= "
          f"{SPEEDUP_TARGET:g}x: {'met' if speedup >= SPEEDUP_TARGET else 'NOT met'}")
    print(f"median latency with batching: {median:.1f} ms; target <= {P50_TARGET_MS:g} ms: "
          f"{'met' if median <= P50_TARGET_MS else 'NOT met'}")


if __name__ == "__main__":
    main()
