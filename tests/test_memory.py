import gc

from interestlab.memory import long_lived_frozen, release_memory


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_long_lived_frozen_freezes_inside_and_unfreezes_after():
    assert gc.get_freeze_count() == 0
    alive = _Cycle()
    with long_lived_frozen():
        assert gc.get_freeze_count() > 0
        assert gc.is_tracked(alive)
    assert gc.get_freeze_count() == 0


def test_garbage_made_inside_the_block_is_still_collected():
    def count() -> int:
        return sum(isinstance(o, _Cycle) for o in gc.get_objects())

    with long_lived_frozen():
        before = count()
        for _ in range(100):
            _Cycle()  # unreachable at once: only a collection frees a cycle
        assert count() >= before + 100
        release_memory()
        assert count() == before


def test_an_earlier_freeze_is_kept():
    gc.freeze()
    try:
        with long_lived_frozen():
            pass
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
