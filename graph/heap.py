"""The garbage collector, set for a server whose requests free their own objects.

A request's objects (its context, loaders, the upstream JSON, the models, the result) hold no
reference cycles (graph/execution.py ``weak_helpers``; tests/test_execution.py checks it), so
reference counting frees them as soon as the request is answered. CPython's cyclic collector,
triggered by allocation counts, is then pure overhead, and a large one under load: each
collection walks the young objects, and with 64 W3 requests in flight those are some 90,000
objects still in use (about 1 ms per 1,000). Measured in-process on W3 (gc.callbacks): at
concurrency 1, 6.3 ms of collector time per request with the default threshold (and the
cycles); at concurrency 64, 3.8 ms per request with a threshold of 10,000 and 2.6 ms with
100,000 (no threshold avoids walking the requests in flight), 0.2 ms on the clock below; CPU
per request 18.9, 17.8 and 14.7 ms.

So a serving process, once its app is built, moves everything alive into the permanent
generation (``gc.freeze``: the schema, the config and the imported modules are never walked
again), turns the allocation-triggered collector off, and collects on a clock instead: every
:data:`INTERVAL_S` seconds, from a daemon thread. Cyclic garbage that does appear (an
exception's traceback, say) is still freed, at most that much later; a collection under the
heaviest load takes about 0.1 s, once per interval.
"""

from __future__ import annotations

import gc
import threading
import time

INTERVAL_S = 10.0


def settle(interval_s: float = INTERVAL_S) -> threading.Thread:
    """Freeze what startup built and collect on a clock from now on; returns the clock."""
    gc.collect()
    gc.freeze()
    gc.disable()
    clock = threading.Thread(
        target=_collect_every, args=(interval_s,), name="gc-clock", daemon=True
    )
    clock.start()
    return clock


def _collect_every(interval_s: float) -> None:
    while True:
        time.sleep(interval_s)
        gc.collect()
