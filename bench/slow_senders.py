"""How many slow connections can one client hold on a running gateway, and for how long?

    python -m bench.slow_senders --port 8080 --connections 2000 --seconds 75 \\
        [--path /api/v1/ingest/<tenant>/<token> --key hks_...]

Opens N connections from this one process and keeps each alive the slowloris way, in three
modes run one after the other: `idle` (connect, send nothing), `headers` (a request's headers
one byte a second) and, when a key is given, `body` (valid headers, then the body one byte a
second). Every connection and the whole run are bounded by --seconds; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import time

_BODY_LENGTH = 100_000


async def _hold(port: int, opening: bytes, drip: bytes, deadline: float) -> float:
    """Seconds the gateway kept this connection (the full run if it never hung up), or -1 when
    it was refused at once."""
    started = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return -1.0
    try:
        writer.write(opening)
        for byte in drip:
            if time.monotonic() >= deadline:
                break
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                async with asyncio.timeout(1.0):
                    if await reader.read(65536) == b"" or reader.at_eof():
                        break
            except TimeoutError:
                pass
        else:
            await asyncio.wait_for(reader.read(), max(0.0, deadline - time.monotonic()))
    except (ConnectionError, TimeoutError):
        pass
    finally:
        writer.close()
    return time.monotonic() - started


async def run_mode(
    name: str, port: int, n: int, seconds: float, opening: bytes, drip: bytes
) -> None:
    deadline = time.monotonic() + seconds
    held = await asyncio.gather(*(_hold(port, opening, drip, deadline) for _ in range(n)))
    accepted = [h for h in held if h >= 0]
    through = sum(1 for h in accepted if h >= seconds - 1.0)
    longest = max(accepted, default=0.0)
    print(
        f"{name:8} {n} opened, {n - len(accepted)} refused; longest hold {longest:5.1f} s; "
        f"held for the whole {seconds:.0f} s: {through}"
    )


async def main(args: argparse.Namespace) -> None:
    path = args.path or "/api/v1/ingest/00000000-0000-0000-0000-000000000000/slow"
    head = f"POST {path} HTTP/1.1\r\nHost: gw\r\nContent-Length: {_BODY_LENGTH}\r\n"
    await run_mode("idle", args.port, args.connections, args.seconds, b"", b"")
    await run_mode("headers", args.port, args.connections, args.seconds, b"", head.encode() * 50)
    if args.key:
        opening = f"{head}X-Api-Key: {args.key}\r\n\r\n".encode()
        await run_mode(
            "body", args.port, args.connections, args.seconds, opening, b"x" * _BODY_LENGTH
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.slow_senders", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=75.0)
    parser.add_argument("--path")
    parser.add_argument("--key")
    asyncio.run(main(parser.parse_args()))
