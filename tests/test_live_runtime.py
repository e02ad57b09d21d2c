"""Process set-up of the chairside service: the start-up heap is frozen out of the garbage collector's
scans, and a message waiting for storage keeps only what its ACK needs."""

from __future__ import annotations

import gc

from live_fixtures import oru, session_values

from crampwatch.chairside.runtime import freeze_startup_heap
from crampwatch.io.machine import hl7_oru


def test_freeze_startup_heap_exempts_the_objects_alive_now_and_collects_later_ones():
    before = gc.get_freeze_count()
    try:
        kept = [[] for _ in range(1000)]  # alive at start-up
        freeze_startup_heap()
        assert gc.get_freeze_count() >= before + len(kept)
        cycle: list = []
        cycle.append(cycle)  # made later: still collected
        del cycle
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()


def _without_time_and_id(ack: str) -> list[list[str]]:
    fields = [line.split("|") for line in ack.strip("\r").split("\r")]
    fields[0][6] = fields[0][9] = ""  # MSH-7 time, MSH-10 the ACK's own control id
    return fields


def test_acknowledgement_from_the_header_alone_equals_the_one_from_the_whole_message():
    msg = hl7_oru.read(oru("M7", values=session_values(0)))
    header = hl7_oru.header(msg)
    assert [str(s[0]) for s in header] == ["MSH"]
    for code, reason in (("AA", ""), ("AE", "patient 'X' (PID-3) is not a known patient")):
        assert _without_time_and_id(hl7_oru.acknowledgement(header, code, reason)) == _without_time_and_id(
            hl7_oru.acknowledgement(msg, code, reason)
        )
