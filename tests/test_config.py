import pytest

from interestlab.config import gate_workers


def test_gate_workers_default_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTERESTLAB_GATE_WORKERS", raising=False)
    assert gate_workers() == 1
    monkeypatch.setenv("INTERESTLAB_GATE_WORKERS", "3")
    assert gate_workers() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("INTERESTLAB_GATE_WORKERS", bad)
        with pytest.raises(ValueError, match="`INTERESTLAB_GATE_WORKERS` must be a positive"):
            gate_workers()
