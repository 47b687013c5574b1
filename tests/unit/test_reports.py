"""Reports from the command line, as cron runs them: a data folder synced from the simulator,
the starter dashboard drawn offscreen to PDF and read back, every number as `kpi` prints it."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys

import pytest
from pypdf import PdfReader

from desktop.paths import AppPaths
from desktop.services.kpi.dashboards import DashboardsService, Format
from desktop.services.kpi.library import FormulaLibrary
from desktop.settings import Settings, SettingsStore
from desktop.store.db import open_database
from desktop.store.migrations import migrate
from tests.syncing import LIVE_KEY
from tests.unit.test_cli import ROOT_ENV

PERIOD = "2026-05-01..2026-05-31"  # the simulator's frozen clock stands in May 2026


def cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "desktop", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ROOT_ENV,
    )


@pytest.fixture
def synced(app_paths: AppPaths, simulator) -> AppPaths:
    """A data folder with all nine types synced from the simulator, time zone UTC."""
    from desktop.headless import sync_with_key

    summary = sync_with_key(LIVE_KEY, app_paths, api_base=simulator.base_url)
    assert set(summary["status"].values()) == {"up_to_date"}
    SettingsStore(app_paths.settings_file).save(Settings(time_zone="UTC"))
    return app_paths


def starter_widgets(paths: AppPaths) -> list[dict]:
    db = open_database(paths.database)
    try:
        migrate(db)
        return DashboardsService(FormulaLibrary()).starter_json()["widgets"]
    finally:
        db.close()


def pdf_text(path) -> str:
    reader = PdfReader(path)
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def kpi_texts(paths: AppPaths, widget: dict) -> list[str]:
    """The widget's value as `python -m desktop kpi` gives it, written in the widget's format."""
    result = cli("kpi", widget["formula"], "--period", PERIOD, "--data-dir", str(paths.data_dir))
    assert result.returncode == 0, result.stderr
    value = json.loads(result.stdout)
    fmt = Format.from_json(widget["config"]["format"])
    if "values" in value:
        return [fmt.text(v, c) for c, v in value["values"].items()]
    return [fmt.text(value["value"], value.get("currency"))]


def test_the_starter_dashboard_as_pdf_shows_every_kpi_as_the_kpi_command_prints_it(
    synced, tmp_path
):
    output = tmp_path / "report.pdf"
    result = cli(
        "report",
        "--template",
        "stripe-overview",
        "--period",
        PERIOD,
        "--format",
        "pdf",
        "--output",
        str(output),
        "--data-dir",
        str(synced.data_dir),
    )
    assert result.returncode == 0, result.stderr
    text = pdf_text(output)
    assert "Stripe overview" in text
    assert "1 May 2026 – 31 May 2026" in text
    assert "Time zone: UTC" in text
    assert "Data last synced" in text
    numbers = [w for w in starter_widgets(synced) if w["kind"] in ("number", "gauge")]
    assert len(numbers) == 10
    checked = 0
    for widget in numbers:
        for shown in kpi_texts(synced, widget):
            assert shown in text, f"{widget['title']}: {shown!r} not in the PDF"
            checked += 1
    assert checked == len(numbers)
    # A vector PDF: the text is text, and the charts are not one big image.
    reader = PdfReader(output)
    assert all(not page.images for page in reader.pages)


def test_money_in_several_currencies_shows_every_currency_on_paper(synced, tmp_path):
    """On screen a number in six currencies shows the largest and '+ 3 more'; the report's
    tile grows until each has its line."""
    from desktop.services.kpi.dashboards import WidgetSpec

    widget = {
        "formula": "Sum(Charges, amount, livemode = true)",
        "config": {"format": {"style": "money", "decimals": 2}},
    }
    db = open_database(synced.database)
    try:
        migrate(db)
        service = DashboardsService(FormulaLibrary())
        dashboard_id = service.create("Volumes")
        spec = WidgetSpec.from_parts("number", "Volume", widget["formula"], widget["config"])
        service.add_widget(dashboard_id, spec)
    finally:
        db.close()
    output = tmp_path / "volumes.pdf"
    result = cli(
        "report",
        "--dashboard",
        "Volumes",
        "--period",
        PERIOD,
        "--output",
        str(output),
        "--data-dir",
        str(synced.data_dir),
    )
    assert result.returncode == 0, result.stderr
    text = pdf_text(output)
    shown = kpi_texts(synced, widget)
    assert len(shown) > 3
    assert [line for line in shown if line not in text] == []
    assert "more currencies" not in text


def test_numbers_to_csv_and_xlsx(synced, tmp_path):
    from openpyxl import load_workbook

    data_dir = str(synced.data_dir)
    common = ("report", "--template", "stripe-overview", "--period", PERIOD, "--data-dir", data_dir)
    result = cli(*common, "--format", "csv", "--output", str(tmp_path / "r.csv"))
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "r.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    widgets = {w["title"]: w for w in starter_widgets(synced)}
    failed = next(r for r in rows if r["Widget"] == "Failed payments")
    expected = kpi_texts(synced, widgets["Failed payments"])[0]
    assert f"{float(failed['Value']):,.0f}" == expected
    assert {r["Widget"] for r in rows} == set(widgets)
    brands = [r for r in rows if r["Widget"] == "Top card brands"]
    assert 0 < len(brands) <= 5 and brands[0]["Item"]

    result = cli(*common, "--format", "xlsx", "--output", str(tmp_path / "r.xlsx"))
    assert result.returncode == 0, result.stderr
    book = load_workbook(tmp_path / "r.xlsx")
    assert book.sheetnames[0] == "Report"
    assert len(book.sheetnames) == 1 + len(widgets)
    assert book["Failed payments"]["E2"].value == float(failed["Value"])


def test_png_is_one_image_of_the_whole_dashboard(synced, tmp_path):
    from PySide6.QtGui import QImage

    output = tmp_path / "r.png"
    result = cli(
        "report",
        "--template",
        "stripe-overview",
        "--period",
        PERIOD,
        "--format",
        "png",
        "--output",
        str(output),
        "--data-dir",
        str(synced.data_dir),
    )
    assert result.returncode == 0, result.stderr
    image = QImage(str(output))
    assert image.width() == 2560 and image.height() > 1200


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--dashboard", "Nope"), "No dashboard is titled 'Nope'"),
        (("--template", "stripe-overview", "--period", "someday"), "unknown period 'someday'"),
    ],
)
def test_report_mistakes_are_said_in_words(synced, tmp_path, args, said):
    result = cli(
        "report", *args, "--output", str(tmp_path / "r.pdf"), "--data-dir", str(synced.data_dir)
    )
    assert result.returncode == 2
    assert said in result.stderr
    assert "Traceback" not in result.stderr


def test_a_report_into_a_folder_that_is_gone_is_refused_in_words(synced, tmp_path):
    result = cli(
        "report",
        "--template",
        "stripe-overview",
        "--output",
        str(tmp_path / "gone" / "r.pdf"),
        "--data-dir",
        str(synced.data_dir),
    )
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_alerts_check_exits_1_when_an_alert_fires_and_0_while_it_only_holds(synced):
    from desktop.services.kpi.alerts import AlertsService

    db = open_database(synced.database)
    try:
        migrate(db)
        service = AlertsService(FormulaLibrary(settings=lambda: ("UTC", 0)))
        service.create("Any charges", "above", formula="Count(Charges)", period="all_time")
        service.create("Huge", "above", formula="Count(Charges)", period="all_time", threshold=1e9)
    finally:
        db.close()
    data_dir = str(synced.data_dir)
    first = cli("alerts", "check", "--data-dir", data_dir)
    assert first.returncode == 1, first.stderr
    assert first.stdout.startswith("FIRED Any charges: Any charges (all time) is ")
    assert "Huge" not in first.stdout
    second = cli("alerts", "check", "--data-dir", data_dir)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("HOLDING Any charges: Count(Charges) (All time) goes above 0")
    assert "2 checked, 0 fired" in second.stderr
