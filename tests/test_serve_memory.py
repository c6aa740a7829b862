"""`closeloop serve` takes what start-up made out of the garbage collector (cli.settle_memory):
a full collection afterwards walks only what was made since."""

import gc

from cli import settle_memory


def test_start_up_objects_leave_the_collector() -> None:
    before = gc.get_freeze_count()
    try:
        settle_memory()
        frozen = gc.get_freeze_count()
        assert frozen > before + 10_000  # every module, class and function loaded so far
        assert len(gc.get_objects()) < frozen // 10  # what a full collection still walks
    finally:
        gc.unfreeze()
