"""What start-up built is kept out of the garbage collector's full passes (bot/serving.py, freeze_startup_heap).

A full collection walks every tracked object while holding the GIL; for the bot's start-up heap that stalled
every request in flight for 31-46 ms (issue 22). `python -m bot run` freezes that heap once, before serving.
"""

from __future__ import annotations

import gc

from bot.serving import freeze_startup_heap


def test_objects_built_before_the_freeze_are_no_longer_walked_by_a_collection() -> None:
    built_at_start = [[index] for index in range(1_000)]  # containers: the collector tracks them
    try:
        frozen = freeze_startup_heap()
        walked = {id(obj) for obj in gc.get_objects()}
        made_later = [0]
        assert frozen == gc.get_freeze_count() >= len(built_at_start)
        assert not any(id(obj) in walked for obj in built_at_start)
        assert id(made_later) in {id(obj) for obj in gc.get_objects()}, "what serving makes is still collected"
    finally:
        gc.unfreeze()
    assert id(built_at_start[0]) in {id(obj) for obj in gc.get_objects()}
