"""Runs the endpoint's app with uvicorn on a socket bound first.

Binding before uvicorn starts lets the caller learn the address (port 0
picks a free one, as the tests do) and say it before serving: requests that
come in meanwhile wait in the socket's backlog.
"""

import socket


def bind(host="127.0.0.1", port=5000):
    """A listening TCP socket on `host:port` (0: a free port).

    Raises:
        OSError: the address is taken or cannot be bound (the message says
            which).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named: the connections accepted inherit it, and asyncio
    # turns Nagle's algorithm off only for sockets that say so (else each
    # answer's second write waits for a delayed ACK: 40 ms a request).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as error:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    return sock


def url(sock):
    """`http://HOST:PORT` of a bound socket."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def uvicorn_server(app, log_level="info"):
    """The `uvicorn.Server` that `run` runs (its `should_exit` stops it).

    Args:
        app: an ASGI app (`translate.endpoint.app.create_app`).
        log_level: uvicorn's log level ("warning" hides the access log).
    """
    import uvicorn

    return uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="on",
                                         timeout_graceful_shutdown=10))


def run(app, sock, log_level="info"):
    """Serves `app` on `sock` until SIGINT or SIGTERM (then shuts down cleanly:
    requests in progress are answered, the model's threads stopped).

    Args:
        app: an ASGI app (`translate.endpoint.app.create_app`).
        sock: a listening socket (`bind`).
        log_level: see `uvicorn_server`.
    """
    uvicorn_server(app, log_level).run(sockets=[sock])
