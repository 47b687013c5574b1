"""The widgets on a dashboard: number, line and area chart, bar chart, table, gauge.

Each tile shows a WidgetResult from services/dashboards; it runs no query itself. A double
click asks to open the registrations behind the value (`drill_requested`); the tile's menu
edits, removes and, for charts, saves a PNG.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
from zoneinfo import ZoneInfo

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QMenu,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from desktop.catalog import CHOICE_KEYS, minor_unit_divisor
from desktop.services.kpi.dashboards import (
    Format,
    GroupsData,
    NumberData,
    SeriesData,
    WidgetError,
    WidgetResult,
    WidgetSpec,
)
from desktop.views.formatting import (
    date_span,
    day_and_month,
    day_text,
    field_value_text,
    month,
    number,
    timestamp,
)
from desktop.views.widgets import (
    FittedLabel,
    WrappedTitle,
    documents_path,
    fit_text,
    plain_label,
)

# Text colours with at least 4.5:1 contrast on the white tile (WCAG AA).
STATUS_COLOURS = {"good": "#15803d", "warning": "#b45309", "bad": "#b91c1c"}
SERIES_COLOURS = ("#4f46e5", "#0891b2", "#db2777", "#65a30d", "#ea580c", "#7c3aed")
MUTED = "#64748b"
PREVIOUS_COLOUR = "#94a3b8"  # a line, not text: the previous period, beside the current


class Tile(QFrame):
    """A card with a title, a menu, and a body that shows one widget's result."""

    edit_requested = Signal(int)
    remove_requested = Signal(int)
    alert_requested = Signal(int)  # widget id: watch this number
    drill_requested = Signal(int, object)  # widget id, bucket index or group (None: all)
    move_started = Signal(object, QPointF)  # the tile, the press position in the grid
    resize_started = Signal(object, QPointF)
    arrange_requested = Signal(int, int, int, int, int)  # id, dx, dy, dw, dh (in cells)

    def __init__(self, spec: WidgetSpec, time_zone: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.time_zone = time_zone
        self.result: WidgetResult | None = None
        self.setObjectName("tile")
        self.setFrameShape(QFrame.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 10, 10)
        layout.setSpacing(4)
        top = QHBoxLayout()
        top.setSpacing(4)
        self.title = WrappedTitle(spec.title, "tileTitle")
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title.hint = "Drag the title to move the widget"
        self.title.setCursor(Qt.CursorShape.OpenHandCursor)
        top.addWidget(self.title, 1)
        self.period_label = plain_label("", "tilePeriod")
        top.addWidget(self.period_label)
        self.menu_button = QToolButton()
        self.menu_button.setText("⋯")
        self.menu_button.setObjectName("tileMenu")
        self.menu_button.setToolTip("Edit, remove, open registrations")
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = QMenu(self)
        self.menu.aboutToShow.connect(self._fill_menu)
        self.menu_button.setMenu(self.menu)
        top.addWidget(self.menu_button)
        layout.addLayout(top)
        self.error = plain_label("", "tileError")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        # A grouping with nothing to group says so, where empty axes would say nothing.
        self.empty = plain_label("Nothing in this period", "tileEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.hide()
        layout.addWidget(self.empty, 1)
        self.body = self.make_body()
        layout.addWidget(self.body, 1)
        self.grip = _ResizeGrip(self)
        self.grip.pressed.connect(lambda pos: self.resize_started.emit(self, pos))
        self.title.installEventFilter(self)

    def set_editable(self, editable: bool) -> None:
        """A dashboard being edited shows the menu, the grip and a title to drag; a slideshow's
        shows none of them."""
        self.menu_button.setVisible(editable)
        self.grip.setVisible(editable)
        self.title.hint = "Drag the title to move the widget" if editable else ""
        self.title.setCursor(
            Qt.CursorShape.OpenHandCursor if editable else Qt.CursorShape.ArrowCursor
        )

    def mark_added(self, seconds: float = 4) -> None:
        """A new widget stands out for a moment (its frame), so the eye finds it."""
        self.setProperty("added", True)
        self.style().unpolish(self)
        self.style().polish(self)

        def plain() -> None:
            if isValid(self):
                self.setProperty("added", False)
                self.style().unpolish(self)
                self.style().polish(self)

        QTimer.singleShot(int(seconds * 1000), plain)

    # subclasses

    def make_body(self) -> QWidget:
        raise NotImplementedError

    def show_data(self, data) -> None:
        raise NotImplementedError

    def export_png(self, path: str) -> bool:
        return self.grab().save(path, "PNG")

    # shared

    def set_result(self, result: WidgetResult) -> None:
        self.result = result
        if isinstance(result.data, WidgetError):
            self.error.setText(result.data.message)
            self.error.show()
            self.body.hide()
            return
        self.error.hide()
        empty = isinstance(result.data, GroupsData) and not result.data.rows
        self.empty.setVisible(empty)
        self.body.setVisible(not empty)
        # The dashboard's period is in the page's header; a widget's own period shows here.
        self.period_label.setText(self._period_text(result) if self.spec.period else "")
        self.show_data(result.data)

    def _period_text(self, result: WidgetResult) -> str:
        if result.end - result.start > 50 * 365 * 86_400:
            return "All time"
        return date_span(result.start, result.end, self.time_zone)

    def _fill_menu(self) -> None:
        self.menu.clear()
        self.menu.addAction("Edit…", lambda: self.edit_requested.emit(self.spec.id))
        drill = self.menu.addAction(
            "Open registrations", lambda: self.drill_requested.emit(self.spec.id, None)
        )
        drill.setEnabled(bool(self.result and self.result.drill))
        if self.spec.kind in ("number", "gauge"):
            self.menu.addAction(
                "Alert me when it moves…", lambda: self.alert_requested.emit(self.spec.id)
            )
        if self.can_export:
            self.menu.addAction("Save as PNG…", lambda: self.export_requested())
        if self.grip.isVisibleTo(self):
            arrange = self.menu.addMenu("Arrange")
            for text, step in (
                ("Move left", (-1, 0, 0, 0)),
                ("Move right", (1, 0, 0, 0)),
                ("Move up", (0, -1, 0, 0)),
                ("Move down", (0, 1, 0, 0)),
                ("Wider", (0, 0, 1, 0)),
                ("Narrower", (0, 0, -1, 0)),
                ("Taller", (0, 0, 0, 1)),
                ("Shorter", (0, 0, 0, -1)),
            ):
                arrange.addAction(
                    text, lambda s=step: self.arrange_requested.emit(self.spec.id, *s)
                )
        self.menu.addSeparator()
        self.menu.addAction("Remove", lambda: self.remove_requested.emit(self.spec.id))

    can_export = True

    def export_requested(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        name = "".join(c if c.isalnum() or c in " -_" else "_" for c in self.spec.title).strip()
        path, _ = QFileDialog.getSaveFileName(
            self, "Save chart as PNG", documents_path(f"{name or 'chart'}.png"), "PNG image (*.png)"
        )
        if path:
            self.export_png(path)

    def mouseDoubleClickEvent(self, event) -> None:
        self.drill_requested.emit(self.spec.id, None)
        event.accept()

    def eventFilter(self, watched, event) -> bool:
        from PySide6.QtCore import QEvent

        if (
            watched is self.title
            and event.type() == QEvent.Type.MouseButtonPress
            and event.button() == Qt.MouseButton.LeftButton
        ):
            self.move_started.emit(self, self.title.mapTo(self.parentWidget(), event.position()))
            return True
        return super().eventFilter(watched, event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.grip.move(self.width() - self.grip.width() - 2, self.height() - self.grip.height() - 2)
        self.grip.raise_()


class _ResizeGrip(QWidget):
    pressed = Signal(QPointF)

    def __init__(self, tile: Tile) -> None:
        super().__init__(tile)
        self.setFixedSize(14, 14)
        self.setCursor(Qt.CursorShape.SizeFDiagCursor)
        self.setToolTip("Drag to resize")

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.pressed.emit(self.mapTo(self.parentWidget().parentWidget(), event.position()))
            event.accept()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setPen(QPen(QColor("#cbd5e1"), 1.5))
        for offset in (4, 8, 12):
            painter.drawLine(self.width() - 1, offset, offset, self.height() - 1)
        painter.end()


# --- number -------------------------------------------------------------------------------


def value_lines(value, fmt: Format) -> list[str]:
    """The text of a KpiValue: one line, or one per currency."""
    if len(value.per_currency) > 1:
        return [fmt.text(v, c) for c, v in value.per_currency.items()]
    return [fmt.text(value.value, value.currency)]


def change_forms(data: NumberData, fmt: Format, time_zone: str) -> tuple[list[str], str]:
    """The change against the period it is compared with, named ('▲ 12.5 % better than
    1 – 4 Nov 2026'), then shorter ways to say it for a narrow tile, and its colour. Better or
    worse is said in words or ✓ ✗ too, never by the colour alone."""
    if data.previous is None:
        return [""], MUTED
    then = data.previous
    span = date_span(then.start, then.end, time_zone)
    if data.change is None:
        if len(data.value.per_currency) > 1:
            return ["Several currencies: no single change", "Several currencies"], MUTED
        previous = value_lines(then, fmt)[0]
        short = fmt.text(then.value, then.currency, compact=True)
        return [f"{span}: {previous}", f"Before: {previous}", f"Before: {short}"], MUTED
    if abs(data.change) < 0.05:
        return [f"= same as {span}", "= same"], MUTED
    up = data.change > 0
    good = up != fmt.lower_is_better
    arrow = "▲" if up else "▼"
    colour = STATUS_COLOURS["good"] if good else STATUS_COLOURS["bad"]
    change = f"{arrow} {number(abs(data.change), 1)} %"
    word = "better" if good else "worse"
    return [
        f"{change} {word} than {span}",
        f"{change} {word}",
        f"{change} {'✓' if good else '✗'}",
    ], colour


def compared_text(data: NumberData, time_zone: str) -> str:
    """What the change compares, for the tooltip: both ranges to the minute."""
    if data.previous is None:
        return ""
    now, then = data.value, data.previous
    return (
        f"{timestamp(now.start, time_zone)} – {timestamp(now.end, time_zone)}, compared with "
        f"{timestamp(then.start, time_zone)} – {timestamp(then.end, time_zone)}: the same "
        "part of the previous period"
    )


class NumberTile(Tile):
    """The value, its change against the previous period, and the target's colour. Money in
    several currencies shows one row per currency, the largest first."""

    can_export = False

    def make_body(self) -> QWidget:
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.value_label = FittedLabel("tileValue", least_points=11)
        self.value_label.set_forms("–")
        layout.addWidget(self.value_label)
        self.currency_rows = QWidget()
        self.currency_grid = QGridLayout(self.currency_rows)
        self.currency_grid.setContentsMargins(0, 0, 0, 0)
        self.currency_grid.setHorizontalSpacing(10)
        self.currency_grid.setVerticalSpacing(0)
        self.currency_rows.hide()
        layout.addWidget(self.currency_rows)
        self.change_label = FittedLabel("tileChange", least_points=7.5)
        layout.addWidget(self.change_label)
        self.target_label = FittedLabel("tileTarget", least_points=7.5)
        layout.addWidget(self.target_label)
        layout.addStretch(1)
        return body

    def show_data(self, data: NumberData) -> None:
        fmt = self.spec.format
        lines = value_lines(data.value, fmt)
        several = len(data.value.per_currency) > 1
        self.value_label.setVisible(not several)
        self.currency_rows.setVisible(several)
        self.change_label.setVisible(not several)
        self.target_label.setVisible(not several)
        self._several = None
        if several:
            self._show_currencies(data, fmt)
        else:
            value = data.value
            self.value_label.set_forms(
                lines[0], fmt.text(value.value, value.currency, compact=True)
            )
            forms, colour = change_forms(data, fmt, self.time_zone)
            self.change_label.set_forms(*forms)
            self.change_label.hint = compared_text(data, self.time_zone)
            self.change_label.setStyleSheet(f"color: {colour};")
        if self.spec.target is not None and not several:
            currency = data.value.currency
            target = fmt.text(self.spec.target, currency)
            short = fmt.text(self.spec.target, currency, compact=True)
            colour = STATUS_COLOURS.get(data.status or "", MUTED)
            self.target_label.set_forms(
                f"● Target {target}", f"● Target {short}", f"Target {short}"
            )
            self.target_label.setStyleSheet(f"color: {colour};")
        else:
            self.target_label.set_forms("")

    def _show_currencies(self, data: NumberData, fmt: Format) -> None:
        while self.currency_grid.count():
            item = self.currency_grid.takeAt(0)
            item.widget().deleteLater()
        self._several = (data, fmt)
        # A narrow tile puts each change under its amount, so that the amount keeps the width.
        self._stacked = stacked = self.body.width() < self.STACK_BELOW
        rows = sorted(data.value.per_currency.items(), key=_rough_size, reverse=True)
        compared = data.previous is not None
        lines = 2 if stacked and compared else 1
        row_height = (self.fontMetrics().height() + 4) * lines
        room = max(2, self.body.height() // row_height) if self.body.height() > 0 else 3
        shown = rows if len(rows) <= room else rows[: room - 1]
        previous = data.previous.per_currency if data.previous else {}
        for n, (currency, value) in enumerate(shown):
            amount = FittedLabel("tileCurrencyValue", least_points=7.5)
            amount.set_forms(fmt.text(value, currency), fmt.text(value, currency, compact=True))
            self.currency_grid.addWidget(amount, n * lines, 0)
            amount.show()  # now, not at the queued show of a widget added to a shown layout
            text, colour = _change(value, previous.get(currency), fmt, compared)
            if not text:
                continue
            change = plain_label(text, "tileChange")
            change.setStyleSheet(f"color: {colour};")
            if stacked:
                self.currency_grid.addWidget(change, n * lines + 1, 0)
            else:
                self.currency_grid.addWidget(change, n, 1)
            change.show()
        if len(shown) < len(rows):
            hidden = len(rows) - len(shown)
            more = FittedLabel("tileChange", least_points=7.5)
            more.set_forms(f"+ {hidden} more currencies", f"+ {hidden} more")
            more.setStyleSheet(f"color: {MUTED};")
            self.currency_grid.addWidget(more, len(shown) * lines, 0, 1, 2)
            more.show()
        self.currency_grid.setColumnStretch(0, 1)  # the amounts first; changes as they need
        self.currency_rows.setToolTip(
            "\n".join(
                f"{fmt.text(v, c)}   (previous {fmt.text(previous.get(c), c)})" for c, v in rows
            )
        )

    STACK_BELOW = 200  # px of body width under which a currency's change goes under it
    _several: tuple | None = None
    _stacked = False

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        narrow = self.body.width() < self.STACK_BELOW
        if self._several and self.currency_rows.isVisibleTo(self) and narrow != self._stacked:
            # After this layout pass: its items cannot be replaced while it runs.
            QTimer.singleShot(0, self, self._restack)

    def _restack(self) -> None:
        if self._several and (self.body.width() < self.STACK_BELOW) != self._stacked:
            self._show_currencies(*self._several)


def _rough_size(item) -> float:
    """Order currencies by size without exchange rates: a zero-decimal currency's unit is
    worth roughly a hundredth of the others' (JPY, KRW), which is enough to order them."""
    currency, value = item
    return (value or 0) / (100 if minor_unit_divisor(currency) == 1 else 1)


def _change(value, previous, fmt: Format, compared: bool) -> tuple[str, str]:
    if not compared:
        return "", MUTED
    if value is None or not previous:
        return "new" if value and not previous else "", MUTED
    change = (value - previous) / abs(previous) * 100
    if abs(change) < 0.05:
        return "=", MUTED
    up = change > 0
    colour = STATUS_COLOURS["good"] if up != fmt.lower_is_better else STATUS_COLOURS["bad"]
    return f"{'▲' if up else '▼'} {number(abs(change), 1)} %", colour


# --- gauge --------------------------------------------------------------------------------


class _GaugeDial(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.fraction = 0.0
        self.colour = QColor(MUTED)
        self.text = "–"
        self.short_text = ""  # the value abbreviated, for a narrow dial (its currency kept)
        self.caption = ""
        self.setMinimumSize(QSize(120, 70))

    def fitted_text(self, points: float) -> tuple[str, QFont]:
        """The value whole, smaller where it does not fit, else abbreviated: never cut."""
        font = QFont(self.font())
        font.setPointSizeF(points)
        font.setWeight(QFont.Weight.DemiBold)
        forms = [self.text, self.short_text] if self.short_text else [self.text]
        return fit_text(forms, font, self.width() - 8, 8.0)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = max(40, min(self.width() - 8, (self.height() - 22) * 2))
        thickness = max(8, side // 12)
        rect = QRectF(
            (self.width() - side) / 2 + thickness / 2,
            thickness / 2 + 2,
            side - thickness,
            side - thickness,
        )
        painter.setPen(_pen(QColor("#e2e8f0"), thickness))
        painter.drawArc(rect, 180 * 16, -180 * 16)
        painter.setPen(_pen(self.colour, thickness))
        painter.drawArc(rect, 180 * 16, int(-180 * 16 * min(max(self.fraction, 0.0), 1.0)))
        text, font = self.fitted_text(max(10.0, side / 11))
        painter.setFont(font)
        painter.setPen(QColor("#0f172a"))
        text_rect = QRectF(0, rect.center().y() - side / 5, self.width(), side / 5)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignCenter, text)
        small = QFont(self.font())
        small.setPointSizeF(8.5)
        painter.setFont(small)
        painter.setPen(QColor("#64748b"))
        painter.drawText(
            QRectF(0, rect.center().y() + 2, self.width(), 18),
            Qt.AlignmentFlag.AlignCenter,
            self.caption,
        )
        painter.end()


def _pen(colour: QColor, width: float) -> QPen:
    pen = QPen(colour, width)
    pen.setCapStyle(Qt.PenCapStyle.FlatCap)
    return pen


class GaugeTile(Tile):
    can_export = True

    def make_body(self) -> QWidget:
        self.dial = _GaugeDial()
        return self.dial

    def show_data(self, data: NumberData) -> None:
        fmt = self.spec.format
        lines = value_lines(data.value, fmt)
        self.dial.text = lines[0] if len(lines) == 1 else "Several currencies"
        value = data.value
        self.dial.short_text = (
            fmt.text(value.value, value.currency, compact=True) if len(lines) == 1 else ""
        )
        if self.spec.target is None:
            self.dial.fraction, self.dial.colour = 0.0, QColor(MUTED)
            self.dial.caption = "Set a target to fill the gauge"
        else:
            target = self.spec.target
            # Lower is better: the dial fills up to twice the target, red beyond it.
            scale = target * 2 if fmt.lower_is_better else target
            value = data.value.value or 0.0
            self.dial.fraction = value / scale if scale else 0.0
            self.dial.colour = QColor(STATUS_COLOURS.get(data.status or "", MUTED))
            self.dial.caption = f"Target {fmt.text(target, data.value.currency)}"
        self.dial.setToolTip("\n".join(lines))
        self.dial.update()


# --- charts -------------------------------------------------------------------------------


class ChartTile(Tile):
    """Line or area chart over time, optionally with the previous period dashed."""

    def make_body(self) -> QWidget:
        import pyqtgraph as pg

        self.pg = pg
        axis = pg.DateAxisItem(orientation="bottom", utcOffset=0)
        self.plot = self._new_plot({"bottom": axis})
        axis.tickStrings = _date_ticks
        # One level of dates: a month's tick and its first day's drew on top of each other;
        # and no more of them than fit side by side ("13 Dec18 Dec" on a narrow tile).
        levels = axis.tickValues
        room = QFontMetrics(axis.style["tickFont"] or self.font()).horizontalAdvance("28 Sep")
        axis.tickValues = lambda low, high, size: _spaced(
            _finest_level(levels(low, high, size)), size / max(high - low, 1), room + 18
        )
        self.legend = None
        self.hover_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#94a3b8", width=1))
        self.hover_line.hide()
        self.plot.addItem(self.hover_line, ignoreBounds=True)
        self.hover = pg.TextItem(
            color="#0f172a", fill=pg.mkBrush(255, 255, 255, 230), anchor=(0, 1)
        )
        self.hover.setZValue(10)
        self.hover.hide()
        self.plot.addItem(self.hover, ignoreBounds=True)
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.data: SeriesData | None = None
        self.xs: list[float] = []
        return self.plot

    def _new_plot(self, axis_items: dict):
        """A quiet plot for a tile: no menu, no zoom, muted axes, values in the format."""
        pg = self.pg
        plot = pg.PlotWidget(axisItems=axis_items, background="#ffffff")
        plot.setMinimumHeight(80)
        plot.showGrid(x=False, y=True, alpha=0.15)
        plot.getPlotItem().hideButtons()
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setTextPen(pg.mkPen("#64748b"))
            axis.setPen(pg.mkPen("#cbd5e1"))
        plot.getAxis("left").setWidth(56)
        plot.getAxis("left").tickStrings = self._value_ticks
        return plot

    def _value_ticks(self, values, scale, spacing):
        fmt = Format(self.spec.format.style, 0 if spacing >= 1 else self.spec.format.decimals)
        return [_short(v, fmt) for v in values]

    def show_data(self, data: SeriesData) -> None:
        pg = self.pg
        self.data = data
        self.plot.clear()
        self.plot.addItem(self.hover_line, ignoreBounds=True)
        self.plot.addItem(self.hover, ignoreBounds=True)
        offset = _utc_offset(self.time_zone, data.starts[0] if data.starts else 0)
        # DateAxisItem shows UTC: shift by the zone's offset so ticks read as local dates.
        self.xs = [s + offset for s in data.starts]
        area = self.spec.kind == "area"
        several = len(data.series) > 1
        if self.legend is None:
            self.legend = self.plot.addLegend(
                offset=(-8, 4),
                labelTextColor="#334155",
                brush=pg.mkBrush(255, 255, 255, 200),
                sampleType=_legend_sample(pg),
            )
        self.legend.clear()
        self.legend.setColumnCount(2 if len(data.series) > 2 else 1)
        self.legend.setVisible(several or bool(data.previous))
        for n, (currency, points) in enumerate(data.series.items()):
            colour = SERIES_COLOURS[n % len(SERIES_COLOURS)]
            ys = [math.nan if v is None else v for v in points]
            name = (currency or "").upper() or "This period"
            fill = dict(fillLevel=0, brush=pg.mkBrush(QColor(colour).lighter(185))) if area else {}
            self.plot.plot(
                self.xs, ys, pen=pg.mkPen(colour, width=2), name=name, connect="finite", **fill
            )
            old = data.previous.get(currency)
            if old:
                ys_old = [math.nan if v is None else v for v in old]
                self.plot.plot(
                    self.xs,
                    ys_old,
                    # The previous period in its own, quieter colour: dashes alone were easy
                    # to miss at a glance, and its colour was the current line's.
                    pen=pg.mkPen(PREVIOUS_COLOUR, width=1.5, style=Qt.PenStyle.DashLine),
                    name=f"{name} previous" if several else "Previous period",
                    connect="finite",
                )
        self.plot.enableAutoRange()
        values = [
            v
            for points in (*data.series.values(), *data.previous.values())
            for v in points
            if v is not None and math.isfinite(v)
        ]
        if values and min(values) >= 0:
            # Nothing below zero: the axis starts at 0, as Stripe's charts do, and a period
            # of zeros is a flat line at the bottom, not one between -0.4 and 0.4.
            self.plot.setYRange(0, max(values) or 1, padding=0.05)
        if self.xs:
            self.plot.setXRange(self.xs[0], self.xs[-1], padding=0.02)

    def _index_at(self, scene_pos) -> int | None:
        if not self.xs or not self.plot.sceneBoundingRect().contains(scene_pos):
            return None
        x = self.plot.getPlotItem().vb.mapSceneToView(scene_pos).x()
        return min(range(len(self.xs)), key=lambda i: abs(self.xs[i] - x))

    def hover_text(self, index: int) -> str:
        """The exact values at one bucket, as the hover shows them."""
        data = self.data
        zone = ZoneInfo(self.time_zone)
        day = dt.datetime.fromtimestamp(data.starts[index], zone)
        label = {
            "day": f"{day:%a} {day_text(day)}",
            "week": f"Week of {day_text(day)}",
            "month": f"{day:%B %Y}",
        }[data.bucket]
        lines = [label]
        fmt = self.spec.format
        for currency, points in data.series.items():
            line = fmt.text(points[index], currency)
            old = data.previous.get(currency)
            if old and old[index] is not None:
                line += f"   (previous {fmt.text(old[index], currency)})"
            lines.append(line)
        return "\n".join(lines)

    def _mouse_moved(self, scene_pos) -> None:
        index = self._index_at(scene_pos)
        if index is None:
            self.hover.hide()
            self.hover_line.hide()
            return
        self.hover_line.setPos(self.xs[index])
        self.hover_line.show()
        self.hover.setText(self.hover_text(index))
        self._place_hover(self.xs[index])

    def _place_hover(self, x: float) -> None:
        """The readout at the bottom of the plot, beside the point, on the side with room:
        the legend is at the top right, and the readout never covers it."""
        view = self.plot.getPlotItem().vb
        (left, right), (bottom, _top) = view.viewRange()
        right_half = x > (left + right) / 2
        self.hover.setAnchor((1, 1) if right_half else (0, 1))
        self.hover.setPos(x, bottom)
        self.hover.show()

    def leaveEvent(self, event) -> None:
        """The readout goes with the mouse (it stayed on screen, even after a slideshow)."""
        self.hover.hide()
        if hasattr(self, "hover_line"):
            self.hover_line.hide()
        super().leaveEvent(event)

    def hideEvent(self, event) -> None:
        self.hover.hide()
        super().hideEvent(event)

    def _clicked(self, event) -> None:
        if event.double():
            index = self._index_at(event.scenePos())
            self.drill_requested.emit(self.spec.id, index)
            event.accept()

    def mouseDoubleClickEvent(self, event) -> None:
        event.accept()  # the plot's scene answers double clicks with the point

    def export_png(self, path: str) -> bool:
        from pyqtgraph.exporters import ImageExporter

        exporter = ImageExporter(self.plot.getPlotItem())
        exporter.parameters()["width"] = max(800, self.plot.width() * 2)
        exporter.export(path)
        return _exists(path)


class BarTile(ChartTile):
    """Values grouped by a field, one bar each, largest first."""

    def make_body(self) -> QWidget:
        import pyqtgraph as pg

        self.pg = pg
        self.plot = self._new_plot({})
        self.hover = pg.TextItem(
            color="#0f172a", fill=pg.mkBrush(255, 255, 255, 230), anchor=(0, 1)
        )
        self.hover.setZValue(10)
        self.hover.hide()
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.rows: list = []
        self.xs = []
        self.legend = None
        return self.plot

    def show_data(self, data: GroupsData) -> None:
        pg = self.pg
        self.rows = data.rows
        self.plot.clear()
        self.plot.addItem(self.hover, ignoreBounds=True)
        self.xs = list(range(len(data.rows)))
        heights = [v or 0.0 for _g, _c, v in data.rows]
        brushes = [pg.mkBrush(SERIES_COLOURS[0]) for _ in data.rows]
        bars = pg.BarGraphItem(x=self.xs, height=heights, width=0.6, brushes=brushes, pen=None)
        self.plot.addItem(bars)
        ticks = [
            (i, _group_label(g, c, data.rows, self.spec.group_by))
            for i, (g, c, _v) in enumerate(data.rows)
        ]
        self.plot.getAxis("bottom").setTicks([ticks])
        self.plot.enableAutoRange()
        if self.xs:
            self.plot.setXRange(-0.6, len(self.xs) - 0.4, padding=0)

    def hover_text(self, index: int) -> str:
        group, currency, value = self.rows[index]
        return (
            f"{_group_label(group, currency, self.rows, self.spec.group_by)}\n"
            f"{self.spec.format.text(value, currency)}"
        )

    def _mouse_moved(self, scene_pos) -> None:
        index = self._index_at(scene_pos)
        if index is None:
            self.hover.hide()
            return
        self.hover.setText(self.hover_text(index))
        self._place_hover(self.xs[index])

    def _clicked(self, event) -> None:
        if event.double():
            index = self._index_at(event.scenePos())
            group = self.rows[index][0] if index is not None else None
            self.drill_requested.emit(self.spec.id, ("group", group) if index is not None else None)
            event.accept()


# --- table --------------------------------------------------------------------------------


class TableTile(Tile):
    """A leaderboard: the top groups by value."""

    def make_body(self) -> QWidget:
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["#", "", "Value"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.cellDoubleClicked.connect(self._row_double_clicked)
        self.rows: list = []
        return self.table

    def show_data(self, data: GroupsData) -> None:
        self.rows = data.rows
        self.table.setHorizontalHeaderLabels(["#", data.field_label, "Value"])
        for column, side in enumerate(
            (Qt.AlignmentFlag.AlignRight, Qt.AlignmentFlag.AlignLeft, Qt.AlignmentFlag.AlignRight)
        ):
            # Each heading over its column's text, not centred over it.
            self.table.horizontalHeaderItem(column).setTextAlignment(
                side | Qt.AlignmentFlag.AlignVCenter
            )
        self.table.setRowCount(len(data.rows))
        for n, (group, currency, value) in enumerate(data.rows):
            rank = QTableWidgetItem(str(n + 1))
            rank.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            name = QTableWidgetItem(_group_label(group, currency, data.rows, self.spec.group_by))
            amount = QTableWidgetItem(self.spec.format.text(value, currency))
            amount.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            for column, item in enumerate((rank, name, amount)):
                self.table.setItem(n, column, item)

    def _row_double_clicked(self, row: int, _column: int) -> None:
        self.drill_requested.emit(self.spec.id, ("group", self.rows[row][0]))


def _group_label(group, currency, rows, field: str | None = None) -> str:
    if group is None:
        text = "(empty)"
    elif group in (0, 1) and isinstance(group, int):
        text = "Yes" if group else "No"
    else:
        text = field_value_text(field, group, choice=field in CHOICE_KEYS)
    several = len({c for _g, c, _v in rows if c}) > 1
    return f"{text} · {currency.upper()}" if several and currency else text


def _short(value: float, fmt: Format) -> str:
    """Axis labels: 1.2k, 3.4M."""
    if value is None or not math.isfinite(value):
        return ""
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    if fmt.style == "percent":
        return f"{value:g} %"
    return f"{value:g}"


def _date_ticks(values, _scale, spacing) -> list[str]:
    """Dates on the time axis: '3 Nov' for days and weeks, 'Nov 2026' for months."""
    labels = []
    for value in values:
        moment = dt.datetime.fromtimestamp(value, dt.UTC)  # the x values are local wall time
        if spacing >= 28 * 86_400:  # short enough for a year of months side by side
            name = month(moment.month)
            labels.append(name if moment.month > 1 else f"{name} {moment:%y}")
        elif spacing >= 86_400:
            labels.append(day_and_month(moment.day, moment.month))
        else:
            labels.append(f"{moment:%H:%M}")
    return labels


def _finest_level(levels: list) -> list:
    """Of pyqtgraph's tick levels (months, days, ...), only the finest that has ticks."""
    for spacing, values in reversed(levels):
        if values:
            return [(spacing, values)]
    return levels


def _spaced(levels: list, pixels_per_unit: float, label_pixels: float) -> list:
    """Every n-th tick of a level, so that its labels (about label_pixels wide each) never
    touch: pyqtgraph spaces dates by its own, shorter, labels."""
    if len(levels) != 1:
        return levels
    ((spacing, values),) = levels
    gaps = [b - a for a, b in itertools.pairwise(values)]
    gap = min(gaps) if gaps else spacing  # months are not all as long as their spacing says
    step = max(1, math.ceil(label_pixels / max(gap * pixels_per_unit, 1e-9)))
    return [(spacing, values[::step])]  # the level's spacing: its labels say what it is


def _utc_offset(time_zone: str, seconds: int) -> int:
    moment = dt.datetime.fromtimestamp(seconds, ZoneInfo(time_zone))
    return int(moment.utcoffset().total_seconds())


def _exists(path: str) -> bool:
    import os

    return os.path.exists(path) and os.path.getsize(path) > 0


TILE_CLASSES = {
    "number": NumberTile,
    "gauge": GaugeTile,
    "line": ChartTile,
    "area": ChartTile,
    "bar": BarTile,
    "table": TableTile,
}


def make_tile(spec: WidgetSpec, time_zone: str, parent: QWidget | None = None) -> Tile:
    return TILE_CLASSES[spec.kind](spec, time_zone, parent)


@functools.cache
def _legend_sample(pg):
    """The legend's sample of a series: pyqtgraph's own, except that an area shows as its line
    over a block of its fill, not as pyqtgraph's triangle. Made once pyqtgraph is loaded (it is
    imported when the first chart is, not at start-up)."""

    class AreaSample(pg.ItemSample):
        def paint(self, painter, *args):
            opts = self.item.opts
            filled = opts.get("fillLevel") is not None and opts.get("fillBrush") is not None
            if not filled or not self.item.isVisible():
                super().paint(painter, *args)
                return
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(pg.mkBrush(opts["fillBrush"]))
            painter.drawRect(QRectF(1, 8, 19, 9))
            painter.setPen(pg.mkPen(opts["pen"]))
            painter.drawLine(QPointF(1, 8), QPointF(20, 8))

    return AreaSample
