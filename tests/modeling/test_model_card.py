import pytest

from interestlab.modeling.model_card import REQUIRED_SECTIONS, render_model_card
from interestlab.modeling.train import assign_split, feature_columns, resolve_params, train_family


@pytest.fixture(scope="module")
def sampled(make_set, small_params):
    from interestlab.policy import load_policy

    policy = load_policy()
    training_set = make_set()
    frame, split = assign_split(training_set, n_test_months=2, policy=policy)
    params = resolve_params({**small_params, "negative_rate": 0.5})
    result = train_family(
        frame, "savings", features=feature_columns(training_set), params=params, seed=3
    )
    return result, split, params, policy


def render(sampled, **overrides) -> str:
    from interestlab.features import FEATURE_CATALOGUE

    result, split, params, policy = sampled
    arguments = dict(
        split=split,
        params=params,
        policy=policy,
        lineage=[
            {
                "as_of": "2026-03-01",
                "content_hash": "ab" * 32,
                "n_rows": 300,
                "oldest_input_ts": "2025-03-01",
            }
        ],
        gx_summary={"success": True},
        trainer="alice",
        run_id="r1",
        git_commit="c0ffee" * 7,
        seed=3,
        catalogue=FEATURE_CATALOGUE,
    )
    return render_model_card(result, **(arguments | overrides))


def test_card_has_every_section_and_states_sampling(sampled) -> None:
    card = render(sampled)
    for section in REQUIRED_SECTIONS:
        assert f"\n## {section}\n" in card, section
    assert "50% of negative rows" in card and "weighted 2.00" in card
    assert "out-of-time test: 2026-07, 2026-08" in card
    assert "`fam_savings__events_30d` | looked at savings pages <times> in the last 30 days" in card
    assert "CUST" not in card


def test_card_states_the_test_evaluation_sample(sampled) -> None:
    result, *_ = sampled
    n_test = result.counts["n_test"]
    assert f"Test evaluation on every one of the {n_test:,} eligible test rows." in render(sampled)
    original = dict(result.counts)
    result.counts["n_test_eligible"] = 10 * n_test
    try:
        card = render(sampled, params={**sampled[2], "test_max_rows": n_test})
    finally:
        result.counts.clear()
        result.counts.update(original)
    assert (
        f"seeded uniform sample of {n_test:,} of the {10 * n_test:,} eligible test rows"
        f" (`test_max_rows` {n_test:,}" in card
    )
    assert f"evaluated of {10 * n_test:,} eligible" in card


def test_card_says_when_lightgbm_does_not_earn_its_place(sampled) -> None:
    result = sampled[0]
    original = dict(result.challenger_metrics)
    result.challenger_metrics["auc"] = 0.99
    try:
        card = render(sampled)
    finally:
        result.challenger_metrics.update(original)
    assert "LightGBM does **not** beat the challenger" in card


def test_run_note_fits_mlflow_and_keeps_every_section(sampled) -> None:
    from interestlab.modeling.model_card import NOTE_LIMIT, run_note

    short = render(sampled)
    assert run_note(short) == short  # a card that fits is the note as it is
    lineage = [
        {
            "as_of": f"2026-{month:02d}-01",
            "content_hash": f"{month:02d}" * 32,
            "n_rows": 1_000_000,
            "oldest_input_ts": "2025-03-01",
        }
        for month in range(1, 13)
    ] * 8  # a long lineage table
    card = render(sampled, lineage=lineage)
    assert len(card) > NOTE_LIMIT
    note = run_note(card)
    assert len(note) <= NOTE_LIMIT
    for section in REQUIRED_SECTIONS:
        assert f"\n## {section}\n" in note, section
    assert "the full section is in the run's `model_card.md`" in note
    assert note.split("\n## Limitations\n")[1] == card.split("\n## Limitations\n")[1]
    # Even a card that cannot fit by shortening sections ends on a whole line and a pointer.
    tiny = run_note(card, limit=600)
    assert len(tiny) <= 600 and tiny.endswith("the full card is in the run's `model_card.md`)_\n")
