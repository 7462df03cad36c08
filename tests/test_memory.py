import gc

import pytest

from interestlab.memory import long_lived_frozen, release_memory


class _Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def nothing_frozen():
    # Earlier tests may have frozen objects (`freeze_long_lived` after importing GX): start
    # from an unfrozen collector and freeze again afterwards.
    was_frozen = gc.get_freeze_count() > 0
    gc.unfreeze()
    yield
    if was_frozen:
        gc.freeze()


def test_long_lived_frozen_freezes_inside_and_unfreezes_after(nothing_frozen):
    alive = _Cycle()
    with long_lived_frozen():
        assert gc.get_freeze_count() > 0
        assert gc.is_tracked(alive)
    assert gc.get_freeze_count() == 0


def test_garbage_made_inside_the_block_is_still_collected(nothing_frozen):
    def count() -> int:
        return sum(isinstance(o, _Cycle) for o in gc.get_objects())

    with long_lived_frozen():
        before = count()
        for _ in range(100):
            _Cycle()  # unreachable at once: only a collection frees a cycle
        assert count() >= before + 100
        release_memory()
        assert count() == before


def test_an_earlier_freeze_is_kept(nothing_frozen):
    gc.freeze()
    with long_lived_frozen():
        pass
    assert gc.get_freeze_count() > 0
    gc.unfreeze()
