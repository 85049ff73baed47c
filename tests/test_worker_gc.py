"""Servers collect cyclic garbage rarely (batches and requests make no cycles to speak of)."""

from __future__ import annotations

import gc

from fairhub import loops


def test_a_server_collects_rarely_and_never_rescans_startup_objects() -> None:
    before = gc.get_threshold()
    try:
        loops.collect_rarely()
        assert gc.get_threshold()[0] == loops.GC_YOUNG_THRESHOLD
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
