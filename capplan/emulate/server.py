"""The twin behind an HTTP server (aiohttp): each request type at its method and path.

Answers: 200 when the model completes the request; 504 when its timeout passes first (the
model's work goes on, as a real server's would); 503 when a queue limit refuses it; 429
when an LLM API refused every attempt; 500 for any other cause. The body is a small JSON
object naming the request type and the outcome. ``GET /_capplan/health`` reports what
the twin has done so far.

A client that is not a well-behaved HTTP client costs one line on standard error, never a
traceback: a malformed request gets aiohttp's 400, a body that does not arrive within
``BODY_TIMEOUT_S`` a 408, a body larger than ``MAX_BODY_BYTES`` a 413, and a connection that
sends no complete request within ``IDLE_TIMEOUT_S`` is closed.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sys
from collections.abc import Callable
from typing import Any

from aiohttp import web

from capplan.emulate.twin import Twin
from capplan.errors import CapplanError
from capplan.scenario.model import PATH_PARAMETER, Scenario, endpoint

STATUS = {None: 200, "timeout": 504, "rejected": 503, "rate_limited": 429}
HEALTH_PATH = "/_capplan/health"
BODY_TIMEOUT_S = 30.0
"""Longest wait for a request body to arrive."""
IDLE_TIMEOUT_S = 30.0
"""A connection with no complete request for this long is closed (slow or silent clients)."""
MAX_BODY_BYTES = 2**20
"""Largest request body read (the scenario's requests carry small JSON bodies)."""

_TWIN: web.AppKey[Twin] = web.AppKey("twin", Twin)


class EmulatorError(CapplanError):
    """The emulator could not start (e.g. the port is taken)."""


def _route_path(path: str) -> str:
    """A scenario path as an aiohttp route: each ``{name}`` matches one path segment (named
    by position, so that two paths differing only in names are seen to clash)."""
    counter = itertools.count()
    return PATH_PARAMETER.sub(lambda _m: f"{{p{next(counter)}}}", path)


def _handler(name: str, timeout: float | None) -> Callable[[web.Request], Any]:
    async def handle(request: web.Request) -> web.Response:
        if (request.content_length or 0) > MAX_BODY_BYTES:
            raise web.HTTPRequestEntityTooLarge(MAX_BODY_BYTES, request.content_length or 0)
        if request.can_read_body:
            try:
                await asyncio.wait_for(request.read(), BODY_TIMEOUT_S)
            except TimeoutError:
                raise web.HTTPRequestTimeout() from None
            except (ConnectionError, asyncio.IncompleteReadError):
                # the client went away mid-body: nobody is left to answer
                raise web.HTTPBadRequest() from None
        twin = request.app[_TWIN]
        done = twin.submit(name)
        try:
            cause = await (asyncio.wait_for(done, timeout) if timeout is not None else done)
        except TimeoutError:
            cause = "timeout"
        body = {"request": name, "outcome": cause or "ok"}
        return web.json_response(body, status=STATUS.get(cause, 500))

    return handle


async def _health(request: web.Request) -> web.Response:
    return web.json_response(request.app[_TWIN].status())


def build_app(scenario: Scenario, seed: int | None = None) -> web.Application:
    """The emulator as an aiohttp application; the twin starts with the app."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    seen: dict[tuple[str, str], str] = {}
    for name, rtype in scenario.requests.items():
        method, path = endpoint(name, rtype)
        route = (method, _route_path(path))
        if route in seen:
            raise EmulatorError(
                f"requests {seen[route]!r} and {name!r} share {method} {path}: "
                "give each request type its own http path"
            )
        seen[route] = name
        app.router.add_route(method, route[1], _handler(name, rtype.timeout))
    app.router.add_get(HEALTH_PATH, _health)

    async def start(app: web.Application) -> None:
        app[_TWIN] = Twin(
            scenario,
            asyncio.get_running_loop(),
            scenario.simulation.seed if seed is None else seed,
        )

    async def stop(app: web.Application) -> None:
        app[_TWIN].close()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return app


def serve(
    scenario: Scenario,
    host: str = "127.0.0.1",
    port: int = 8080,
    seed: int | None = None,
    announce: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Serve the twin until SIGINT or SIGTERM; returns its final status."""
    app = build_app(scenario, seed)
    final: dict[str, Any] = {}

    async def keep_status(app: web.Application) -> None:
        final.update(app[_TWIN].status())

    app.on_shutdown.append(keep_status)
    listening = f"http://{host}:{port}"
    _one_line_errors()
    try:
        web.run_app(
            app,
            host=host,
            port=port,
            print=lambda _banner: announce(listening),
            access_log=None,
            handle_signals=True,  # SIGINT and SIGTERM end the server cleanly
            shutdown_timeout=1.0,
            keepalive_timeout=IDLE_TIMEOUT_S,
        )
    except OSError as exc:
        raise EmulatorError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from exc
    return final


class _OneLine(logging.Formatter):
    """aiohttp's 'Error handling request' as one line naming the client and the problem."""

    def format(self, record: logging.LogRecord) -> str:
        exc = record.exc_info[1] if record.exc_info else None
        what = f": {type(exc).__name__}: {exc}" if exc is not None else ""
        return f"emulate: {record.getMessage()}{what}".splitlines()[0][:300]


def _one_line_errors() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    for name in ("aiohttp.server", "aiohttp.web", "aiohttp.access"):
        log = logging.getLogger(name)
        log.handlers = [handler]
        log.propagate = False
