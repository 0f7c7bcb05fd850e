"""The garbage collector, set for a server whose requests free their own objects.

A request's objects (its context, loaders, the upstream JSON, the models, the result) hold no
reference cycles (graph/execution.py ``weak_helpers``), so reference counting frees them as soon
as the request is answered. The cyclic collector is then pure overhead: with CPython's default
threshold of 700 it ran some 8 young collections per W3 request, each walking objects that are
still in use, and every 13th request a gen-2 collection walked the whole schema. Measured
in-process on W3 (gc.callbacks): 6.3 ms of collector time per request before (with the cycles),
0.02 ms after; CPU per request 27 -> 17 ms.

So a serving process, once its app is built, moves everything alive into the permanent
generation (``gc.freeze``: the schema, the config, imported modules are never scanned again)
and collects young objects only after :data:`GEN0_THRESHOLD` net allocations. Cyclic garbage
that does appear (an exception's traceback, say) is still collected, just less often.
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 10_000  # net container allocations between young collections (CPython: 700)


def settle() -> None:
    """Freeze what startup built and raise the young generation's threshold."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
