from __future__ import annotations

from datetime import date

from literal_bank import frame, utc

from interestlab.planning.advisor import advisor_view, format_advisor_view
from interestlab.policy import Policy

from .inputs import PRODUCT_ROWS, as_of, run, scores


def test_advisor_sees_theme_links_and_the_explained_contact(policy: Policy) -> None:
    links = frame(
        "theme_links",
        [
            {
                "customer_id": "C1",
                "account_id": "A1",
                "theme": "vacation",
                "linked_at": utc(2026, 5, 1),
            },
            {
                "customer_id": "C1",
                "account_id": "A9",
                "theme": "car",
                "linked_at": utc(2026, 5, 1),
                "unlinked_at": utc(2026, 6, 1),
            },
            {
                "customer_id": "C2",
                "account_id": "A2",
                "theme": "home",
                "linked_at": utc(2026, 5, 1),
            },
        ],
    )
    holdings = frame(
        "holdings",
        [
            {
                "customer_id": "C1",
                "account_id": "A1",
                "product_id": "P-SAV",
                "opened_on": date(2020, 1, 1),
            },
        ],
    )
    products = frame("products", PRODUCT_ROWS)
    result = run(
        scores([("C1", "mortgage", 0.5)]),
        policy,
        explain=lambda p: p.with_columns(reasons=["completed a mortgage simulation 6 days ago"]),
    )
    view = advisor_view(
        "C1",
        theme_links=links,
        holdings=holdings,
        products=products,
        plan=result.plan,
        as_of=as_of(policy),
    )
    assert [(x["theme"], x["account_id"], x["product_name"]) for x in view["theme_links"]] == [
        ("vacation", "A1", "Saver")
    ]
    contact = view["planned_contact"]
    assert (contact["product_name"], contact["channel"]) == ("Home Loan", "letter")
    assert set(view) == {"customer_id", "as_of", "theme_links", "planned_contact"}
    text = format_advisor_view(view)
    assert "vacation: account A1 (Saver)" in text
    assert "- completed a mortgage simulation 6 days ago" in text
    assert "no commercial contact yet in 2026-11" in text


def test_advisor_without_plan_or_links(policy: Policy) -> None:
    empty = frame("theme_links", [])
    view = advisor_view(
        "C7",
        theme_links=empty,
        holdings=frame("holdings", []),
        products=frame("products", PRODUCT_ROWS),
        plan=None,
        as_of=as_of(policy),
    )
    assert view["theme_links"] == [] and view["planned_contact"] is None
    assert format_advisor_view(view).endswith("planned contact: none this month")
