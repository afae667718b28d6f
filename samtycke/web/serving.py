"""One process, one or two servers: a website's origin and, beside it, samtycke's own.

The embedded ClickHouse admits one process per data directory, so ``samtycke proxy``
cannot leave its dashboard to a ``samtycke serve`` on the same data.  With an admin
port it serves samtycke's own origin itself, from a second server in the same event
loop.  The first server runs the lifespan that opens storage, the journal and the
consent log for both, and closes them.

So the second server starts once the first is up and stops before it: no request
reaches storage that is not open yet, or no longer is.  uvicorn takes SIGTERM and SIGINT
for each server and, once that server has stopped, hands the signal on to the handler
it replaced; the second server's handler is the outer one, so a signal stops it, then
the first.  A second server that stops by itself stops the first too.

Sockets are bound before anything starts, so an address in use is an error the command
can explain, not a server dying half-way through start-up.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

import uvicorn

# How often to look whether the first server is up; start-up only, so coarse is fine.
STARTING_POLL_SECONDS = 0.05


@dataclass
class Listener:
    """A server's configuration and the socket it answers on."""

    config: uvicorn.Config
    sock: socket.socket

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``; OSError when the address is taken or not this machine's."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def run(first: Listener, second: Listener | None = None) -> None:
    """Serve until a signal; ``first``'s app has the lifespan, ``second``'s none."""
    with asyncio.Runner(loop_factory=first.config.get_loop_factory()) as runner:
        runner.run(serve(first, second))


async def serve(first: Listener, second: Listener | None = None) -> None:
    main = uvicorn.Server(first.config)
    main_task = asyncio.create_task(main.serve([first.sock]))
    if second is None:
        await main_task
        return
    while not main.started and not main_task.done():
        await asyncio.sleep(STARTING_POLL_SECONDS)
    if main_task.done():  # stopped before it was up: a signal during start-up
        await main_task
        return
    other = uvicorn.Server(second.config)
    other_task = asyncio.create_task(other.serve([second.sock]))
    await asyncio.wait({main_task, other_task}, return_when=asyncio.FIRST_COMPLETED)
    other.should_exit = True
    await other_task
    main.should_exit = True
    await main_task
