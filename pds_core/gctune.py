"""The garbage collector tuned for a pds process (measured in docs/performance.md, "Garbage collector").

Why: a cold compile allocates millions of short-lived objects (Jinja nodes, sqlglot trees, whose parent
links make them cycles), and CPython's default gen-0 threshold of 700 ran 1,583 collections costing
about a fifth of the CPU of `pds compile` on 1,000 models. Larger thresholds make collections rarer
and larger: 385 collections, GC CPU 1.1 s -> 0.4 s, compile 5.35 -> 5.0 s CPU (gen-0 at 10,000 collected
no less and added system time). Trade-off: cyclic garbage lives a little longer (peak RSS +1 to 2 MB
there). gc.freeze() after the imports was measured too and gained nothing measurable, and it would
keep a long-lived caller's (a test runner's) garbage forever: not used then. At exit it is (before_exit):
there it spares the teardown's collections, and only the `pds` process itself calls it.
"""

from __future__ import annotations

import gc

THRESHOLDS = (3_000, 20, 100)  # CPython's default: (700, 10, 10)


def tune() -> None:
    """Called by the `pds` entry point only: a program importing pds keeps its own settings."""
    gc.set_threshold(*THRESHOLDS)


def before_exit() -> None:
    """Called by the `pds` entry point when its command is done: the interpreter's teardown then frees what
    is left by reference counting, without first running full collections over every object still alive
    (0.05 to 0.1 s of CPU for `pds show`, more after a compile; docs/performance.md, part 4). Atexit
    handlers and the flushing of open files still run; only cyclic garbage left at exit is not looked
    for, whose finalizers Python does not promise to run at exit anyway."""
    gc.freeze()
