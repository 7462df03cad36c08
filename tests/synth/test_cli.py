import argparse

import pytest

from interestlab import config
from interestlab.synth import cli


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="interestlab")
    cli.register(root.add_subparsers(dest="command", required=True))
    return root


def test_defaults_come_from_config() -> None:
    args = parser().parse_args(["synth"])
    assert args.customers == config.DEFAULT_N_CUSTOMERS
    assert args.seed == config.DEFAULT_SEED
    assert args.end == config.DEFAULT_AS_OF
    assert args.months == 15
    assert args.out is None  # resolved to config.default_bank_dir() when run
    assert args.func is cli.run


def test_run_writes_the_bank_and_prints_one_summary_line(tmp_path, capsys) -> None:
    out = tmp_path / "bank"
    args = parser().parse_args(
        [
            "synth",
            "--customers",
            "120",
            "--seed",
            "5",
            "--out",
            str(out),
            "--months",
            "2",
            "--end",
            "2026-06-01",
        ]
    )
    assert args.func(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("synth: wrote 120 customers, ")
    assert lines[0].endswith(f" to {out}")
    assert (out / "_summary.json").is_file()


def test_default_out_is_the_workspace_bank(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("INTERESTLAB_HOME", str(tmp_path))
    args = parser().parse_args(["synth", "--customers", "30", "--months", "1"])
    assert cli.run(args) == 0
    assert (tmp_path / "data" / "bank" / "customers" / "part-0.parquet").is_file()
    assert str(tmp_path / "data" / "bank") in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["synth", "--customers", "0"], "expected a positive integer, got '0'"),
        (["synth", "--seed", "-3"], "expected a non-negative integer, got '-3'"),
        (["synth", "--end", "2026-13-01"], "expected a date YYYY-MM-DD, got '2026-13-01'"),
        (["synth", "--months", "0"], "expected a positive integer, got '0'"),
    ],
)
def test_bad_arguments_exit_with_a_usage_error(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        parser().parse_args(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_standalone_main_runs_the_sub_command(tmp_path, capsys) -> None:
    assert (
        cli.main(["synth", "--customers", "20", "--months", "1", "--out", str(tmp_path / "b")]) == 0
    )
    assert "synth: wrote 20 customers" in capsys.readouterr().out
