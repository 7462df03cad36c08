"""Point-in-time snapshots: leakage mutations, consent (R13), retention (R3), lineage."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from literal_bank import frame, utc
from polars.testing import assert_frame_equal

from interestlab.consent import consented_ids
from interestlab.contract import EVENT_TYPES, FAMILIES, THEMES
from interestlab.features import (
    FEATURE_CATALOGUE,
    build_features,
    build_training_set,
    content_hash,
    monthly_as_ofs,
    write_snapshot,
)
from interestlab.features.snapshots import (
    LABEL_COLUMNS,
    _consented_codes,
    customer_codes,
    iter_snapshots,
    read_lineage,
    read_snapshot,
    read_training_set,
    scan_snapshot,
    write_training_set,
)
from interestlab.policy import as_of_moment

from .frames import customers_rows, grant, one


@pytest.fixture
def base_rows(click) -> list[dict]:
    return [
        click("C1", days_before=2, event_type="simulation", family="mortgage", session_id=1),
        click("C1", days_before=20, event_type="info_consult", family="mortgage", session_id=2),
        click("C1", days_before=50, event_type="theme_visit", theme="home", session_id=3),
        click(
            "C1", days_before=300, event_type="procedure_abandoned", family="car_loan", session_id=4
        ),
        click("C2", days_before=5, event_type="info_consult", family="savings", session_id=5),
    ]


def changed_columns(before: pl.DataFrame, after: pl.DataFrame) -> dict[str, set[str]]:
    """Feature columns whose value differs, per customer."""
    out: dict[str, set[str]] = {}
    for left, right in zip(before.iter_rows(named=True), after.iter_rows(named=True), strict=True):
        diff = {k for k in left if left[k] != right[k]}
        if diff:
            out[left["customer_id"]] = diff
    return out


def test_events_after_as_of_change_nothing(features, click, base_rows, as_of) -> None:
    before = features(base_rows)
    later = [
        click("C1", ts=as_of, event_type="simulation", family="savings", session_id=1),
        click("C1", days_before=-3, event_type="procedure_completed", family="mortgage"),
        click("C2", days_before=-40, event_type="theme_visit", theme="car", session_id=5),
    ]
    assert_frame_equal(before, features(base_rows + later))


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["C1", "C2"]),
            st.integers(min_value=0, max_value=10 * 86_400_000_000),
            st.sampled_from(EVENT_TYPES),
            st.sampled_from((None, *FAMILIES)),
            st.sampled_from((None, *THEMES)),
            st.integers(min_value=1, max_value=6),
        ),
        max_size=8,
    )
)
def test_any_future_events_change_nothing(features, click, base_rows, as_of, future) -> None:
    later = [
        click(
            c, ts=as_of + timedelta(microseconds=us), event_type=t, family=f, theme=th, session_id=s
        )
        for c, us, t, f, th, s in future
    ]
    assert_frame_equal(features(base_rows), features(base_rows + later))


def test_one_changed_event_changes_exactly_its_features(features, base_rows) -> None:
    before = features(base_rows)
    mutated = [dict(row) for row in base_rows]
    mutated[1]["event_type"] = "simulation"  # C1, 20 days ago, mortgage
    assert changed_columns(before, features(mutated)) == {
        "C1": {
            "fam_mortgage__info_consult_90d",
            "fam_mortgage__simulation_90d",
            "all__info_consult_90d",
            "all__simulation_90d",
        }
    }
    moved = [dict(row) for row in base_rows]
    moved[0]["ts"] = moved[0]["ts"] - timedelta(days=10)  # C1's simulation: 2 -> 12 days ago
    assert changed_columns(before, features(moved)) == {
        "C1": {
            "fam_mortgage__events_7d",
            "fam_mortgage__days_since_simulation",
            "all__events_7d",
            "all__days_since_event",
        }
    }


def test_withdrawn_customer_is_absent_and_future_choices_are_ignored(
    features, click, as_of
) -> None:
    consent = [
        grant("C1", utc(2024, 1, 1)),
        grant("C2", utc(2024, 1, 1)),
        grant("C2", as_of - timedelta(days=1), granted=False),  # withdrew before as-of
        grant("C3", utc(2024, 1, 1)),
        grant("C3", as_of + timedelta(days=1), granted=False),  # withdraws after as-of
        grant("C4", as_of + timedelta(hours=1)),  # grants after as-of
    ]
    rows = [click(c, days_before=3) for c in ("C1", "C2", "C3", "C4")]
    out = features(rows, customers=customers_rows("C1", "C2", "C3", "C4"), consent=consent)
    assert out["customer_id"].to_list() == ["C1", "C3"]
    assert out["all__events_7d"].to_list() == [1, 1]


def test_events_of_a_withdrawn_period_stay_unused_after_regrant(features, click, as_of) -> None:
    consent = [
        grant("C1", utc(2024, 1, 1)),
        grant("C1", as_of - timedelta(days=30), granted=False),
        grant("C1", as_of - timedelta(days=10)),
        grant("C2", utc(2024, 1, 1)),
    ]
    rows = [click(days_before=40), click(days_before=20), click(days_before=5)]
    row = one(features(rows, consent=consent))
    assert row["all__events_90d"] == 2


def test_events_before_the_retention_start_never_count(
    features, click, as_of, retention_start
) -> None:
    rows = [
        click(
            ts=retention_start - timedelta(microseconds=1),
            event_type="simulation",
            family="savings",
        ),
        click(ts=retention_start, event_type="info_consult", family="savings"),
    ]
    row = one(features(rows))
    assert row["fam_savings__events_365d"] == 1
    assert row["fam_savings__days_since_simulation"] is None
    # A historical snapshot under a later run: windows clipped at that run's cutoff.
    clipped = one(
        features(
            [click(days_before=150, family="savings"), click(days_before=50, family="savings")],
            retention_start=as_of - timedelta(days=100),
        )
    )
    assert clipped["fam_savings__events_365d"] == 1
    assert clipped["all__history_days"] == 100


def test_output_shape_types_and_order(features, base_rows) -> None:
    out = features(base_rows)
    assert out.columns == ["customer_id", "as_of", *FEATURE_CATALOGUE]
    assert out["customer_id"].to_list() == ["C1", "C2"]
    assert out.schema["as_of"] == pl.Datetime("us", "UTC")
    assert {name: spec.dtype for name, spec in FEATURE_CATALOGUE.items()} == {
        name: out.schema[name] for name in FEATURE_CATALOGUE
    }


def test_theme_links_are_not_model_inputs(features, base_rows) -> None:
    # R5: theme links feed model-free rules only; no column may be derived from them.
    assert all(spec.source != "theme_links" for spec in FEATURE_CATALOGUE.values())
    assert not [c for c in features(base_rows).columns if "link" in c]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"at": "naive"}, "must be time-zone aware"),
        ({"at": "noon"}, "must be a local midnight"),
        ({"retention_start": "naive"}, "`retention_start` must be time-zone aware"),
    ],
)
def test_build_features_validates_moments(features, base_rows, as_of, change, message) -> None:
    value = {"naive": as_of.replace(tzinfo=None), "noon": as_of + timedelta(hours=12)}
    kwargs = {key: value[v] for key, v in change.items()}
    with pytest.raises(ValueError, match=message):
        features(base_rows, **kwargs)


@pytest.mark.parametrize("per_pass", [4, 2, 1])
def test_training_set_stacks_point_in_time_snapshots(  # noqa: PLR0917
    tables, click, policy, as_of, retention_start, per_pass, monkeypatch
) -> None:
    # Snapshots are computed a few per pass over the compact tables: any batching gives
    # exactly the single-snapshot features.
    monkeypatch.setattr("interestlab.features.snapshots.SNAPSHOTS_PER_PASS", per_pass)
    as_ofs = monthly_as_ofs(as_of, n_snapshots=3, horizon_days=30, policy=policy)
    consent = [
        grant("C1", utc(2024, 1, 1)),
        grant("C2", utc(2024, 1, 1)),
        grant("C2", as_ofs[0] + timedelta(days=3), granted=False),
        grant("C2", as_ofs[1] + timedelta(days=3)),
    ]
    rows = [
        click("C1", days_before=d, event_type="simulation", family="savings", session_id=d)
        for d in (5, 40, 70, 100, 130)
    ] + [click("C2", days_before=d, family="mortgage", session_id=100 + d) for d in (45, 75, 110)]
    holdings = [
        {
            "customer_id": "C1",
            "account_id": "A1",
            "product_id": "P-savings",
            "opened_on": date(2026, 9, 20),
            "closed_on": None,
        },
        {
            "customer_id": "C1",
            "account_id": "A2",
            "product_id": "P-mortgage",
            "opened_on": date(2010, 1, 1),
            "closed_on": None,
        },
    ]
    kwargs = tables(rows, holdings=holdings, consent=consent)
    stacked = build_training_set(
        **kwargs,
        as_ofs=list(reversed(as_ofs)),
        policy=policy,
        retention_start=retention_start,
        horizon_days=30,
    )
    assert stacked.columns == ["customer_id", "as_of", *FEATURE_CATALOGUE, *LABEL_COLUMNS]
    singles = pl.concat(
        build_features(**kwargs, as_of=t, policy=policy, retention_start=retention_start)
        for t in as_ofs
    )
    assert_frame_equal(stacked.drop(LABEL_COLUMNS), singles)
    # C2 withdrew during the first month and re-granted in the second: absent from snapshot 2.
    assert stacked.group_by("as_of").len().sort("as_of")["len"].to_list() == [2, 1, 2]
    c1 = stacked.filter(pl.col("customer_id") == "C1").sort("as_of")
    assert c1["label__savings"].to_list() == [0, 1, None]  # opened 2026-09-20
    assert c1["label__mortgage"].to_list() == [None, None, None]
    c2 = stacked.filter(pl.col("customer_id") == "C2")
    assert c2["label__mortgage"].to_list() == [0, 0]  # no account at all: eligible, 0
    assert stacked.schema["label__savings"] == pl.Int8


def test_training_set_validates_as_ofs(tables, base_rows, policy, as_of, retention_start) -> None:
    kwargs = tables(base_rows)
    for as_ofs, message in (([], "at least one"), ([as_of, as_of], "must be distinct")):
        with pytest.raises(ValueError, match=message):
            build_training_set(
                **kwargs,
                as_ofs=as_ofs,
                policy=policy,
                retention_start=retention_start,
                horizon_days=30,
            )


def test_snapshot_lineage_is_stable_and_atomic(
    features, base_rows, policy, as_of, tmp_path
) -> None:
    df = features(base_rows)
    oldest = as_of - timedelta(days=300)
    first = write_snapshot(df, tmp_path / "a", as_of=as_of, policy=policy, oldest_input_ts=oldest)
    second = write_snapshot(
        features(base_rows), tmp_path / "b", as_of=as_of, policy=policy, oldest_input_ts=oldest
    )
    assert first == second
    assert (tmp_path / "a" / "part-0.parquet").read_bytes() == (
        tmp_path / "b" / "part-0.parquet"
    ).read_bytes()
    assert json.loads((tmp_path / "a" / "_lineage.json").read_text()) == first
    assert first["as_of"] == as_of.isoformat()
    assert first["oldest_input_ts"] == oldest.isoformat()
    assert first["policy_version"] == policy.version
    assert (first["n_rows"], first["n_features"]) == (2, len(FEATURE_CATALOGUE))
    assert_frame_equal(pl.read_parquet(tmp_path / "a" / "part-0.parquet"), df)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]  # no temporary left
    changed = df.with_columns(pl.col("all__events_365d") + 1)
    assert content_hash(changed) != first["content_hash"]
    assert (
        content_hash(df.sample(fraction=1.0, shuffle=True, seed=1).sort("customer_id"))
        == (first["content_hash"])
    )


def test_write_snapshot_requires_key_columns(policy, as_of, tmp_path) -> None:
    with pytest.raises(ValueError, match=r"expected key columns .* missing \['as_of'\]"):
        write_snapshot(
            pl.DataFrame({"customer_id": ["C1"]}),
            tmp_path / "x",
            as_of=as_of,
            policy=policy,
            oldest_input_ts=None,
        )


def test_write_snapshot_of_a_training_set_lists_its_as_ofs(policy, tmp_path) -> None:
    moments = [as_of_moment(date(2026, 9, 15), policy), as_of_moment(date(2026, 8, 15), policy)]
    df = pl.DataFrame(
        {"customer_id": ["C1", "C1"], "as_of": moments, "label__savings": [0, 1]}
    ).with_columns(
        pl.col("as_of").cast(pl.Datetime("us", "UTC")), pl.col("label__savings").cast(pl.Int8)
    )
    lineage = write_snapshot(df, tmp_path / "t", as_of=moments, policy=policy, oldest_input_ts=None)
    assert lineage["as_of"] == [t.isoformat() for t in sorted(moments)]
    assert lineage["labels"] == ["label__savings"]
    assert lineage["n_features"] == 0


@pytest.fixture
def three(tables, click, policy, as_of, retention_start):
    """Tables and `iter_snapshots` keywords of a 3-snapshot training set."""
    as_ofs = monthly_as_ofs(as_of, n_snapshots=3, horizon_days=30, policy=policy)
    rows = [
        click("C1", days_before=d, event_type="simulation", family="savings", session_id=d)
        for d in (5, 40, 70, 100, 130)
    ] + [click("C2", days_before=d, family="mortgage", session_id=100 + d) for d in (45, 75)]
    common = {"as_ofs": as_ofs, "policy": policy, "retention_start": retention_start}
    return tables(rows), common


def test_training_set_is_written_part_by_part_and_read_back(three, policy, tmp_path) -> None:
    kwargs, common = three
    as_ofs = common["as_ofs"]
    whole = build_training_set(**kwargs, **common, horizon_days=30)
    lineage = write_training_set(
        iter_snapshots(**kwargs, **common, horizon_days=30),
        tmp_path / "t",
        as_ofs=as_ofs,
        policy=policy,
        oldest_input_ts=None,
    )
    assert [p["file"] for p in lineage["parts"]] == [f"part-0{i}.parquet" for i in range(3)]
    assert lineage["n_rows"] == whole.height
    assert lineage["labels"] == list(LABEL_COLUMNS)
    assert lineage["n_features"] == len(FEATURE_CATALOGUE)
    assert_frame_equal(read_snapshot(tmp_path / "t", as_of=as_ofs, policy=policy), whole)
    scan = scan_snapshot(tmp_path / "t", as_of=as_ofs, policy=policy)
    assert_frame_equal(scan.collect(engine="in-memory"), whole)
    table, stored = read_training_set(tmp_path / "t", as_of=as_ofs, policy=policy)
    assert_frame_equal(table, whole)
    assert stored == json.loads((tmp_path / "t" / "_lineage.json").read_text())
    # Another window, or a part changed on disk: not reusable.
    assert read_snapshot(tmp_path / "t", as_of=as_ofs[1:], policy=policy) is None
    assert read_training_set(tmp_path / "t", as_of=as_ofs[1:], policy=policy) is None
    part = tmp_path / "t" / "part-01.parquet"
    pl.read_parquet(part).with_columns(pl.col("all__events_365d") + 1).write_parquet(part)
    assert read_lineage(tmp_path / "t", as_of=as_ofs, policy=policy) is None


def test_training_set_writer_leaves_nothing_half_written(three, policy, tmp_path) -> None:
    kwargs, common = three
    as_ofs = common["as_ofs"]
    first = write_training_set(
        iter_snapshots(**kwargs, **common, horizon_days=30),
        tmp_path / "t",
        as_ofs=as_ofs,
        policy=policy,
        oldest_input_ts=None,
    )

    def crashing():
        snapshots = iter_snapshots(**kwargs, **common, horizon_days=30)
        yield next(snapshots)
        raise MemoryError("killed mid-way")

    with pytest.raises(MemoryError):
        write_training_set(
            crashing(), tmp_path / "t", as_ofs=as_ofs, policy=policy, oldest_input_ts=None
        )
    assert read_lineage(tmp_path / "t", as_of=as_ofs, policy=policy) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]
    with pytest.raises(ValueError, match="expected 3 snapshots, got 1"):
        write_training_set(
            iter_snapshots(**kwargs, **{**common, "as_ofs": as_ofs[:1]}, horizon_days=30),
            tmp_path / "u",
            as_ofs=as_ofs,
            policy=policy,
            oldest_input_ts=None,
        )
    assert not (tmp_path / "u").exists()


def test_content_hash_ignores_what_lies_under_nulls() -> None:
    # Same values and nulls, different bytes under the null slot (as after a parquet round
    # trip): same hash. A different null position or value: another hash.
    base = pl.DataFrame({"label": pl.Series([1, None, 0], dtype=pl.Int8)})
    garbage_under_null = pl.DataFrame({"label": pl.Series([1, 7, 0], dtype=pl.Int8)}).select(
        pl.when(pl.Series([True, False, True])).then(pl.col("label")).alias("label")
    )
    assert content_hash(base) == content_hash(garbage_under_null)
    assert content_hash(base) != content_hash(base.with_columns(pl.col("label").shift(1)))
    assert content_hash(base) != content_hash(base.with_columns(pl.col("label").fill_null(0)))
    empty = pl.DataFrame({"label": pl.Series([None, None], dtype=pl.Int8)})
    assert content_hash(empty) != content_hash(empty.head(1))


def test_content_hash_ignores_a_validity_buffer_without_nulls(tmp_path) -> None:
    # `fill_null` (or a gather) can leave a validity buffer of all-set bits, which a parquet
    # read does not have: same content, same hash.
    filled = pl.DataFrame({"n": pl.Series([1.0, None], dtype=pl.Float32)}).select(
        pl.col("n").fill_null(0)
    )
    plain = pl.DataFrame({"n": pl.Series([1.0, 0.0], dtype=pl.Float32)})
    filled.write_parquet(tmp_path / "f.parquet")
    assert content_hash(filled) == content_hash(plain)
    assert content_hash(pl.read_parquet(tmp_path / "f.parquet")) == content_hash(plain)
    assert content_hash(plain) != content_hash(plain.with_columns(pl.col("n").cast(pl.Float64)))


def test_training_set_writer_failure_leaves_nothing(three, policy, tmp_path, monkeypatch) -> None:
    # Parts are written by a worker thread while the next snapshot is built: its error is
    # raised by `write_training_set`, after the worker stopped, and nothing is left behind.
    kwargs, common = three
    as_ofs = common["as_ofs"]
    written = []

    def failing_write(snapshot: pl.DataFrame, path) -> str:
        written.append(path.name)
        if len(written) == 2:
            raise OSError("disk full")
        snapshot.write_parquet(path)
        return content_hash(snapshot)

    monkeypatch.setattr("interestlab.features.snapshots._write_part", failing_write)
    with pytest.raises(OSError, match="disk full"):
        write_training_set(
            iter_snapshots(**kwargs, **common, horizon_days=30),
            tmp_path / "t",
            as_ofs=as_ofs,
            policy=policy,
            oldest_input_ts=None,
        )
    assert written == ["part-00.parquet", "part-01.parquet"]
    assert list(tmp_path.iterdir()) == []


def test_snapshot_parts_hash_as_their_files(three, policy, tmp_path) -> None:
    # The hash the writer records for a part is the hash of the part read back.
    kwargs, common = three
    lineage = write_training_set(
        iter_snapshots(**kwargs, **common, horizon_days=30),
        tmp_path / "t",
        as_ofs=common["as_ofs"],
        policy=policy,
        oldest_input_ts=None,
    )
    for part, snapshot in zip(
        lineage["parts"], iter_snapshots(**kwargs, **common, horizon_days=30), strict=True
    ):
        assert part["content_hash"] == content_hash(snapshot)
        assert part["content_hash"] == content_hash(pl.read_parquet(tmp_path / "t" / part["file"]))


def test_universes_coded_by_position_equal_the_consented_ids(policy, as_of) -> None:
    # Consent looked up on integer positions gives exactly the universes and codes of
    # `consented_ids` on the string ids: grants, withdrawals, re-grants, ties, customers
    # without any consent record and consent records of unknown customers.
    as_ofs = monthly_as_ofs(as_of, n_snapshots=4, horizon_days=30, policy=policy)
    ids = ["C5", "C1", "C3", "C2", "C4", "C6"]
    consent = frame(
        "consent_events",
        [
            grant("C1", utc(2024, 1, 1)),
            grant("C2", as_ofs[1]),  # recorded at the as-of moment: counts
            grant("C3", utc(2024, 1, 1)),
            grant("C3", as_ofs[0] + timedelta(days=1), granted=False),
            grant("C3", as_ofs[2] + timedelta(days=1)),
            grant("C4", as_ofs[1] - timedelta(days=1)),
            grant("C4", as_ofs[1] - timedelta(days=1), granted=False),  # a tie: withdrawn
            grant("C9", utc(2024, 1, 1)),  # not a customer
            {**grant("C6", utc(2024, 1, 1)), "purpose": "email_commercial"},
        ],
    )
    customers = frame("customers", customers_rows(*ids))
    codes, coded = _consented_codes(customers, consent.lazy(), as_ofs, policy=policy)
    universes = [
        consented_ids(customers.select("customer_id"), consent, at=t, policy=policy) for t in as_ofs
    ]
    assert_frame_equal(codes, customer_codes(universes))
    for universe, got in zip(universes, coded, strict=True):
        expected = universe.join(codes, on="customer_id").select("code").sort("code")
        assert_frame_equal(got, expected)
    assert [u.height for u in universes] == [2, 2, 2, 3]


def test_content_hash_is_the_sha256_of_the_columns_ipc_streams() -> None:
    # The hash streams each column's IPC bytes into the digest: the same digest as hashing
    # the whole stream written to memory (its definition), for every kind of column.
    df = pl.DataFrame(
        {
            "customer_id": ["C1", "C2", None],
            "as_of": [utc(2026, 1, 1)] * 3,
            "count": pl.Series([1.0, 0.0, 2.0], dtype=pl.Float32),
            "since": pl.Series([None, 3.0, None], dtype=pl.Float32),
            "flag": [True, None, False],
            "label": pl.Series([None, None, None], dtype=pl.Int8),
        }
    )
    digest = hashlib.sha256()
    for name in df.columns:
        column = df.get_column(name)
        digest.update(f"{name}\x00{column.dtype}\x00".encode())
        parts = [column]
        if column.null_count():
            filled = column.fill_null(strategy="forward").fill_null(strategy="backward")
            parts = [column.is_null().alias("nulls"), filled][: 1 if filled.null_count() else 2]
        for part in parts:
            if part.dtype == pl.Boolean:
                part = part.cast(pl.UInt8)  # noqa: PLW2901
            if (part.dtype.is_integer() or part.dtype.is_float()) and not part.null_count():
                part = pl.Series(part.name, part.to_numpy(), dtype=part.dtype)  # noqa: PLW2901
            buffer = io.BytesIO()
            part.to_frame().rechunk().write_ipc_stream(buffer, compression="uncompressed")
            digest.update(buffer.getvalue())
    assert content_hash(df) == digest.hexdigest()
