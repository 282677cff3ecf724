"""Garbage-collector settings for the long-running server processes (daphne, the
standalone tracker).

A full collection walks every tracked object in the process. With a few hundred sockets
open, `make bench-realtime` recorded full collections of 80-200 ms (BENCH_GC_LOG), and every
frame in flight during one waits for it: they were the p99 of room delivery. Two changes
make them short and rare:

- gc.freeze() once the app is imported: Django, the libraries and our modules (about 130k
  objects that live as long as the process) move to the permanent generation, so no
  collection walks them again;
- a larger youngest generation (7,000 allocations instead of 700): a server allocates fast
  and mostly short-lived objects, so ten times fewer young collections, and full ones ten
  times rarer, while reference cycles are still collected.

SERVER_GC_FREEZE=0 turns the freeze off; SERVER_GC_THRESHOLDS="700,10,10" (Python's
defaults) puts the thresholds back: both are read from the environment, for comparison runs.
"""

from __future__ import annotations

import gc
import os

DEFAULT_THRESHOLDS = (7000, 10, 10)


def thresholds() -> tuple[int, int, int]:
    raw = os.environ.get("SERVER_GC_THRESHOLDS", "")
    if not raw:
        return DEFAULT_THRESHOLDS
    try:
        first, second, third = (int(p) for p in raw.split(","))
    except ValueError:
        raise ValueError(f"SERVER_GC_THRESHOLDS must be three whole numbers like "
                         f"'7000,10,10', not {raw!r}") from None
    return first, second, third


def tune_for_server() -> None:
    """Call once, after the application is imported and before serving."""
    gc.set_threshold(*thresholds())
    if os.environ.get("SERVER_GC_FREEZE", "1") != "0":
        gc.collect()  # what is garbage now should not be frozen with the rest
        gc.freeze()
