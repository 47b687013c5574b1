"""Dashboards in the real window: every widget type built through the editor from simulated
data, saved, reopened with the same values; drill-down opens the registrations counted."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetricsF, QImage, QPainter
from PySide6.QtWidgets import QDialog, QDialogButtonBox

from desktop.services.kpi.dashboards import NumberData, WidgetError
from desktop.services.kpi.periods import period_range
from desktop.store.models import DataSource, Widget, registration_model
from tests.syncing import import_into

PERIOD = "2026-01-01..2026-05-31"  # the simulator's frozen clock stands in May 2026
ZONE = "UTC"

# On the data folder's SQLite file, then on a PostgreSQL database (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("store_target")


@pytest.fixture
def imported(start_app, make_simulator):
    app = start_app()
    simulator = make_simulator(size=600, seed=9)
    import_into(app._db, simulator, ("charges", "refunds", "customers"))
    app._refresh_lists()
    app.window.show_page("dashboards")
    return app


def new_dashboard(app, qtbot, title="Sales"):
    page = app.dashboards_page
    dashboard_id = page.service.create(title)
    page.service.update(dashboard_id, period=PERIOD)
    with qtbot.waitSignal(page.refreshed, timeout=20_000):
        page.reload(dashboard_id)
    return page


def add_widget(page, qtbot, kind, title, formula, **options):
    editor = page.edit_widget(None)
    editor.kind.setCurrentIndex(editor.kind.findData(kind))
    editor.title.setText(title)
    editor.formula.setText(formula)
    if "group_by" in options:
        editor.group_by.setCurrentIndex(editor.group_by.findData(options["group_by"]))
        assert editor.group_by.currentData() == options["group_by"]
    if "target" in options:
        editor.has_target.setChecked(True)
        editor.target.setValue(options["target"])
    if options.get("compare"):
        editor.compare.setChecked(True)
    save = editor.buttons.button(QDialogButtonBox.StandardButton.Save)
    assert save.isEnabled(), editor.message.text()
    known = {wid for wid, tile in page.grid.tiles.items() if tile.spec.title == title}
    save.click()  # stored on a worker, then the tiles are built and refreshed

    def shown() -> bool:
        return any(
            wid not in known and tile.spec.title == title and wid in page.results
            for wid, tile in page.grid.tiles.items()
        )

    qtbot.waitUntil(shown, timeout=20_000)


def shown_values(page) -> dict[str, object]:
    """What each tile shows, read from its widgets."""
    shown = {}
    for tile in page.grid.tiles.values():
        kind = tile.spec.kind
        if kind == "number":
            shown[tile.spec.title] = (tile.value_label.text(), tile.change_label.text())
        elif kind == "gauge":
            shown[tile.spec.title] = (tile.dial.text, tile.dial.caption)
        elif kind in ("line", "area"):
            shown[tile.spec.title] = [tile.hover_text(i) for i in range(len(tile.xs))]
        elif kind == "bar":
            shown[tile.spec.title] = [tile.hover_text(i) for i in range(len(tile.rows))]
        else:
            table = tile.table
            shown[tile.spec.title] = [
                [table.item(r, c).text() for c in range(3)] for r in range(table.rowCount())
            ]
    return shown


def live_charges(start: int, end: int, **where):
    table = registration_model("charges")
    ds = DataSource.get(DataSource.data_type == "charges")
    query = table.select().where(
        (table.data_source == ds.id)
        & (table.livemode == 1)
        & (table.created >= start)
        & (table.created < end)
    )
    for key, value in where.items():
        query = query.where(getattr(table, key) == value)
    return query


def test_every_widget_type_is_built_saved_and_reopened_unchanged(imported, start_app, qtbot):
    app = imported
    page = new_dashboard(app, qtbot)
    add_widget(page, qtbot, "number", "Live charges", "Count(Charges, livemode = true)")
    add_widget(
        page,
        qtbot,
        "gauge",
        "Refund rate",
        "Count(Refunds, livemode = true) / Count(Charges, livemode = true) * 100",
        target=10,
    )
    add_widget(
        page,
        qtbot,
        "line",
        "Charges per day",
        "Count(Charges, livemode = true)",
        compare=True,
    )
    add_widget(page, qtbot, "area", "Volume", 'Sum(Charges, amount, currency = "usd")')
    add_widget(
        page, qtbot, "bar", "By status", "Count(Charges, livemode = true)", group_by="status"
    )
    add_widget(
        page,
        qtbot,
        "table",
        "Top brands",
        "Count(Charges, livemode = true)",
        group_by="payment_method_details.card.brand",
    )
    results = page.results
    assert len(results) == 6
    assert not [r.data.message for r in results.values() if isinstance(r.data, WidgetError)]

    # The number agrees with SQL over the same rows, and the tiles show it.
    start, end = period_range(PERIOD, ZONE)
    expected = live_charges(start, end).count()
    assert expected > 0
    number = next(r for r in results.values() if r.spec.kind == "number")
    assert isinstance(number.data, NumberData) and number.data.value.value == expected
    before = shown_values(page)
    assert before["Live charges"][0] == f"{expected:,}"
    failed = live_charges(start, end, status="failed").count()
    assert f"Failed\n{failed:,}" in before["By status"]
    assert len(before["Charges per day"]) == 151  # January to May, one point a day
    assert (
        sum(int(t.split("\n")[1].split()[0].replace(",", "")) for t in before["Charges per day"])
        == expected
    )
    assert before["Top brands"][0][0] == "1"
    # An area's legend sample is its line over its fill, not pyqtgraph's triangle.
    area = next(t for t in page.grid.tiles.values() if t.spec.kind == "area")
    ((sample, _label),) = area.legend.items
    drawn = QImage(20, 20, QImage.Format.Format_ARGB32)
    drawn.fill(Qt.GlobalColor.transparent)
    painter = QPainter(drawn)
    sample.paint(painter)
    painter.end()
    assert drawn.pixelColor(10, 8).alpha() == 255  # the line
    assert drawn.pixelColor(17, 4).alpha() == 0  # where the triangle's corner was

    app.window.close()
    app = start_app()  # a new process would read the same file
    app.window.show_page("dashboards")
    page = app.dashboards_page
    if not page.results:
        with qtbot.waitSignal(page.refreshed, timeout=20_000):
            page.refresh()
    assert page.picker.currentText() == "Sales"
    assert page.period.currentData() == PERIOD
    assert shown_values(page) == before


def test_double_click_opens_the_registrations_a_number_counts(imported, qtbot):
    app = imported
    page = new_dashboard(app, qtbot)
    add_widget(
        page, qtbot, "number", "Failed", 'Count(Charges, status = "failed" and livemode = true)'
    )
    tile = next(iter(page.grid.tiles.values()))
    kpi = page.results[tile.spec.id].data.value.value
    assert kpi > 0
    qtbot.mouseDClick(tile.value_label, Qt.MouseButton.LeftButton)
    registrations = app.registrations_page
    assert app.window.stack.currentWidget() is registrations
    assert registrations.model.count == kpi
    chips = [
        registrations.chips.itemAt(i).widget().text()
        for i in range(registrations.chips.count() - 1)
    ]
    assert chips == [
        'Formula: status = "failed" and livemode = true  ✕',
        "Created: 1 Jan – 31 May 2026  ✕",
    ]
    # A drill-down is a look: the data source's saved view is untouched.
    assert DataSource.get(DataSource.data_type == "charges").view_settings is None
    registrations.back_button.click()
    assert app.window.stack.currentWidget() is page


def test_a_bar_and_a_chart_point_drill_into_their_part(imported, qtbot):
    app = imported
    page = new_dashboard(app, qtbot)
    add_widget(
        page, qtbot, "bar", "By status", "Count(Charges, livemode = true)", group_by="status"
    )
    add_widget(page, qtbot, "line", "Per day", "Count(Charges, livemode = true)")
    bar, line = sorted(page.grid.tiles.values(), key=lambda t: t.spec.kind)
    result = page.results[bar.spec.id]
    (target,) = page.drill_targets(result, ("group", "succeeded"))
    page.drill_requested.emit(target)
    start, end = period_range(PERIOD, ZONE)
    assert (
        app.registrations_page.model.count == live_charges(start, end, status="succeeded").count()
    )

    result = page.results[line.spec.id]
    busiest = max(range(len(line.xs)), key=lambda i: result.data.series[None][i])
    (target,) = page.drill_targets(result, busiest)
    page.drill_requested.emit(target)
    assert app.registrations_page.model.count == result.data.series[None][busiest] > 0


def test_arranging_widgets_moves_and_pushes_and_is_remembered(imported, qtbot):
    app = imported
    page = new_dashboard(app, qtbot)
    add_widget(page, qtbot, "number", "A", "Count(Charges)")
    add_widget(page, qtbot, "number", "B", "Count(Customers)")
    a, b = sorted(page.grid.tiles, key=lambda i: i)
    assert page.grid.places[a][:2] == (0, 0) and page.grid.places[b][:2] == (3, 0)  # beside
    page.grid.nudge(b, dx=-3)  # B onto A's place: A is pushed down
    assert page.grid.places[b][:2] == (0, 0)
    assert page.grid.places[a][1] >= 2
    page.grid.nudge(b, dw=3)  # wider

    def stored() -> dict:
        return {w.id: (w.x, w.y, w.w, w.h) for w in Widget.select()}

    qtbot.waitUntil(lambda: stored() == page.grid.places, timeout=10_000)  # on a worker
    assert page.grid.tiles[b].geometry().width() > page.grid.tiles[a].geometry().width()


def test_the_editor_refuses_a_wrong_formula_with_its_position(imported, qtbot):
    page = new_dashboard(imported, qtbot)
    editor = page.edit_widget(None)
    editor.formula.setText("Sum(Charges, amout)")
    save = editor.buttons.button(QDialogButtonBox.StandardButton.Save)
    assert not save.isEnabled()
    assert editor.message.text() == "Unknown field 'amout' at 14; did you mean 'amount'?"
    assert editor.formula.highlighter.error_at == 13
    editor.formula.setText("Sum(Charges, amount)")
    assert save.isEnabled()
    assert editor.style.currentData() == "money"  # a sum of amounts is money
    editor.refresh_preview()
    qtbot.waitUntil(lambda: editor.preview_label.text() not in ("", "Calculating…"), timeout=20_000)
    assert "USD" in editor.preview_label.text()
    editor.reject()


def test_export_import_and_a_damaged_file(imported, qtbot, tmp_path):
    page = new_dashboard(imported, qtbot)
    add_widget(page, qtbot, "number", "Charges", "Count(Charges)")
    path = tmp_path / "sales.json"
    assert page.export_file(str(path))
    data = json.loads(path.read_text())
    assert data["format"] == "ledgerboard-dashboard" and data["widgets"][0]["title"] == "Charges"
    before = {d.id for d in page.service.dashboards()}
    with qtbot.waitSignal(page.refreshed, timeout=20_000):
        page.import_file(str(path))
    (copy_id,) = {d.id for d in page.service.dashboards()} - before
    assert page.dashboard_id == copy_id
    assert [t.spec.title for t in page.grid.tiles.values()] == ["Charges"]

    damaged = tmp_path / "damaged.json"
    damaged.write_text(path.read_text()[:40])
    count = len(page.service.dashboards())
    page.import_file(str(damaged))
    qtbot.waitUntil(page.message.isVisible, timeout=10_000)
    assert "Could not import damaged.json: The file is not valid JSON" in page.message.text()
    assert len(page.service.dashboards()) == count


def test_the_starter_dashboard_and_the_slideshow(imported, qtbot):
    app = imported
    page = app.dashboards_page
    assert page.stack.currentIndex() == 0  # no dashboards: the empty state
    assert app.window.status_text.text() == "No dashboards yet"
    with qtbot.waitSignal(page.refreshed, timeout=20_000):
        page.starter_button.click()
    assert page.picker.currentText() == "Stripe overview"
    assert app.window.status_text.text() == "1 dashboard"  # the status bar follows
    titles = {t.spec.title for t in page.grid.tiles.values()}
    # Only what the imported data sources allow: no disputes, invoices or balance here, so
    # volumes are of the charges in the main currency, and say so.
    assert {"Refund rate", "New customers", "Failed payments"} <= titles
    assert {"Gross volume · USD charges", "Refunds · USD charges"} <= titles
    assert not [t for t in titles if t.startswith(("Disputes", "Paid invoices", "Net volume"))]
    assert not [t for t in titles if "settlement currency" in t]
    assert not [r.data for r in page.results.values() if isinstance(r.data, WidgetError)]

    second = page.service.create("Second")
    page.reload(page.dashboard_id)
    show = page.start_slideshow()  # deletes itself when closed
    try:
        assert show.isFullScreen() and show.title.text() == "Stripe overview"
        assert len(show.grid.tiles) == len(page.grid.tiles)
        qtbot.keyClick(show, Qt.Key.Key_Right)
        assert show.title.text() == "Second" and show.ids[show.index] == second
        qtbot.keyClick(show, Qt.Key.Key_Left)
        qtbot.waitUntil(lambda: all(t.result for t in show.grid.tiles.values()), timeout=20_000)
    finally:
        qtbot.keyClick(show, Qt.Key.Key_Escape)
    assert not show.isVisible()


def test_saved_formulas_are_made_in_their_dialog_and_used_by_widgets(imported, qtbot):
    page = new_dashboard(imported, qtbot)
    dialog = page.open_saved_formulas()
    dialog.name.setText("Live charges")
    dialog.formula.setText("Count(Charges, livemode = true)")
    with qtbot.waitSignal(dialog.saved, timeout=10_000):
        dialog.save()
    dialog.new()
    dialog.name.setText("Twice")
    dialog.formula.setText("[Live charges] * 2")
    with qtbot.waitSignal(dialog.saved, timeout=10_000):
        dialog.save()
    dialog.new()
    dialog.name.setText("Loop")
    dialog.formula.setText("[Loop] + 1")
    with qtbot.waitSignal(dialog.refused, timeout=10_000):
        dialog.save()
    assert "refers to itself" in dialog.message.text()
    assert [dialog.list.item(i).text() for i in range(dialog.list.count())] == [
        "Live charges",
        "Twice",
    ]
    dialog.reject()
    add_widget(page, qtbot, "number", "Twice", "[Twice]")
    start, end = period_range(PERIOD, ZONE)
    tile = next(iter(page.grid.tiles.values()))
    assert tile.value_label.text() == f"{2 * live_charges(start, end).count():,}"


def test_a_custom_range_and_a_chart_saved_as_png(imported, qtbot, tmp_path):
    page = new_dashboard(imported, qtbot)
    add_widget(page, qtbot, "line", "Per day", "Count(Charges, livemode = true)")
    page.period.setCurrentIndex(page.period.findData("custom"))  # opens the range dialog
    (dialog,) = [d for d in page.findChildren(QDialog) if d.windowTitle() == "Custom range"]
    dialog.first.setDate(dialog.first.date().fromString("2026-03-01", "yyyy-MM-dd"))
    dialog.last.setDate(dialog.last.date().fromString("2026-03-10", "yyyy-MM-dd"))
    with qtbot.waitSignal(page.refreshed, timeout=20_000):
        dialog.accept()
    assert page.period.currentData() == "2026-03-01..2026-03-10"
    assert page.period.currentText() == "1 – 10 Mar 2026"
    tile = next(iter(page.grid.tiles.values()))
    assert len(tile.xs) == 10
    path = tmp_path / "chart.png"
    assert tile.export_png(str(path))
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    assert image.width() >= 800 and not image.isNull()


def test_a_dashboard_refreshes_after_a_sync(start_app, qtbot, simulator):
    from tests.gui.test_background_sync import connect_account

    app = start_app()
    connect_account(simulator, types=("charges",))
    app.window.show_page("dashboards")
    page = new_dashboard(app, qtbot)
    add_widget(page, qtbot, "number", "Charges", "Count(Charges)")
    tile = next(iter(page.grid.tiles.values()))
    assert tile.value_label.text() == "0"  # nothing imported yet
    with qtbot.waitSignal(page.refreshed, timeout=60_000):
        app.sync_service.sync()  # the page refreshes when the sync finishes
    start, end = period_range(PERIOD, ZONE)
    table = registration_model("charges")
    expected = table.select().where((table.created >= start) & (table.created < end)).count()
    assert expected > 0 and tile.value_label.text() == f"{expected:,}"


def test_the_formula_editor_completes_names(imported, qtbot):
    page = new_dashboard(imported, qtbot)
    editor = page.edit_widget(None)
    edit = editor.formula
    edit.setFocus()
    qtbot.keyClicks(edit, "Cou")
    popup = edit.completer.popup()
    assert popup.isVisible()
    offered = [
        edit.completer.completionModel().index(i, 0).data()
        for i in range(edit.completer.completionCount())
    ]
    assert "Count(" in offered and "CountUnique(" in offered
    qtbot.keyClick(edit, Qt.Key.Key_Tab)  # takes the first offer
    assert edit.text() == "Count("
    qtbot.keyClicks(edit, "Stripe Ch")
    offered = [
        edit.completer.completionModel().index(i, 0).data()
        for i in range(edit.completer.completionCount())
    ]
    assert "Stripe Charges" in offered
    editor.reject()


def test_the_slideshow_fits_each_page_to_the_screen_without_editing_controls(imported, qtbot):
    app = imported
    page = app.dashboards_page
    with qtbot.waitSignal(page.refreshed, timeout=20_000):
        page.starter_button.click()
    # Below the rest, a chart taller than the 800 px offscreen screen.
    lowest = max(t.spec.y + t.spec.h for t in page.grid.tiles.values())
    chart = next(t.spec for t in page.grid.tiles.values() if t.spec.kind == "area")
    page.service.place_widgets({chart.id: (0, lowest, 12, 12)})
    with qtbot.waitSignal(page.refreshed, timeout=20_000):
        page.reload(page.dashboard_id)
    all_ids = set(page.grid.tiles)
    assert page.grid.height() > 1_000  # in the page it scrolls
    show = page.start_slideshow()
    try:
        screen = show.screen().geometry()
        seen: list[int] = []
        assert len(show.pages) > 1
        for number in range(len(show.pages)):
            qtbot.waitUntil(lambda: show.geometry() == screen)
            assert show.page == number
            assert f"page {number + 1} of {len(show.pages)}" in show.position.text()
            for widget_id, tile in show.grid.tiles.items():
                place = tile.geometry().translated(show.grid.mapTo(show, tile.pos()) - tile.pos())
                assert show.rect().contains(place), (tile.spec.title, place, show.rect())
                assert tile.height() >= 58  # still readable
                assert not tile.menu_button.isVisibleTo(show)
                assert not tile.grip.isVisibleTo(show)
                seen.append(widget_id)
            qtbot.keyClick(show, Qt.Key.Key_Right)
        assert sorted(seen) == sorted(all_ids)  # each widget on one page, none left out
        assert show.page == 0  # the only dashboard again, from its first page
    finally:
        qtbot.keyClick(show, Qt.Key.Key_Escape)


def test_pages_break_between_rows_no_widget_straddles():
    from desktop.views.dashboard_grid import split_into_pages

    places = {1: (0, 0, 6, 2), 2: (6, 0, 6, 3), 3: (0, 3, 12, 4), 4: (0, 7, 4, 2)}
    assert split_into_pages(places, 5) == [(0, 3), (3, 7), (7, 9)]
    assert split_into_pages(places, 9) == [(0, 9)]
    assert split_into_pages({1: (0, 0, 12, 9)}, 4) == [(0, 9)]  # too tall: scaled, alone
    assert split_into_pages({1: (0, 4, 3, 2)}, 3) == [(4, 6)]  # empty rows make no page


def test_no_tile_cuts_an_amount_or_its_currency_at_1024_px(imported, qtbot):
    from desktop.services.kpi.dashboards import Format, WidgetSpec
    from desktop.views.widgets import FittedLabel

    app = imported
    app.window.resize(1024, 700)
    page = new_dashboard(app, qtbot)
    money = Format("money", 2)
    specs = [
        WidgetSpec(
            "number", "Gross volume", 'Sum(Charges, amount, currency = "usd")', format=money
        ),
        WidgetSpec("number", "All currencies", "Sum(Charges, amount)", format=money),
        WidgetSpec(
            "number",
            "Monthly",
            'Sum(Charges, amount, currency = "usd")',
            format=money,
            period="this_month",
            target=123456.78,
        ),
    ]
    for n, spec in enumerate(specs):
        page.service.add_widget(page.dashboard_id, replace(spec, x=2 * n, w=2, h=3))
    with qtbot.waitSignal(page.refreshed, timeout=20_000):
        page.reload(page.dashboard_id)
    qtbot.waitUntil(lambda: page.grid.tiles[min(page.grid.tiles)].width() < 120)
    rows = next(t for t in page.grid.tiles.values() if t.spec.title == "All currencies")
    qtbot.waitUntil(lambda: rows.currency_rows.isVisible() and rows.currency_rows.height() > 40)
    checked = 0
    for tile in page.grid.tiles.values():
        tile.grab()  # laid out and painted at its narrow width
        for label in tile.findChildren(FittedLabel):
            if label.isHidden() or not label.forms[0]:
                continue
            shown, font = label.fitted()
            width = QFontMetricsF(font).horizontalAdvance(shown)
            assert width <= label.contentsRect().width(), (tile.spec.title, shown)
            currency = re.search(r"\b[A-Z]{3}\b", label.forms[0])
            if currency:
                assert currency.group(0) in shown, (tile.spec.title, label.forms[0], shown)
                checked += 1
    assert checked >= 3  # a value and the rows of two currencies at least


def test_tile_text_colours_meet_wcag_aa_on_white():
    from desktop.views.dashboard_tiles import MUTED, STATUS_COLOURS

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    for colour in (MUTED, *STATUS_COLOURS.values()):
        assert (1.05) / (luminance(colour) + 0.05) >= 4.5, colour


def test_this_month_compares_the_same_days_of_the_previous_month_and_says_so(imported, qtbot):
    import datetime as dt

    from desktop.services.kpi.dashboards import WidgetSpec

    app = imported
    page = new_dashboard(app, qtbot)
    now = dt.datetime(2026, 5, 4, 12, 0, tzinfo=dt.UTC)  # four and a half days into May
    page.service.now = lambda: now
    page.service.update(page.dashboard_id, period="this_month")
    page.service.add_widget(
        page.dashboard_id, WidgetSpec("number", "Charges", "Count(Charges, livemode = true)")
    )
    with qtbot.waitSignal(page.refreshed, timeout=20_000):
        page.reload(page.dashboard_id)
    (tile,) = page.grid.tiles.values()
    data = tile.result.data
    april_first = 1_775_001_600  # UTC midnight
    assert (data.previous.start, data.previous.end) == (
        april_first,
        int(now.timestamp()) - 30 * 86_400,
    )
    assert data.previous.value == live_charges(april_first, data.previous.end).count()
    assert "than 1 – 4 Apr 2026" in tile.change_label.forms[0]
    assert re.search(r"(better|worse) than", tile.change_label.forms[0])  # not the colour alone
    assert "1 Apr 2026 00:00 – 4 Apr 2026 12:00" in tile.change_label.hint


def test_a_new_widget_fills_a_gap_and_is_scrolled_to_and_said(imported, qtbot):
    from desktop.services.kpi.dashboards import WidgetSpec

    app = imported
    app.window.resize(1024, 700)
    page = new_dashboard(app, qtbot)
    # A full-width chart, a number at the left under it, and a tall table below: room at
    # the right of the number, and the bottom far below the fold.
    for spec in (
        WidgetSpec("line", "Chart", "Count(Charges)", x=0, y=0, w=12, h=4),
        WidgetSpec("number", "Left", "Count(Charges)", x=0, y=4, w=3, h=2),
        WidgetSpec("table", "Below", "Count(Charges)", group_by="status", x=0, y=6, w=12, h=8),
    ):
        page.service.add_widget(page.dashboard_id, spec)
    with qtbot.waitSignal(page.refreshed, timeout=20_000):
        page.reload(page.dashboard_id)
    page.scroll.verticalScrollBar().setValue(page.scroll.verticalScrollBar().maximum())
    add_widget(page, qtbot, "number", "Refunds", "Count(Refunds)")
    tile = next(t for t in page.grid.tiles.values() if t.spec.title == "Refunds")
    assert (tile.spec.x, tile.spec.y) == (3, 4)  # beside "Left", not under everything
    viewport = page.scroll.viewport()
    shown = tile.rect().translated(tile.mapTo(viewport, tile.rect().topLeft()))
    assert viewport.rect().contains(shown), (shown, viewport.rect())
    assert page.message.isVisible() and page.message.text() == "Added “Refunds”."
    assert tile.property("added")


def test_charts_read_clearly(imported, qtbot):
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QEnterEvent
    from PySide6.QtWidgets import QApplication

    from desktop.services.kpi.dashboards import WidgetSpec
    from desktop.views.dashboard_tiles import PREVIOUS_COLOUR

    app = imported
    page = new_dashboard(app, qtbot)
    page.service.add_widget(
        page.dashboard_id,
        WidgetSpec("line", "Daily", "Count(Charges)", compare=True, bucket="day", w=12, h=4),
    )
    page.service.add_widget(
        page.dashboard_id,
        WidgetSpec("bar", "By status", "Count(Charges)", group_by="status", y=4, w=6, h=4),
    )
    page.service.update(page.dashboard_id, period="2026-03-01..2026-03-31")
    with qtbot.waitSignal(page.refreshed, timeout=20_000):
        page.reload(page.dashboard_id)
    chart = next(t for t in page.grid.tiles.values() if t.spec.kind == "line")
    bars = next(t for t in page.grid.tiles.values() if t.spec.kind == "bar")
    chart.grab()
    # The previous period's line is not the current one's colour.
    current, previous = chart.plot.getPlotItem().listDataItems()
    assert previous.opts["pen"].color().name() == PREVIOUS_COLOUR
    assert current.opts["pen"].color().name() != PREVIOUS_COLOUR
    # One level of dates on the axis: no month label on top of a day's.
    axis = chart.plot.getAxis("bottom")
    low, high = axis.range
    assert len(axis.tickValues(low, high, axis.width())) == 1
    # However narrow the tile, its dates never touch ("13 Dec18 Dec" at a third of 1024 px).
    for width in (260, 420, 900):
        ((spacing, ticks),) = axis.tickValues(low, high, width)
        labels = axis.tickStrings(ticks, 1, spacing)
        metrics = QFontMetricsF(axis.style["tickFont"] or chart.font())
        widest = max(metrics.horizontalAdvance(label) for label in labels)
        apart = min(b - a for a, b in itertools.pairwise(ticks)) * width / (high - low)
        assert apart >= widest + 8, (width, labels)
    # The readout at the right edge does not cover the legend.
    view = chart.plot.getPlotItem().vb
    last = view.mapViewToScene(QPointF(chart.xs[-1], view.viewRange()[1][1]))
    chart._mouse_moved(last)
    assert chart.hover.isVisible()
    legend = chart.legend.sceneBoundingRect()
    assert not chart.hover.sceneBoundingRect().intersects(legend)
    # A bar's readout goes when the mouse leaves the tile.
    bars.grab()
    bar_view = bars.plot.getPlotItem().vb
    bars._mouse_moved(bar_view.mapViewToScene(QPointF(0, 0)))
    assert bars.hover.isVisible()
    QApplication.sendEvent(bars, QEvent(QEvent.Type.Leave))
    assert not bars.hover.isVisible()
    chart._mouse_moved(last)
    QApplication.sendEvent(chart, QEnterEvent(QPointF(), QPointF(), QPointF()))
    QApplication.sendEvent(chart, QEvent(QEvent.Type.Leave))
    assert not chart.hover.isVisible() and not chart.hover_line.isVisible()


def test_the_leaderboard_names_card_brands_and_heads_its_columns_where_they_read(imported, qtbot):
    from desktop.services.kpi.dashboards import WidgetSpec

    page = new_dashboard(imported, qtbot)
    page.service.add_widget(
        page.dashboard_id,
        WidgetSpec(
            "table",
            "Top card brands",
            "Count(Charges)",
            group_by="payment_method_details.card.brand",
            w=6,
            h=4,
        ),
    )
    with qtbot.waitSignal(page.refreshed, timeout=20_000):
        page.reload(page.dashboard_id)
    (tile,) = page.grid.tiles.values()
    names = {tile.table.item(r, 1).text() for r in range(tile.table.rowCount())}
    assert "Visa" in names and not {"visa", "amex", "mastercard"} & names
    for column in range(3):
        header = tile.table.horizontalHeaderItem(column).textAlignment()
        cell = tile.table.item(0, column).textAlignment()
        horizontal = Qt.AlignmentFlag.AlignHorizontal_Mask
        assert Qt.AlignmentFlag(header) & horizontal == Qt.AlignmentFlag(cell) & horizontal or (
            column == 1 and not Qt.AlignmentFlag(cell) & Qt.AlignmentFlag.AlignRight
        ), column


def test_the_widget_editor_reads_as_the_wizard_does(imported, qtbot):
    from PySide6.QtWidgets import QSpinBox, QStyle, QStyleOptionSpinBox

    page = new_dashboard(imported, qtbot)
    editor = page.edit_widget(None)
    editor.kind.setCurrentIndex(editor.kind.findData("bar"))
    editor.formula.setText("Count(Charges)")
    qtbot.waitUntil(lambda: editor.group_by.count() > 0)
    assert editor.group_by.currentData() == "status"  # never an id field by default
    save = editor.buttons.button(QDialogButtonBox.StandardButton.Save)
    cancel = editor.buttons.button(QDialogButtonBox.StandardButton.Cancel)
    assert save.property("primary") is True
    assert save.icon().isNull() and cancel.icon().isNull()  # words, no floppy disk or red X
    editor.grab()
    for spin in editor.findChildren(QSpinBox):
        option = QStyleOptionSpinBox()
        option.initFrom(spin)
        option.rect = spin.rect()
        up = spin.style().subControlRect(
            QStyle.ComplexControl.CC_SpinBox, option, QStyle.SubControl.SC_SpinBoxUp, spin
        )
        assert up.width() >= 16 and up.height() >= 10, up  # the arrows have their room
    editor.reject()


def test_the_starter_tiles_titles_are_whole_at_1024_px(start_app, qtbot, make_simulator):
    """'Gross volume · settlement currency' on a quarter of a 1024 px window: on more lines,
    its qualifier starting one, never cut to 'Gross volu…'."""
    app = start_app()
    simulator = make_simulator(size=600, seed=9)
    import_into(app._db, simulator, ("charges", "refunds", "balance_transactions", "disputes"))
    app._refresh_lists()
    app.window.resize(1024, 700)
    app.window.show_page("dashboards")
    page = app.dashboards_page
    with qtbot.waitSignal(page.refreshed, timeout=20_000):
        page.starter_button.click()
    titles = {tile.spec.title: tile.title for tile in page.grid.tiles.values()}
    label = titles["Gross volume · settlement currency"]
    qtbot.waitUntil(lambda: 0 < label.width() < 200)
    for tile in page.grid.tiles.values():
        tile.grab()
        _font, lines = tile.title.layout_in(tile.title.contentsRect().width())
        assert " ".join(lines) == tile.spec.title, lines
        assert tile.title.contentsRect().height() >= len(lines) * 12  # room for each line
    _font, lines = label.layout_in(label.contentsRect().width())
    assert len(lines) > 1 and any(line.startswith("· settlement") for line in lines)


def test_a_grouping_with_nothing_to_group_says_so(imported, qtbot):
    page = new_dashboard(imported, qtbot)
    for kind in ("bar", "table"):
        add_widget(
            page, qtbot, kind, f"None {kind}", 'Count(Charges, status = "nothing")',
            group_by="status",
        )  # fmt: skip
        add_widget(page, qtbot, kind, f"Some {kind}", "Count(Charges)", group_by="status")
    tiles = {tile.spec.title: tile for tile in page.grid.tiles.values()}
    for kind in ("bar", "table"):
        empty, some = tiles[f"None {kind}"], tiles[f"Some {kind}"]
        assert empty.empty.isVisible() and not empty.body.isVisible()
        assert empty.empty.text() == "Nothing in this period"
        assert some.body.isVisible() and not some.empty.isVisible()


def test_a_test_mode_account_is_told_why_live_kpis_read_0(imported, qtbot):
    """Connected with a test key only, every starter KPI (livemode = true) read 0 with no
    word why; a chart of zeros sat between -0.4 and 0.4. The dashboard says why while no
    account is live, and a chart of nothing below zero starts at 0."""
    from desktop.services.kpi.dashboards import Format
    from desktop.store.models import Account

    page = new_dashboard(imported, qtbot)
    add_widget(
        page, qtbot, "line", "Volume", "Sum(Charges, amount, livemode = true)",
        format=Format("money", 2),
    )  # fmt: skip
    add_widget(page, qtbot, "number", "All", "Count(Charges)")

    def told() -> bool:
        return page.message.isVisible() and page.message.property("state") == "notice"

    assert not told()  # a live account: nothing to say ("Added “All”." may show)
    Account.update(livemode=False).execute()
    with qtbot.waitSignal(page.refreshed, timeout=20_000):
        page.refresh()
    assert told()
    assert "Only test mode is connected" in page.message.text()
    assert "livemode = true" in page.message.text()
    registration_model("charges").delete().execute()  # a period of zeros
    with qtbot.waitSignal(page.refreshed, timeout=20_000):
        page.refresh()
    chart = next(t for t in page.grid.tiles.values() if t.spec.title == "Volume")
    low, high = chart.plot.getPlotItem().vb.viewRange()[1]
    assert -0.1 <= low <= 0 < high
    # A dashboard that counts test data too has nothing to explain.
    page.service.remove_widget(chart.spec.id)
    with qtbot.waitSignal(page.refreshed, timeout=20_000):
        page.reload(page.dashboard_id)
    assert not told()
