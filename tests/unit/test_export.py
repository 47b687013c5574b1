"""Export: the filter text scripts write, the CSV, and the command line."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys

import pytest

from desktop.__main__ import main
from desktop.services.query import FilterError
from desktop.services.registrations import RegistrationQuery, export_csv
from desktop.store.models import DataSource, registration_model
from tests.syncing import import_into


@pytest.fixture
def charges(db, simulator):
    return import_into(db, simulator, ("charges",)).data_source("charges")


def test_filter_text(charges):
    """Export's filter text is the formulas' filter language (services/query)."""
    query = RegistrationQuery(charges)
    query.add_text_filter('livemode = true and amount > 1000 and status = "succeeded"')
    rows = charge_rows(charges)
    expected = [r for r in rows if r.livemode and r.amount > 1000 and r.status == "succeeded"]
    assert query.count() == len(expected) > 0
    blank = RegistrationQuery(charges)
    blank.add_text_filter("  ")
    assert blank.conditions == [] and blank.count() == len(rows)
    for bad, message in (
        ("amout > 5", "Unknown field 'amout' at 1; did you mean 'amount'"),
        ("livemode = maybe", "True or False"),
        ("amount contains 5", "contains is for text"),
        ("just words", "Expected an operator"),
        ('status = "failed" or', "Expected a field in the filter, but the filter ends"),
        ("(amount > 5", "Expected ')'"),
    ):
        with pytest.raises(FilterError, match=re.escape(message)):
            RegistrationQuery(charges).add_text_filter(bad)


def charge_rows(data_source) -> list:
    table = registration_model("charges")
    return list(table.select().where(table.data_source == data_source.id))


SALT = "salt and pepper"

# Filter text and the same question asked in Python of the stored rows.
EXPORT_FILTERS = {
    'description = "salt and pepper"': lambda r: r.description == SALT,
    'description = "salt and pepper" or status = "failed"': lambda r: (
        r.description == SALT or r.status == "failed"
    ),
    'status in ("failed", "pending")': lambda r: r.status in ("failed", "pending"),
    'status not in ("succeeded") and livemode = true': lambda r: (
        r.status != "succeeded" and r.livemode
    ),
    "amount between 5000 and 1000": lambda r: 1000 <= r.amount <= 5000,
    "customer is empty": lambda r: not r.customer,
    "customer is not empty and amount >= 20000": lambda r: bool(r.customer) and r.amount >= 20000,
    "not livemode = true": lambda r: not r.livemode,
    'not (status = "succeeded" or amount < 1000)': lambda r: (
        not (r.status == "succeeded" or r.amount < 1000)
    ),
    '(status = "failed" or amount < 1000) and livemode = true': lambda r: (
        (r.status == "failed" or r.amount < 1000) and r.livemode
    ),
    'Description contains "PEPPER" and "Amount refunded" = 0': lambda r: (
        "pepper" in (r.description or "").lower() and r.amount_refunded == 0
    ),
}


@pytest.fixture
def salted(charges):
    """Two charges described as SALT, whose words are also the filter's `and`."""
    table = registration_model("charges")
    firsts = [r.pk for r in table.select(table.pk).order_by(table.pk).limit(2)]
    table.update(description=SALT).where(table.pk.in_(firsts)).execute()
    return charges


@pytest.mark.parametrize("text", list(EXPORT_FILTERS))
def test_the_export_command_takes_the_formulas_filters(text, salted, app_paths, capsys):
    """Through the command line's own entry point, on the SQLite store: the rows exported
    are the rows Python picks from the store, and never all or none of them."""
    rows = charge_rows(salted)
    expected = sorted(r.stripe_id for r in rows if EXPORT_FILTERS[text](r))
    assert 0 < len(expected) < len(rows)
    argv = ["export", "--data-source", "Stripe Charges", "--filter", text]
    assert main([*argv, "--data-dir", str(app_paths.data_dir)]) == 0
    out, err = capsys.readouterr()
    exported = sorted(row["ID"] for row in csv.DictReader(io.StringIO(out)))
    assert exported == expected
    assert f"exported {len(expected):,} registrations" in err


def test_the_export_command_says_where_a_filter_is_wrong(salted, app_paths):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    command = [sys.executable, "-m", "desktop", "export", "--data-source", "Stripe Charges"]
    command += ["--data-dir", str(app_paths.data_dir), "--filter"]
    good = subprocess.run(
        [*command, 'description = "salt and pepper"'],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert good.returncode == 0, good.stderr
    assert [row["Description"] for row in csv.DictReader(io.StringIO(good.stdout))] == [SALT] * 2
    bad = subprocess.run(
        [*command, "status in (failed"], capture_output=True, text=True, timeout=60, env=env
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert "export: Expected ')' to close the list of values, but the filter ends at 18" in (
        bad.stderr
    )


def test_csv_of_a_filtered_query(charges):
    query = RegistrationQuery(charges)
    query.add_text_filter("livemode = true and amount >= 5000")
    out = io.StringIO()
    rows = export_csv(query, out)
    table = registration_model("charges")
    expected = (
        table.select()
        .where((table.data_source == charges.id) & (table.livemode == 1) & (table.amount >= 5000))
        .count()
    )
    assert rows == expected > 0
    parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(parsed) == expected
    jpy = [r for r in parsed if r["Currency code"] == "JPY"]
    assert all("." not in r["Amount"] for r in jpy)  # zero-decimal: whole yen


def test_the_export_command(charges, app_paths):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    command = [
        sys.executable,
        "-m",
        "desktop",
        "export",
        "--data-source",
        "Stripe Charges",
        "--format",
        "csv",
        "--filter",
        "livemode = true",
        "--data-dir",
        str(app_paths.data_dir),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    table = registration_model("charges")
    assert len(rows) == table.select().where(table.livemode == 1).count()
    assert "exported" in result.stderr
    bad = subprocess.run(
        [*command[:-4], "--filter", "amout > 1", "--data-dir", str(app_paths.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert bad.returncode == 2 and "Unknown field 'amout'" in bad.stderr and bad.stdout == ""
    missing = subprocess.run(
        [*command[:5], "Nope", "--data-dir", str(app_paths.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert missing.returncode == 2 and "Stripe Charges" in missing.stderr
    assert DataSource.select().count() == 1


def test_xlsx_has_the_same_rows_as_csv(charges, tmp_path):
    from openpyxl import load_workbook

    from desktop.services.registrations import export_xlsx

    query = RegistrationQuery(charges)
    query.add_text_filter("livemode = true")
    target = tmp_path / "charges.xlsx"
    rows = export_xlsx(query, target)
    book = load_workbook(target, read_only=True)
    sheet = book.worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    book.close()
    assert len(values) == rows + 1  # a header row
    assert values[0][:3] == ("ID", "Created", "Amount")
    assert isinstance(values[1][2], float)  # amounts are numbers in the sheet


def test_text_from_stripe_never_becomes_a_spreadsheet_formula(charges, tmp_path):
    """A customer may name themselves "=HYPERLINK(...)": the export keeps it text (CSV
    injection), while amounts, negative ones too, stay numbers."""
    from openpyxl import load_workbook

    from desktop.services.registrations import export_xlsx

    table = registration_model("charges")
    first = table.select().where(table.data_source == charges.id).order_by(table.pk).first()
    evil = '=HYPERLINK("http://evil.example","Refund")'
    table.update(description=evil, amount=-1250).where(table.pk == first.pk).execute()
    query = RegistrationQuery(charges)
    query.add_text_filter(f"id = {first.stripe_id}")

    out = io.StringIO()
    assert export_csv(query, out) == 1
    (row,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert row["Description"] == "'" + evil
    assert row["Amount"].startswith("-12")  # a number: no apostrophe

    target = tmp_path / "one.xlsx"
    export_xlsx(query, target)
    sheet = load_workbook(target).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    cells = dict(zip(header, sheet[2], strict=True))
    assert cells["Description"].value == evil and cells["Description"].data_type == "s"
    assert cells["Amount"].value < 0 and cells["Amount"].data_type == "n"


def test_in_the_last_days(charges):
    import time

    from desktop.services.query import Filter

    query = RegistrationQuery(charges)
    query.filters = [Filter("created", "in_last_days", 30)]
    table = registration_model("charges")
    since = int(time.time()) - 30 * 86_400
    assert query.count() == table.select().where(table.created >= since).count()
