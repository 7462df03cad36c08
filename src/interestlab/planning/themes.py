"""Declared-theme interests (R5): model-free suggestions from active theme links.

A customer who linked an account to a theme (e.g. 'vacation') declares an interest the policy
maps to product families (`themes:` in conf/policy.yaml). These interests carry no model score,
are labelled `declared theme` and are never mixed into model scores: they are separate
candidates with their own `source`.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from interestlab.policy import Policy

MODEL_SOURCE = "model"
THEME_SOURCE = "declared theme"


def active_theme_links(
    theme_links: pl.LazyFrame | pl.DataFrame, *, as_of: datetime
) -> pl.LazyFrame:
    """Links in force at `as_of`: linked at or before it and not unlinked by then."""
    return theme_links.lazy().filter(
        (pl.col("linked_at") <= as_of)
        & (pl.col("unlinked_at").is_null() | (pl.col("unlinked_at") > as_of))
    )


def theme_rules_frame(policy: Policy) -> pl.DataFrame:
    """The policy's theme rules as rows `theme, family`."""
    rows = [
        (theme, family) for theme, families in policy.theme_rules.items() for family in families
    ]
    return pl.DataFrame(rows, schema={"theme": pl.String(), "family": pl.String()}, orient="row")


def theme_interests(
    theme_links: pl.LazyFrame | pl.DataFrame, *, as_of: datetime, policy: Policy
) -> pl.LazyFrame:
    """One row per (customer, family) suggested by the customer's active theme links.

    Returns `customer_id, family, themes (list, sorted), theme_rule (plain language)`.

    Examples
    --------
    >>> theme_interests(links, as_of=t, policy=policy).collect()  # doctest: +SKIP
    customer_id  family            themes        theme_rule
    C1           travel_insurance  ["vacation"]  "declared theme (R5, no model): an account ..."
    """
    return (
        active_theme_links(theme_links, as_of=as_of)
        .select("customer_id", "theme")
        .unique()
        .join(theme_rules_frame(policy).lazy(), on="theme", how="inner")
        .group_by("customer_id", "family")
        .agg(pl.col("theme").unique().sort().alias("themes"))
        .with_columns(
            pl.format(
                "declared theme (R5, no model): an account linked to the theme {} suggests {}",
                pl.concat_str(pl.lit("'"), pl.col("themes").list.join("', '"), pl.lit("'")),
                pl.col("family").str.replace_all("_", " "),
            ).alias("theme_rule")
        )
    )
