"""Statistical sanity of a 3,000-customer bank: the signal and the governance traps exist.

Tolerances are wide enough for sampling noise at this size and narrow enough to catch a
generator that lost a feature (e.g. no anonymous sessions, no signal, no expired events).
"""

from datetime import date, timedelta

import polars as pl

from interestlab.contract import COMM_CATEGORIES, COMM_CHANNELS, FAMILIES, TABLES
from interestlab.policy import as_of_moment

END = date(2026, 11, 15)


def test_domains_and_keys_hold_in_every_table(tables, clicks) -> None:
    for name, table in TABLES.items():
        df = clicks if name == "click_events" else tables[name]
        for column in table.columns:
            values = df[column.name]
            if not column.nullable:
                assert values.null_count() == 0, (name, column.name)
            if column.domain:
                assert set(values.drop_nulls()) <= set(column.domain), (name, column.name)
        if name != "click_events":
            assert not df.select(table.key).is_duplicated().any(), name


def test_customer_ids_are_pseudonymous_zero_padded_and_sorted(tables) -> None:
    ids = tables["customers"]["customer_id"]
    assert ids.str.contains(r"^C\d{7}$").all()
    assert ids.is_sorted() and ids.is_unique().all()


def test_language_depends_on_region(tables) -> None:
    shares = (
        tables["customers"]
        .group_by("region")
        .agg(
            (pl.col("language") == "nl").mean().alias("nl"),
            (pl.col("language") == "fr").mean().alias("fr"),
        )
    )
    by_region = {r["region"]: r for r in shares.iter_rows(named=True)}
    assert by_region["flanders"]["nl"] > 0.85
    assert by_region["wallonia"]["fr"] > 0.85
    assert 0.4 < by_region["brussels"]["fr"] < 0.85


def test_about_110_events_per_customer_with_the_expected_governance_shares(
    clicks, summary, policy
) -> None:
    n = clicks.height
    assert 85 < n / 3_000 < 135
    identified = clicks.filter(pl.col("customer_id").is_not_null())
    anonymous = n - identified.height
    assert 0.10 <= anonymous / n <= 0.15
    pre_login = identified.filter(pl.col("ts") < pl.col("identified_at")).height
    assert 0.03 <= pre_login / identified.height <= 0.07
    cutoff = policy.retention_cutoff(as_of_moment(END, policy))
    expired = clicks.filter(pl.col("ts") < cutoff).height
    assert 0.13 <= expired / n <= 0.25
    assert summary["click_events"]["anonymous"] == anonymous
    assert summary["click_events"]["pre_identification"] == pre_login
    assert summary["click_events"]["older_than_retention"] == expired


def test_sessions_log_in_once_and_anonymous_sessions_have_no_login(clicks) -> None:
    per_session = clicks.group_by("session_id").agg(
        pl.col("customer_id").n_unique().alias("customers"),
        pl.col("identified_at").n_unique().alias("logins"),
        pl.col("channel").n_unique().alias("channels"),
        pl.col("customer_id").null_count().alias("null_customer"),
        pl.col("identified_at").null_count().alias("null_login"),
        (pl.col("ts") >= pl.col("identified_at")).sum().alias("after_login"),
        pl.len().alias("events"),
    )
    assert (per_session["customers"] == 1).all() and (per_session["logins"] == 1).all()
    assert (per_session["channels"] == 1).all()
    assert (per_session["null_customer"] == per_session["null_login"]).all()
    identified = per_session.filter(pl.col("null_customer") == 0)
    assert (identified["after_login"] >= 1).all()  # a login is always followed by an event


def test_quarantine_bait_unknown_customers_and_duplicate_deliveries(
    clicks, tables, summary
) -> None:
    known = tables["customers"].select("customer_id")
    unknown = clicks.filter(pl.col("customer_id").is_not_null()).join(
        known, on="customer_id", how="anti"
    )
    assert 0 < unknown.height < clicks.height * 0.001
    assert unknown.height == summary["click_events"]["unknown_customer"]
    duplicated = clicks.filter(pl.col("event_id").is_duplicated())
    assert 0 < duplicated.height < clicks.height * 0.001
    # A duplicate is the same event delivered twice: every column equal.
    assert duplicated.unique().height * 2 == duplicated.height
    assert duplicated.height // 2 == summary["click_events"]["duplicate_deliveries"]


def test_a_latent_interest_clearly_raises_the_acquisition_rate(tables, bank) -> None:
    truth = pl.read_parquet(bank / "truth" / "interests.parquet")
    start = date(2025, 8, 15)
    holdings = tables["holdings"].join(tables["products"], on="product_id")
    acquired = (
        holdings.filter(pl.col("opened_on") >= start).select("customer_id", "family").unique()
    )
    customers = tables["customers"].select("customer_id")
    grid = customers.join(pl.DataFrame({"family": FAMILIES}), how="cross")
    interested = (
        truth.filter(pl.col("surge_end").dt.date() < END - timedelta(days=60))
        .select("customer_id", "family")
        .unique()
        .with_columns(pl.lit(True).alias("interested"))
    )
    rates = (
        grid.join(interested, on=["customer_id", "family"], how="left")
        .join(
            acquired.with_columns(pl.lit(True).alias("acquired")),
            on=["customer_id", "family"],
            how="left",
        )
        .fill_null(False)
        .group_by("interested")
        .agg(pl.col("acquired").mean())
    )
    rate = dict(rates.iter_rows())
    assert rate[True] > 0.15
    assert rate[True] > 8 * rate[False]
    assert rate[False] > 0  # baseline acquisitions: noise the models must live with
    assert truth["converts"].mean() < 0.6  # not every interest converts


def test_interest_surges_show_in_simulations_and_abandoned_procedures(clicks, bank) -> None:
    truth = pl.read_parquet(bank / "truth" / "interests.parquet").filter(
        pl.col("surge_start").dt.date() > date(2025, 9, 1),
        pl.col("surge_end").dt.date() < date(2026, 11, 1),
    )
    intent = clicks.filter(
        pl.col("customer_id").is_not_null(),
        pl.col("event_type").is_in(["simulation", "procedure_started", "procedure_abandoned"]),
    )
    in_surge = (
        intent.join(
            truth.select("customer_id", "family", "surge_start", "surge_end"),
            left_on=["customer_id", "product_family"],
            right_on=["customer_id", "family"],
        )
        .filter(pl.col("ts").is_between(pl.col("surge_start"), pl.col("surge_end")))
        .select("event_id")
        .unique()
    )
    surge_days = (truth["surge_end"] - truth["surge_start"]).dt.total_days().sum()
    surge_rate = in_surge.height / surge_days  # per customer x family x day inside a surge
    other_rate = (intent.height - in_surge.height) / (3_000 * len(FAMILIES) * 457)
    assert surge_rate > 10 * other_rate
    abandoned = intent.filter(pl.col("event_type") == "procedure_abandoned")
    assert abandoned.height > 0


def test_travel_interest_is_seasonal(clicks) -> None:
    travel = clicks.filter(
        pl.col("product_family") == "travel_insurance", pl.col("ts").dt.year() == 2026
    )
    by_month = dict(travel.group_by(pl.col("ts").dt.month()).len().iter_rows())
    spring = sum(by_month.get(m, 0) for m in (4, 5, 6))
    autumn = sum(by_month.get(m, 0) for m in (9, 10))  # November is partial
    assert spring / 3 > 1.3 * autumn / 2


def test_consent_histories_hold_never_consented_withdrawals_and_regrants(tables, summary) -> None:
    consent = tables["consent_events"].filter(pl.col("purpose") == "web_data_commercial")
    granted_once = consent.filter(pl.col("granted")).select("customer_id").unique().height
    never = 3_000 - granted_once
    assert 0.09 <= never / 3_000 <= 0.15
    assert summary["consent"]["web_data_commercial"]["never_consented"] == never
    per_customer = consent.sort("customer_id", "recorded_at").group_by("customer_id").agg("granted")
    patterns = {tuple(g) for g in per_customer["granted"].to_list()}
    assert {(True,), (True, False), (True, False, True), (False,)} <= patterns
    assert set(tables["consent_events"]["source"]) == {
        "internet_banking",
        "mobile_app",
        "branch",
        "contact_center",
    }


def test_communications_cover_every_channel_and_category_and_a_few_months_exceed_the_cap(
    tables, summary, policy
) -> None:
    comms = tables["communications"]
    assert set(comms["channel"]) == set(COMM_CHANNELS)
    assert set(comms["category"]) == set(COMM_CATEGORIES)
    end = as_of_moment(END, policy)
    assert comms["sent_at"].max() < end
    month = pl.col("sent_at").dt.convert_time_zone(policy.timezone).dt.strftime("%Y-%m")
    counted = (
        comms.filter(
            pl.col("channel").is_in(list(policy.capped_channels)),
            pl.col("category").is_in(list(policy.counted_categories)),
        )
        .group_by("customer_id", month.alias("month"))
        .len()
    )
    over = counted.filter(pl.col("len") > policy.monthly_commercial_cap)
    customer_months = 3_000 * 15
    assert 0.002 < over.height / customer_months < 0.012
    assert over.height == summary["communications"]["customer_months_over_cap"]
    assert (over["month"] == "2026-11").any()  # the planner must count the current month
    assert comms.filter(month == "2026-11").height > 0


def test_commercial_emails_go_only_to_customers_with_email_consent_at_that_moment(tables) -> None:
    emails = (
        tables["communications"]
        .filter(pl.col("channel") == "email", pl.col("category") == "commercial")
        .sort("sent_at")
    )
    consent = (
        tables["consent_events"].filter(pl.col("purpose") == "email_commercial").sort("recorded_at")
    )
    state = emails.join_asof(
        consent,
        left_on="sent_at",
        right_on="recorded_at",
        by="customer_id",
        strategy="backward",
        check_sortedness=False,  # both sides are sorted by the time key, hence within groups
    )
    assert emails.height > 0
    assert state["granted"].fill_null(False).all()


def test_holdings_mix_old_and_new_products_closings_and_non_group_providers(tables) -> None:
    holdings = tables["holdings"].join(tables["products"], on="product_id")
    assert holdings.filter(pl.col("opened_on") < date(2015, 1, 1)).height > 0
    assert holdings.filter(pl.col("opened_on") >= date(2025, 8, 15)).height > 0
    closed = holdings.filter(pl.col("closed_on").is_not_null())
    assert closed.height > 0 and (closed["closed_on"] > closed["opened_on"]).all()
    assert holdings["opened_on"].max() < END
    products = tables["products"]
    assert set(products["family"]) == set(FAMILIES)
    assert products.group_by("family").len()["len"].is_between(2, 4).all()
    non_group = products.filter(~pl.col("provider_in_group"))
    assert non_group.height >= 2
    assert holdings.filter(~pl.col("provider_in_group")).height > 0
    from interestlab.policy import load_policy

    assert set(products.filter(pl.col("provider_in_group"))["provider"]) <= set(
        load_policy().group_providers
    )


def test_holdings_start_after_the_relationship_and_theme_links_after_opening(tables) -> None:
    holdings = tables["holdings"].join(tables["customers"], on="customer_id")
    assert (holdings["opened_on"] >= holdings["customer_since"]).all()
    links = tables["theme_links"].join(tables["holdings"], on=["customer_id", "account_id"])
    assert links.height == tables["theme_links"].height  # every link is on a held account
    assert (links["linked_at"].dt.date() >= links["opened_on"]).all()
    unlinked = links.filter(pl.col("unlinked_at").is_not_null())
    assert unlinked.height > 0 and (unlinked["unlinked_at"] > unlinked["linked_at"]).all()


def test_latent_interest_at_the_end_covers_every_customer_and_family(bank, tables) -> None:
    latent = pl.read_parquet(bank / "truth" / "latent_interest.parquet")
    assert latent.columns == ["customer_id", "family", "latent_interest"]
    assert latent.height == 3_000 * len(FAMILIES)
    assert latent["latent_interest"].is_between(0, 1).all()
    positive = (latent["latent_interest"] > 0).mean()
    assert 0.005 < positive < 0.1
    truth = pl.read_parquet(bank / "truth" / "interests.parquet")
    future = truth.filter(pl.col("acquired_on") >= END)
    assert future.height > 0  # interests in flight convert after the history: what models predict
    held = tables["holdings"].filter(pl.col("opened_on") >= END)
    assert held.height == 0


def test_latent_interest_at_is_the_in_flight_conversion_probability() -> None:
    from datetime import UTC, datetime

    from interestlab.synth.life_events import latent_interest_at

    at = datetime(2026, 6, 1, tzinfo=UTC)
    truth = pl.DataFrame(
        {
            "customer_id": ["C1", "C1", "C2", "C3"],
            "family": ["mortgage", "mortgage", "mortgage", "savings"],
            "surge_start": [
                at - timedelta(days=10),
                at,
                at + timedelta(days=60),
                at - timedelta(days=200),
            ],
            "surge_end": [
                at + timedelta(days=5),
                at + timedelta(days=9),
                at + timedelta(days=90),
                at - timedelta(days=100),
            ],
            "convert_probability": [0.3, 0.5, 0.9, 0.8],
        }
    )
    got = latent_interest_at(truth, pl.Series(["C1", "C2", "C3"]), at=at)
    mortgage = got.filter(pl.col("family") == "mortgage")
    assert mortgage["latent_interest"].to_list() == [0.5, 0.0, 0.0]  # C2 starts too late
    assert got.filter(pl.col("customer_id") == "C3")["latent_interest"].sum() == 0.0
    assert got.height == 3 * len(FAMILIES)
