"""Set-up of a long-running chairside process (the clinic application with the HL7 listener, an engine
worker) once it has started.

Python's cyclic garbage collector now and then scans every container object of the process (a full
collection). After start-up those are mostly the imported libraries and the application itself, a few
hundred thousand objects that live as long as the process: a full collection of them took ~160 ms of CPU on
the 2-core development machine, during which the HL7 listener answers nothing, and the objects of the
messages in flight (each parsed HL7 message is a few hundred) trigger one every few seconds at hundreds of
messages per second. :func:`freeze_startup_heap` takes what start-up made out of the collector's scans
(``gc.freeze``), so a full collection scans only what was made since.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collect once, then exempt every object alive now from later collections (call once, when start-up
    is over; objects made later are collected as usual)."""
    gc.collect()
    gc.freeze()
