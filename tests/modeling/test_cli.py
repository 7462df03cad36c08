import argparse
import json

import pytest

from interestlab.modeling import CHAMPION, PromotionRefusedError, tracking
from interestlab.modeling.cli import register


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="interestlab")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


@pytest.mark.parametrize("layout", ["folder", "file"])
def test_train_approve_promote_through_the_cli(  # noqa: PLR0917
    workspace, tmp_path, make_set, small_params, capsys, layout
) -> None:
    # The training set as notebook 02 writes it (a folder of parts) or as one parquet file.
    frame = make_set(200)
    if layout == "folder":
        training_set = tmp_path / "training-2026-11-15"
        training_set.mkdir()
        half = frame.height // 2
        frame.head(half).write_parquet(training_set / "part-00.parquet")
        frame.tail(frame.height - half).write_parquet(training_set / "part-01.parquet")
    else:
        training_set = tmp_path / "training.parquet"
        frame.write_parquet(training_set)
    params = tmp_path / "params.json"
    params.write_text(
        json.dumps(
            small_params
            | {
                "gates": {
                    "min_auc": 0.5,
                    "min_top_decile_lift": 1.0,
                    "min_auc_gain_over_challenger": -1.0,
                }
            }
        )
    )
    args = parse(
        [
            "train",
            "--training-set",
            str(training_set),
            "--trainer",
            "alice",
            "--families",
            "savings",
            "--params",
            str(params),
            "--seed",
            "3",
        ]
    )
    assert args.func(args) == 0
    assert "savings" in capsys.readouterr().out

    args = parse(["promote", "--family", "savings", "--version", "1", "--approver", "bob"])
    with pytest.raises(PromotionRefusedError, match="approval: no approval recorded"):
        args.func(args)

    args = parse(
        [
            "approve",
            "--family",
            "savings",
            "--version",
            "1",
            "--reviewer",
            "bob",
            "--note",
            "reviewed card and segments",
        ]
    )
    assert args.func(args) == 0
    args = parse(
        [
            "promote",
            "--family",
            "savings",
            "--version",
            "1",
            "--approver",
            "bob",
            "--params",
            str(params),
        ]
    )
    assert args.func(args) == 0
    version = tracking.client().get_model_version_by_alias("interest-savings", CHAMPION)
    assert str(version.version) == "1"
    assert version.tags["approval.note"] == "reviewed card and segments"


def test_ui_serves_loopback_over_workspace_store(workspace, capsys) -> None:
    args = parse(["ui", "--port", "5123", "--dry-run"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:5123" in out
    assert f"sqlite:///{workspace}/mlruns/mlflow.db" in out and "--host 127.0.0.1" in out
