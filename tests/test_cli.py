"""The command line's own behaviour: which commands take the workspace lock."""

from __future__ import annotations

import pytest

from interestlab import cli, config
from interestlab.orchestration import workspace_lock

STAGES = {
    "synth": ["--customers", "10"],
    "ingest": ["--as-of", "2026-11-15"],
    "features": ["--as-of", "2026-11-15"],
    "train": ["--training-set", "missing", "--trainer", "t"],
    "promote": ["--family", "savings", "--version", "1", "--approver", "r"],
    "plan": ["--as-of", "2026-11-15"],
}


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERESTLAB_HOME", str(tmp_path))
    return tmp_path


def test_every_writing_command_is_a_stage_with_the_lock() -> None:
    assert set(STAGES) == cli.WRITES_WORKSPACE


@pytest.mark.parametrize("command", sorted(STAGES))
def test_a_stage_started_during_a_run_exits_locked_and_writes_nothing(home, command, capsys):
    def files() -> list:
        return sorted((p.relative_to(home), p.stat().st_size) for p in home.rglob("*"))

    with workspace_lock(config.runs_dir()):
        before = files()
        code = cli.main([command, *STAGES[command]])
        after = files()
    assert code == cli.EXIT_LOCKED
    assert f"interestlab {command}: another interestlab run holds the lock" in (
        capsys.readouterr().err
    )
    assert after == before


def test_read_only_commands_run_beside_a_run(home, capsys):
    with workspace_lock(config.runs_dir()):
        assert cli.main(["policy"]) == 0
    assert "another interestlab run" not in capsys.readouterr().err
