"""`python -m bench`: start everything on 127.0.0.1, run the matrix, write the report.

python -m bench            # the default matrix: 1 and 2 workers, 3 runs of 5 s per cell
python -m bench --quick    # 1 run of 2 s per cell: proves the harness, < 2 minutes
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.report import write_all
from bench.runner import Options, run_matrix
from bench.scenarios import SCENARIOS

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None = None) -> tuple[Options, Path]:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="1 run of 2 s per cell")
    parser.add_argument("--workers", default="1,2", help="worker counts (default 1,2)")
    parser.add_argument("--runs", type=int, help="repetitions per cell (default 3)")
    parser.add_argument("--duration", type=float, help="seconds per run (default 5)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="load generator threads")
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help="comma-separated subset of: " + ", ".join(SCENARIOS),
    )
    parser.add_argument("--targets", default="direct,floor,bare,gateway")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report folder")
    args = parser.parse_args(argv)
    quick = args.quick
    options = Options(
        workers=tuple(int(w) for w in args.workers.split(",")),
        runs=args.runs or (1 if quick else 3),
        duration=args.duration or (2.0 if quick else 5.0),
        warmup=1.0,
        connections=args.connections,
        threads=args.threads,
        tool=args.tool,
        scenarios=tuple(s for s in args.scenarios.split(",") if s),
        targets=tuple(t for t in args.targets.split(",") if t),
        propagation_revocations=20 if quick else 100,
    )
    unknown = set(options.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario {sorted(unknown)[0]!r}")
    return options, args.out


def main(argv: list[str] | None = None) -> int:
    options, out = parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hs-bench-") as tmp:
        result = asyncio.run(run_matrix(options, Path(tmp), dict(os.environ)))
    table, paths = write_all(out, result)
    print()
    print(table)
    print("wrote " + ", ".join(str(p) for p in paths))
    print(f"wall time {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
