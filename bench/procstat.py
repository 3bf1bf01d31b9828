"""CPU time of a process tree (a supervisor and its workers), read from /proc via psutil.

`snapshot()` before and after a run; `cpu_seconds(before, after)` sums user + system time of
every process present in both, so a gateway with N workers is charged for all N (and its
supervisor). Clock-tick resolution (10 ms) is fine over runs of a few seconds.
"""

from __future__ import annotations

from collections.abc import Iterable

import psutil

Snapshot = dict[int, float]


def tree(pids: Iterable[int]) -> list[psutil.Process]:
    procs: list[psutil.Process] = []
    for pid in pids:
        try:
            root = psutil.Process(pid)
            procs += [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    return procs


def snapshot(pids: Iterable[int]) -> Snapshot:
    snap: Snapshot = {}
    for proc in tree(pids):
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        snap[proc.pid] = times.user + times.system
    return snap


def cpu_seconds(before: Snapshot, after: Snapshot) -> float:
    return sum(after[pid] - before[pid] for pid in after.keys() & before.keys())


def us_per_request(before: Snapshot, after: Snapshot, requests: int) -> float | None:
    if requests <= 0 or not before:
        return None
    return cpu_seconds(before, after) * 1e6 / requests
