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
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as error:
        raise OSError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


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
