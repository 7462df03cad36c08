"""The advisor view (R10): what a branch or contact-centre employee may see for one customer.

The accounts the customer linked to themes (R10) and the contact planned for them with its
explanation (so the advisor can tell the customer why). Nothing else: no click history, no
scores of other products, no suppressed candidates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from interestlab.planning.themes import active_theme_links

PLANNED_FIELDS = (
    "plan_month",
    "planned_week",
    "channel",
    "product_id",
    "family",
    "source",
    "model_name",
    "model_version",
    "alias",
    "theme_rule",
    "score",
    "rank",
    "n_alternatives",
    "reasons",
    "consents_used",
    "cap_state",
)


def advisor_view(
    customer_id: str,
    *,
    theme_links: pl.LazyFrame | pl.DataFrame,
    holdings: pl.LazyFrame | pl.DataFrame,
    products: pl.LazyFrame | pl.DataFrame,
    plan: pl.DataFrame | None,
    as_of: datetime,
) -> dict[str, Any]:
    """Theme-linked accounts at `as_of` and the planned contact (or None) of one customer.

    Examples
    --------
    >>> view = advisor_view("C1", theme_links=links, holdings=holdings, products=products,
    ...                     plan=result.plan, as_of=t)  # doctest: +SKIP
    >>> view["theme_links"][0]["theme"]  # doctest: +SKIP
    'home'
    """
    accounts = holdings.lazy().select("customer_id", "account_id", "product_id")
    names = products.lazy().select("product_id", pl.col("name").alias("product_name"), "family")
    links = (
        active_theme_links(theme_links, as_of=as_of)
        .filter(pl.col("customer_id") == customer_id)
        .join(accounts, on=["customer_id", "account_id"], how="left")
        .join(names, on="product_id", how="left")
        .select("account_id", "theme", "product_id", "product_name", "family", "linked_at")
        .sort("theme", "account_id")
        .collect(engine="in-memory")
    )
    planned = None
    if plan is not None:
        rows = plan.filter(pl.col("customer_id") == customer_id)
        if rows.height:
            product = (
                products.lazy()
                .filter(pl.col("product_id") == rows["product_id"][0])
                .select("name")
                .collect(engine="in-memory")
            )
            planned = rows.select(PLANNED_FIELDS).to_dicts()[0]
            planned["product_name"] = product["name"][0] if product.height else None
    return {
        "customer_id": customer_id,
        "as_of": as_of.isoformat(),
        "theme_links": links.to_dicts(),
        "planned_contact": planned,
    }


def format_advisor_view(view: dict[str, Any]) -> str:
    """Plain-text rendering for the CLI and the contact centre."""
    lines = [f"customer {view['customer_id']} (as of {view['as_of']})", "theme links (R10):"]
    if not view["theme_links"]:
        lines.append("  none")
    for link in view["theme_links"]:
        product = link.get("product_name") or link.get("product_id") or "unknown product"
        lines.append(f"  {link['theme']}: account {link['account_id']} ({product})")
    contact = view["planned_contact"]
    if contact is None:
        lines.append("planned contact: none this month")
        return "\n".join(lines)
    origin = (
        f"model {contact['model_name']} v{contact['model_version']} @{contact['alias']},"
        f" score {contact['score']:.3f}"
        if contact["source"] == "model"
        else contact["theme_rule"]
    )
    lines += [
        f"planned contact: {contact.get('product_name') or contact['product_id']}"
        f" ({contact['family']}) by {contact['channel']}, week {contact['planned_week']}",
        f"  why: {origin}; rank {contact['rank']} of {contact['n_alternatives']} alternatives",
    ]
    lines += [f"  - {reason}" for reason in contact["reasons"]]
    for consent in contact["consents_used"]:
        lines.append(
            f"  consent {consent['purpose']}:"
            f" {'granted' if consent['consented'] else 'not granted'}"
            f" (recorded {consent['recorded_at']}, {consent['source']})"
        )
    lines.append(f"  cap: {contact['cap_state']}")
    return "\n".join(lines)
