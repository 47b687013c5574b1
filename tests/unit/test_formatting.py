"""One way to write dates, amounts and names across the app (desktop/views/formatting.py)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from desktop.services.kpi.dashboards import Format
from desktop.views import formatting

CPH = "Europe/Copenhagen"


def at(*parts) -> int:
    return int(dt.datetime(*parts, tzinfo=ZoneInfo(CPH)).timestamp())


def test_dates_have_one_format_in_the_users_zone():
    assert formatting.date(at(2026, 12, 4, 15, 18), CPH) == "4 Dec 2026"
    assert formatting.timestamp(at(2026, 12, 4, 15, 18), ZoneInfo(CPH)) == "4 Dec 2026 15:18"
    # 23:30 UTC on the 3rd is already the 4th in Copenhagen.
    assert (
        formatting.date(int(dt.datetime(2026, 12, 3, 23, 30, tzinfo=dt.UTC).timestamp()), CPH)
        == "4 Dec 2026"
    )


def test_spans_write_what_the_days_share_once():
    assert formatting.date_span(at(2026, 12, 1), at(2026, 12, 5), CPH) == "1 – 4 Dec 2026"
    assert formatting.date_span(at(2026, 11, 28), at(2026, 12, 5), CPH) == "28 Nov – 4 Dec 2026"
    assert formatting.date_span(at(2025, 12, 4), at(2026, 1, 4), CPH) == "4 Dec 2025 – 3 Jan 2026"
    assert formatting.date_span(at(2026, 12, 4), at(2026, 12, 5), CPH) == "4 Dec 2026"
    assert formatting.date_span(at(2026, 1, 1), at(2026, 6, 1), CPH, year_once=False) == (
        "1 Jan 2026 – 31 May 2026"
    )


def test_card_brands_read_as_stripe_writes_them():
    key = "payment_method_details.card.brand"
    assert formatting.field_value_text(key, "visa") == "Visa"
    assert formatting.field_value_text(key, "amex") == "American Express"
    assert formatting.field_value_text(key, "somethingnew") == "somethingnew"
    assert formatting.field_value_text("status", "visa") == "visa"  # only brands


def test_frequencies_long_and_short():
    assert formatting.frequency_text(300) == "Every 5 minutes"
    assert formatting.frequency_text(300, short=True) == "every 5 min"
    assert formatting.frequency_text(3600, short=True) == "every hour"
    assert formatting.frequency_text(86_400) == "Once a day"


def test_a_compact_amount_keeps_its_currency():
    money = Format("money", 2)
    assert money.text(23_646.9, "dkk") == "23,646.90 DKK"
    assert money.text(23_646.9, "dkk", compact=True) == "23.6k DKK"
    assert money.text(3_631_755, "jpy", compact=True) == "3.63M JPY"
    assert money.text(512.5, "usd", compact=True) == "512 USD"


def test_a_custom_period_is_named_in_the_same_format():
    from desktop.services.kpi.periods import period_label

    assert period_label("2026-01-01..2026-05-31") == "1 Jan – 31 May 2026"
    assert period_label("2026-03-10..2026-03-01") == "1 – 10 Mar 2026"


def test_time_left_reads_as_a_person_says_it():
    assert formatting.time_left(None) == ""
    assert formatting.time_left(12) == "less than a minute left"
    assert formatting.time_left(61) == "about 2 min left"
    assert formatting.time_left(59 * 60) == "about 59 min left"
    assert formatting.time_left(80 * 60 - 30) == "about 1 h 20 min left"
    assert formatting.time_left(2 * 3600) == "about 2 h left"
    assert formatting.time_left(30, short=True) == "< 1 min left"
    assert formatting.time_left(80 * 60 - 30, short=True) == "1 h 20 min left"


def test_a_sync_under_way_says_its_share_and_time_left_when_known():
    assert formatting.sync_progress("Importing history", 12_345, 0.427, 170) == (
        "Importing history · 42 % · about 3 min left · 12,345 rows"
    )
    assert formatting.sync_progress("Importing history", 1, 0.05, None) == (
        "Importing history · 5 % · 1 row"
    )
    assert formatting.sync_progress("Applying changes", 20, None, None, rate=4321.4) == (
        "Applying changes · 20 rows · 4,321 a second"
    )
    assert formatting.sync_progress_short("Importing history", 0.427, 170) == "42 % · 3 min left"
    assert formatting.sync_progress_short("Importing history", 0.427, None) == "42 %"
    assert formatting.sync_progress_short("Applying changes", None, None) == "Applying changes…"


def test_numbers_and_months_are_written_in_the_users_language():
    from PySide6.QtCore import QLocale

    from desktop import localization

    try:
        formatting.use_system_locale(QLocale(QLocale.Language.Danish, QLocale.Country.Denmark))
        assert formatting.money(1_234_567, "dkk") == "12.345,67 DKK"
        assert formatting.money(3_631_755, "jpy") == "3.631.755 JPY"
        assert formatting.count_text(12_345, "row") == "12.345 rows"
        assert formatting.percent(42.25) == "42,2 %" or formatting.percent(42.25) == "42,3 %"
        assert Format("money", 2).text(2_829_580 / 100, "usd", compact=True) == "28,3k USD"
        assert formatting.date(at(2026, 12, 4, 15, 18), CPH) == "4. dec. 2026"
        assert formatting.date_span(at(2026, 11, 28), at(2026, 12, 5), CPH) == (
            "28. nov. – 4. dec. 2026"
        )
        formatting.use_system_locale(QLocale(QLocale.Language.French, QLocale.Country.France))
        assert formatting.money(1_234_567, "eur") == "12\u202f345,67 EUR"
    finally:
        formatting.use_system_locale()  # the tests' English
    assert localization.style() == localization.NumberStyle()
    assert formatting.money(1_234_567, "dkk") == "12,345.67 DKK"


def test_amounts_are_typed_as_the_users_language_writes_them():
    from PySide6.QtCore import QLocale

    from desktop.services.query import FilterError, amount_in_minor_units

    assert amount_in_minor_units("1,250.50", "usd") == 125_050
    try:
        formatting.use_system_locale(QLocale(QLocale.Language.Danish, QLocale.Country.Denmark))
        assert amount_in_minor_units("1.250,50", "dkk") == 125_050
        assert amount_in_minor_units("10,5", "dkk") == 1_050
        assert amount_in_minor_units("10.50", "dkk") == 1_050
        assert amount_in_minor_units("1.250.000", "jpy") == 1_250_000
        try:
            amount_in_minor_units("ti kroner", "dkk")
        except FilterError as error:
            assert "such as 10,00" in str(error)
        else:
            raise AssertionError("not an amount")
    finally:
        formatting.use_system_locale()


def test_currencies_and_the_apis_words_read_as_stripes_dashboard_writes_them():
    assert formatting.field_value_text("currency", "usd") == "USD"
    assert formatting.field_value_text("settlement_currency", "eur") == "EUR"
    assert formatting.field_value_text("status", "succeeded", choice=True) == "Succeeded"
    assert formatting.field_value_text("status", "requires_payment_method", choice=True) == (
        "Requires payment method"
    )
    assert formatting.field_value_text("description", "succeeded") == "succeeded"  # free text
