"""The stand-in ingest upstream for benchmarks: reads the whole request, answers 202.

Deliberately lean (httptools callbacks, no framework, no logging) so that the upstream takes as
little of the machine as possible and the figures describe the proxy in front of it. Behaviour
matches `gateway/standin.py` (202, `{"accepted": true}`), which is the one to use for tests.

    python -m bench.upstream --port 9001
"""

from __future__ import annotations

import argparse
import asyncio

import uvloop

from bench.httpproto import Request, ServerProtocol, reuse_port_socket

ACCEPTED = b'{"accepted":true}'
_HEADERS = [(b"Content-Type", b"application/json")]


def accept(protocol: ServerProtocol, request: Request) -> None:
    protocol.respond(202, _HEADERS, ACCEPTED)


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: ServerProtocol(accept), sock=reuse_port_socket(host, port)
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.upstream", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
