"""Row rules on tiny frames: exact pass/fail per row, boundaries included."""

from __future__ import annotations

import pandas as pd
import pytest

from data_contracts.rules import RULES, RuleContext, key_codes

SUBSCRIBERS = pd.DataFrame(
    {
        "subscriber_id": [1, 2],
        "activation_date": pd.Series(pd.to_datetime(["2024-01-15", "2023-06-01"]), dtype="datetime64[ms]"),
        "deactivation_date": pd.Series([pd.NaT, pd.Timestamp("2024-03-10")], dtype="datetime64[ms]"),
    }
)
BILLS = pd.DataFrame(
    {
        "subscriber_id": [1, 2],
        "bill_month": pd.to_datetime(["2024-02-01", "2024-01-01"]).as_unit("ms"),
        "amount": [50.0, 10.0],
    }
)


def dates(*values: str | None, unit: str = "ms") -> pd.Series:
    return pd.Series([pd.Timestamp(v) if v else pd.NaT for v in values], dtype=f"datetime64[{unit}]")


def passes(rule: str, table: pd.DataFrame, **params) -> list[bool]:
    ctx = RuleContext({"subscribers": SUBSCRIBERS, "bills": BILLS})
    return RULES[rule].fn(table, ctx, **params).tolist()


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_bill_month_is_first_day_at_midnight_in_any_unit(unit: str) -> None:
    bills = pd.DataFrame(
        {"bill_month": dates("2024-01-01", "2024-01-02", "2024-01-01 00:00:01", "2024-12-01", unit=unit)}
    )
    assert passes("bill_month_is_first_day", bills) == [True, False, False, True]


def test_parts_within_amount_allows_one_cent_of_rounding() -> None:
    bills = pd.DataFrame(
        {
            "amount": [10.0, 10.0, 10.0],
            "data_amount": [4.0, 4.0, 4.0],
            "long_distance_amount": [3.0, 3.0, 3.0],
            "roaming_amount": [2.0, 2.0, 2.0],
            "value_added_amount": [1.0, 1.01, 1.02],
        }
    )
    assert passes("parts_within_amount", bills) == [True, True, False]
    assert passes("parts_within_amount", bills, tolerance=0.0) == [True, False, False]


def test_known_subscriber_looks_in_the_parent() -> None:
    assert passes("known_subscriber", pd.DataFrame({"subscriber_id": [2, 3, 1]})) == [True, False, True]


def test_billed_while_active_from_activation_month_to_deactivation_month() -> None:
    bills = pd.DataFrame(
        {
            "subscriber_id": [1, 1, 2, 2, 2, 9],
            "bill_month": dates("2024-01-01", "2023-12-01", "2023-06-01", "2024-03-01", "2024-04-01", "2000-01-01"),
        }
    )
    assert passes("billed_while_active", bills) == [True, False, True, True, False, True]


def test_due_after_bill_month_means_after_its_last_day() -> None:
    payments = pd.DataFrame(
        {
            "bill_month": dates("2024-02-01", "2024-02-01", "2024-12-01"),
            "due_date": dates("2024-02-29", "2024-03-01", "2025-01-20"),
        }
    )
    assert passes("due_after_bill_month", payments) == [False, True, True]


def test_paid_not_before_bill_is_issued_on_the_last_day() -> None:
    payments = pd.DataFrame(
        {
            "bill_month": dates("2024-02-01", "2024-02-01", "2024-02-01"),
            "paid_date": dates("2024-02-28", "2024-02-29", None),
        }
    )
    assert passes("paid_not_before_bill", payments) == [False, True, True]


def test_unpaid_has_no_amount() -> None:
    payments = pd.DataFrame({"paid_date": dates(None, None, "2024-03-01"), "amount_paid": [0.0, 5.0, 5.0]})
    assert passes("unpaid_has_no_amount", payments) == [True, False, True]


def test_known_bill_and_paid_within_bill_match_both_key_columns() -> None:
    payments = pd.DataFrame(
        {
            "subscriber_id": [1, 1, 2, 2],
            "bill_month": dates("2024-02-01", "2024-01-01", "2024-01-01", "2024-01-01"),
            "amount_paid": [50.01, 1.0, 10.02, 0.0],
        }
    )
    assert passes("known_bill", payments) == [True, False, True, True]
    assert passes("paid_within_bill", payments) == [True, True, False, True]


def test_contact_while_customer_allows_90_days_after_leaving() -> None:
    contacts = pd.DataFrame(
        {
            "subscriber_id": [1, 1, 2, 2, 2, 9],
            "contact_time": dates(
                "2024-01-15 00:00:00",
                "2024-01-14 23:59:59",
                "2024-06-08 23:59:59",
                "2024-06-09 00:00:00",
                "2023-05-31 12:00:00",
                "1999-01-01",
            ),
        }
    )
    assert passes("contact_while_customer", contacts) == [True, False, True, False, False, True]
    assert passes("contact_while_customer", contacts, grace_days=91)[3] is True


def test_abandoned_only_on_voice() -> None:
    contacts = pd.DataFrame({"channel": ["voice", "chat", "chat"], "abandoned": [True, True, False]})
    assert passes("abandoned_only_on_voice", contacts) == [True, False, True]


@pytest.mark.parametrize(
    ("deactivation", "reason", "expected"),
    [(None, None, True), ("2024-05-01", "voluntary", True), ("2024-05-01", None, False), (None, "voluntary", False)],
)
def test_reason_iff_deactivated(deactivation, reason, expected) -> None:
    subscribers = pd.DataFrame(
        {"deactivation_date": dates(deactivation), "deactivation_reason": pd.Series([reason], dtype="str")}
    )
    assert passes("reason_iff_deactivated", subscribers) == [expected]


def test_deactivation_not_before_activation_same_day_passes() -> None:
    subscribers = pd.DataFrame(
        {
            "activation_date": dates("2024-01-10", "2024-01-10", "2024-01-10"),
            "deactivation_date": dates("2024-01-10", "2024-01-09", None),
        }
    )
    assert passes("deactivation_not_before_activation", subscribers) == [True, False, True]


def test_contract_end_only_for_contracts() -> None:
    subscribers = pd.DataFrame(
        {
            "contract_type": ["contract_12m", "contract_24m", "prepaid", "postpaid"],
            "contract_end_date": dates("2025-01-01", None, None, "2025-01-01"),
        }
    )
    assert passes("contract_end_only_for_contracts", subscribers) == [True, False, True, False]


def test_lookups_fill_gaps_when_the_parent_is_empty() -> None:
    ctx = RuleContext({"subscribers": SUBSCRIBERS.iloc[:0]})
    contacts = pd.DataFrame({"subscriber_id": [1, 2], "contact_time": dates("2024-02-01", "2024-02-01")})
    assert RULES["known_subscriber"].fn(contacts, ctx).tolist() == [False, False]
    assert RULES["contact_while_customer"].fn(contacts, ctx).tolist() == [True, True]


@pytest.mark.parametrize("ids", [[1, 2, 3], [1, 10**12, 3]], ids=["dense", "hashed"])
def test_key_codes_match_composite_keys_across_datetime_units(ids: list[int]) -> None:
    parent = pd.DataFrame({"subscriber_id": ids, "bill_month": dates("2024-01-01", "2024-01-01", "2024-02-01")})
    child = pd.DataFrame(
        {
            "subscriber_id": [ids[2], ids[1], ids[0], 7, ids[0]],
            "bill_month": dates(
                "2024-02-01", "2024-01-01", "2024-02-01", "2024-01-01", "2024-01-01 00:00:01", unit="ns"
            ),
        }
    )

    codes = key_codes(parent, ["subscriber_id", "bill_month"], child)

    assert codes is not None and codes.dense == (ids[1] == 2)
    assert codes.parent_is_unique()
    assert codes.child_positions().tolist() == [2, 1, -1, -1, -1]


def test_key_codes_see_duplicates_and_give_up_on_nulls() -> None:
    frame = pd.DataFrame({"a": [1, 1, 2], "b": dates("2024-01-01", "2024-01-01", "2024-01-01"), "s": ["x", "y", "z"]})

    codes = key_codes(frame, ["a", "b"])

    assert codes is not None and not codes.parent_is_unique()
    assert key_codes(frame.assign(a=pd.array([1, None, 2], dtype="Int64")), ["a"]) is None
    assert key_codes(frame.assign(s=pd.array(["x", None, "z"], dtype="str")), ["s"]) is None


def test_key_codes_pack_text_ids_with_dates() -> None:
    """Given text subscriber ids (as an operator exports them), child rows find their parent row by (id, month)."""
    months = dates("2024-01-01", "2024-02-01", "2024-01-01")
    parent = pd.DataFrame({"id": pd.array(["U01", "U01", "U02"], dtype="str"), "m": months})
    child = pd.DataFrame(
        {
            "id": pd.array(["U02", "U01", "U03", "U01"], dtype="str"),
            "m": dates("2024-01-01", "2024-02-01", "2024-01-01", "2024-03-01"),
        }
    )

    codes = key_codes(parent, ["id", "m"], child)

    assert codes is not None and codes.parent_is_unique()
    assert codes.child_positions().tolist() == [2, 1, -1, -1]


def test_future_dated_counts_from_the_export_data_end_plus_slack() -> None:
    """Given data ending 2026-10-31: a bill for November is future; a payment 62 days later is not, one more is."""
    ctx = RuleContext({}, data_end=pd.Timestamp("2026-10-31").date())
    bills = pd.DataFrame({"bill_month": dates("2026-10-01", "2026-11-01", "2031-01-01", None)})
    paid = pd.DataFrame({"paid_date": dates("2027-01-01 23:59:59", "2027-01-02", None)})

    assert RULES["future_dated"].fn(bills, ctx, column="bill_month").tolist() == [True, False, False, True]
    assert RULES["future_dated"].fn(paid, ctx, column="paid_date", slack_days=62).tolist() == [True, False, True]
    without_end = RuleContext({})
    assert RULES["future_dated"].fn(bills, without_end, column="bill_month").tolist() == [True] * 4
