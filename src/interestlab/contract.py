"""The data contract: every input table, its columns, types, nullability and domains.

This module is the single place where the contract lives. `docs/data-contract.md` is
rendered from it (`interestlab contract --markdown`) and a test fails when they drift.
Timestamps are UTC (`Datetime("us", "UTC")`); calendar months of the policy are computed
in the bank's zone (see `interestlab.policy`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

UTC_TS = pl.Datetime("us", "UTC")

LANGUAGES = ("nl", "fr", "de", "en")
SEGMENTS = ("mass", "affluent", "private", "young", "small_business")
REGIONS = ("flanders", "wallonia", "brussels", "east_cantons")
FAMILIES = (
    "mortgage",
    "consumer_loan",
    "car_loan",
    "savings",
    "investment_fund",
    "pension_savings",
    "credit_card",
    "home_insurance",
    "car_insurance",
    "travel_insurance",
    "life_insurance",
)
THEMES = ("vacation", "home", "car", "studies", "retirement", "family", "savings_goal")
CONSENT_PURPOSES = ("web_data_commercial", "email_commercial")
CONSENT_SOURCES = ("internet_banking", "mobile_app", "branch", "contact_center")
EVENT_TYPES = (
    "theme_visit",
    "info_consult",
    "simulation",
    "procedure_started",
    "procedure_abandoned",
    "procedure_completed",
)
CLICK_CHANNELS = ("web", "app")
COMM_CHANNELS = ("letter", "phone", "email", "ib_message", "banner", "branch", "contact_center")
COMM_CATEGORIES = ("commercial", "subscribed", "operational", "legal")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: pl.DataType
    description: str
    nullable: bool = False
    domain: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    partitioned_by_month: bool = False
    month_column: str | None = None
    rules: tuple[str, ...] = field(default=())

    @property
    def schema(self) -> pl.Schema:
        return pl.Schema({c.name: c.dtype for c in self.columns})

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        msg = f"table `{self.name}` has no column `{name}`"
        raise KeyError(msg)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "customers",
            "One row per customer; identity data the bank already holds (R4).",
            (
                Column(
                    "customer_id", pl.String(), "Pseudonymous customer id (no name, no number)."
                ),
                Column("birth_year", pl.Int16(), "Year of birth; models see an age band only."),
                Column("language", pl.String(), "Correspondence language.", domain=LANGUAGES),
                Column("region", pl.String(), "Region of residence.", domain=REGIONS),
                Column("segment", pl.String(), "Commercial segment.", domain=SEGMENTS),
                Column("customer_since", pl.Date(), "Start of the customer relationship."),
            ),
            key=("customer_id",),
            rules=("R4",),
        ),
        Table(
            "products",
            "Product catalogue; every product names its provider (R11).",
            (
                Column("product_id", pl.String(), "Product id."),
                Column("family", pl.String(), "Product family (one model each).", domain=FAMILIES),
                Column("name", pl.String(), "Commercial name."),
                Column("provider", pl.String(), "Company that provides the product."),
                Column(
                    "provider_in_group",
                    pl.Boolean(),
                    "Provider belongs to the bank's group; only these may be proposed (R11).",
                ),
            ),
            key=("product_id",),
            rules=("R11",),
        ),
        Table(
            "holdings",
            "Accounts/contracts customers hold or held (product holdings, R4).",
            (
                Column("customer_id", pl.String(), "Pseudonymous customer id."),
                Column("account_id", pl.String(), "Account or contract id."),
                Column("product_id", pl.String(), "Product of the account."),
                Column("opened_on", pl.Date(), "Opening date."),
                Column("closed_on", pl.Date(), "Closing date; null while open.", nullable=True),
            ),
            key=("account_id",),
            rules=("R4",),
        ),
        Table(
            "theme_links",
            "Accounts a customer linked to a theme such as 'vacation' (R5, R10).",
            (
                Column("customer_id", pl.String(), "Pseudonymous customer id."),
                Column("account_id", pl.String(), "Linked account."),
                Column("theme", pl.String(), "Theme chosen by the customer.", domain=THEMES),
                Column("linked_at", UTC_TS, "Moment of linking (UTC)."),
                Column(
                    "unlinked_at",
                    UTC_TS,
                    "Moment of unlinking (UTC); null while linked.",
                    nullable=True,
                ),
            ),
            key=("customer_id", "account_id", "theme", "linked_at"),
            rules=("R5", "R10"),
        ),
        Table(
            "consent_events",
            "Consent history: every grant and withdrawal, per purpose (R9, R13).",
            (
                Column("customer_id", pl.String(), "Pseudonymous customer id."),
                Column("purpose", pl.String(), "What the consent covers.", domain=CONSENT_PURPOSES),
                Column("granted", pl.Boolean(), "True for a grant, False for a withdrawal."),
                Column("recorded_at", UTC_TS, "Moment the choice was recorded (UTC)."),
                Column("source", pl.String(), "Where the choice was made.", domain=CONSENT_SOURCES),
            ),
            key=("customer_id", "purpose", "recorded_at"),
            rules=("R9", "R13"),
        ),
        Table(
            "click_events",
            "The web-analytics feed as delivered, anonymous sessions included (R1, R2); "
            "one folder per month `month=YYYY-MM` (UTC month of `ts`).",
            (
                Column("event_id", pl.Int64(), "Event id, unique across the feed."),
                Column("session_id", pl.Int64(), "Web or app session."),
                Column(
                    "customer_id",
                    pl.String(),
                    "Pseudonymous customer id; null for anonymous sessions.",
                    nullable=True,
                ),
                Column(
                    "identified_at",
                    UTC_TS,
                    "Moment the session logged in (UTC); null for anonymous sessions.",
                    nullable=True,
                ),
                Column("ts", UTC_TS, "Moment of the event (UTC)."),
                Column(
                    "event_type", pl.String(), "What the customer did (R2).", domain=EVENT_TYPES
                ),
                Column(
                    "theme", pl.String(), "Theme dossier, if any.", nullable=True, domain=THEMES
                ),
                Column(
                    "product_family",
                    pl.String(),
                    "Product family concerned, if any.",
                    nullable=True,
                    domain=FAMILIES,
                ),
                Column("channel", pl.String(), "Website or mobile app.", domain=CLICK_CHANNELS),
            ),
            key=("event_id",),
            partitioned_by_month=True,
            month_column="ts",
            rules=("R1", "R2", "R3"),
        ),
        Table(
            "communications",
            "Communication log: everything sent, every channel and category (R6-R8).",
            (
                Column("comm_id", pl.String(), "Communication id."),
                Column("customer_id", pl.String(), "Pseudonymous customer id."),
                Column("sent_at", UTC_TS, "Moment sent or shown (UTC)."),
                Column("channel", pl.String(), "Channel.", domain=COMM_CHANNELS),
                Column(
                    "category",
                    pl.String(),
                    "Commercial or exempt category.",
                    domain=COMM_CATEGORIES,
                ),
                Column("product_id", pl.String(), "Product concerned, if any.", nullable=True),
            ),
            key=("comm_id",),
            rules=("R6", "R7", "R8"),
        ),
    )
}

TABLE_NAMES = tuple(TABLES)


def render_markdown() -> str:
    """Render the contract as the Markdown page `docs/data-contract.md`."""
    lines = [
        "# Data contract",
        "",
        "<!-- Generated from `src/interestlab/contract.py` by `interestlab contract --markdown`;"
        " a test fails when this page and the code differ. Do not edit by hand. -->",
        "",
        "Each table is a folder of parquet files under the bank folder (`<bank>/<table>/`);"
        " `click_events` has one sub-folder per UTC month (`month=YYYY-MM`). All timestamps"
        " are UTC; the policy's calendar months are computed in the policy's `timezone`."
        " The reader never coerces: a missing table, a missing column or a wrong type is a"
        " `ContractError` naming table, column, expected and found type.",
        "",
    ]
    for table in TABLES.values():
        lines += [
            f"## `{table.name}`",
            "",
            table.description,
            "",
            f"Key: {', '.join(f'`{k}`' for k in table.key)}. Rules: {', '.join(table.rules)}.",
            "",
            "| column | type | nullable | domain | description |",
            "|---|---|---|---|---|",
        ]
        for c in table.columns:
            domain = ", ".join(c.domain) if c.domain else ""
            nullable = "yes" if c.nullable else "no"
            lines.append(f"| `{c.name}` | `{c.dtype}` | {nullable} | {domain} | {c.description} |")
        lines.append("")
    return "\n".join(lines)
