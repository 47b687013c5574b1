"""Export: the filter text scripts write, the CSV, and the command line."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

import pytest

from desktop.services.registrations import (
    FilterError,
    RegistrationQuery,
    export_csv,
    parse_filter_text,
)
from desktop.store.models import DataSource, registration_model
from tests.syncing import import_into


@pytest.fixture
def charges(db, simulator):
    return import_into(db, simulator, ("charges",)).data_source("charges")


def test_filter_text(charges):
    fields = RegistrationQuery(charges).fields
    parsed = parse_filter_text('livemode = true and amount > 1000 and status = "succeeded"', fields)
    assert [(f.key, f.op, f.value) for f in parsed] == [
        ("livemode", "is_true", None),
        ("amount", ">", "1000"),
        ("status", "one_of", ["succeeded"]),
    ]
    assert parse_filter_text("", fields) == []
    for bad, message in (
        ("amout > 5", "Unknown field"),
        ("livemode = maybe", "True or False"),
        ("amount contains 5", "is a number"),
        ("just words", "Cannot read"),
    ):
        with pytest.raises(FilterError, match=message):
            parse_filter_text(bad, fields)


def test_csv_of_a_filtered_query(charges):
    query = RegistrationQuery(charges)
    query.filters = parse_filter_text("livemode = true and amount >= 5000", query.fields)
    out = io.StringIO()
    rows = export_csv(query, out)
    table = registration_model("charges")
    expected = (
        table.select()
        .where((table.data_source == charges.id) & table.livemode & (table.amount >= 5000))
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
    assert len(rows) == table.select().where(table.livemode).count()
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
    query.filters = parse_filter_text("livemode = true", query.fields)
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
    query.filters = parse_filter_text(f"id = {first.stripe_id}", query.fields)

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

    from desktop.services.registrations import Filter

    query = RegistrationQuery(charges)
    query.filters = [Filter("created", "in_last_days", 30)]
    table = registration_model("charges")
    since = int(time.time()) - 30 * 86_400
    assert query.count() == table.select().where(table.created >= since).count()
