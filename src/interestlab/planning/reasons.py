"""Suppression reasons: every label, the rule it enforces, and a compact bit encoding.

Candidates carry a bit mask while the plan is computed (integer ops stay cheap on tens of
millions of rows); the suppression log turns each distinct mask into its list of labels once,
in the order below, and joins the lists back.
"""

from __future__ import annotations

import polars as pl

# Every label the suppression log may carry, in list order, with the rule it enforces.
SUPPRESSION_REASONS: dict[str, str] = {
    "no_web_data_consent": "R13: no web-data commercial consent at the as-of moment",
    "no_product_in_family": "the catalogue holds no product of the family",
    "non_group_product": "R11: the provider is not a company of the bank's group",
    "already_held": "the customer already holds the product",
    "cap_reached": "R6: the month's commercial contacts already reach the cap",
    "other_product_preferred": "another product of the same family and source ranks first",
    "lower_value_than_chosen": "another candidate of the customer was planned (higher value)",
    "channel_capacity": "every allowed channel worth using was full (monthly capacity)",
    "not_worth_contacting": "expected value below the cost of every allowed channel",
    "no_email_consent": "R9: e-mail needs an explicit e-mail consent at the as-of moment",
    "no_recent_login": "R9: internet-banking messages need a recent identified session",
}
MASK_DTYPE = pl.UInt32()


def bit(label: str) -> int:
    """The mask bit of `label`."""
    if label not in SUPPRESSION_REASONS:
        msg = f"unknown suppression reason `{label}`; expected one of {list(SUPPRESSION_REASONS)}"
        raise KeyError(msg)
    return 1 << list(SUPPRESSION_REASONS).index(label)


def flag(condition: pl.Expr, label: str) -> pl.Expr:
    """`bit(label)` where `condition` holds, else 0 (nulls count as False)."""
    return (
        pl.when(condition.fill_null(False))
        .then(pl.lit(bit(label), MASK_DTYPE))
        .otherwise(pl.lit(0, MASK_DTYPE))
    )


def labels_of(masks: pl.Series) -> pl.DataFrame:
    """`mask -> reasons (list of labels)` for the distinct masks in `masks`."""
    distinct = sorted(int(m) for m in masks.unique().drop_nulls().to_list())
    labels = [[label for label in SUPPRESSION_REASONS if mask & bit(label)] for mask in distinct]
    return pl.DataFrame(
        {"reason_mask": distinct, "reasons": labels},
        schema={"reason_mask": MASK_DTYPE, "reasons": pl.List(pl.String())},
    )
