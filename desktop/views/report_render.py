"""A report drawn from the dashboard's own tiles, offscreen: PDF (vector) and PNG.

The tiles are the ones the dashboards page shows, laid out by the same grid, so a report looks
like the screen. For PDF each tile is painted through QWidget.render onto the PDF writer's
painter: text stays text and charts stay lines. A page holds one screen of widgets (rows are
never cut), under a header with the title, the period, the time zone and the last sync.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QMarginsF, QPoint, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter
from PySide6.QtWidgets import QGraphicsView, QWidget

from desktop.services.kpi.dashboards import NumberData, WidgetSpec
from desktop.services.kpi.reports import ReportData
from desktop.views.dashboard_grid import GAP, MARGIN, ROW_HEIGHT, DashboardGrid, arrange
from desktop.views.dashboard_tiles import make_tile

WIDTH = 1280  # the grid's width in pixels: a wide screen's worth of widgets per row
HEADER = 78
FOOTER = 28
BACKGROUND = QColor("#f8fafc")
TILE_CHROME = 56  # a tile's margins and title row, in pixels
CURRENCY_LINE = 24  # one currency's line of a number tile, with room to spare


def draw_report(report: ReportData, format: str, path: Path) -> None:
    """The drawing a ReportsService asks for: 'pdf' or 'png' at `path`."""
    grid = build_grid(report)
    try:
        if format == "pdf":
            write_pdf(report, grid, path)
        else:
            write_png(report, grid, path)
    finally:
        grid.deleteLater()


def build_grid(report: ReportData) -> DashboardGrid:
    """The report's tiles with their values, laid out at WIDTH, never shown on a screen."""
    grid = DashboardGrid(editable=False)
    grid.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    tiles = [make_tile(spec, report.time_zone) for spec in _room_for_every_currency(report)]
    grid.set_tiles(tiles)
    grid.resize(WIDTH, grid.sizeHint().height())
    grid.show()  # not on screen: lays out and polishes the tiles, as a shown page would
    for tile in tiles:
        tile.menu_button.hide()  # paper has no menus
        for view in tile.findChildren(QGraphicsView):
            # pyqtgraph caches a chart's background as a bitmap; a PDF wants it drawn as lines
            view.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)
        result = report.results.get(tile.spec.id)
        if result is not None:
            tile.set_result(result)
    # Rows a tile adds while it shows a result (one per currency) show themselves through a
    # posted event; deliver it now, as the event loop would before the next paint.
    QCoreApplication.sendPostedEvents()
    for tile in tiles:
        layout = tile.layout()
        if layout is not None:
            layout.activate()
    return grid


def _room_for_every_currency(report: ReportData) -> list[WidgetSpec]:
    """On screen a number in many currencies shows the largest and '+ 3 more'; paper cannot
    be hovered, so its tile grows until every currency has a line, pushing the others down."""
    places = {spec.id: (spec.x, spec.y, spec.w, spec.h) for spec in report.specs}
    for spec in sorted(report.specs, key=lambda s: (s.y, s.x)):
        result = report.results.get(spec.id)
        data = result.data if result is not None else None
        if spec.kind != "number" or not isinstance(data, NumberData):
            continue
        lines = len(data.value.per_currency)
        if lines <= 1:
            continue
        needed = TILE_CHROME + lines * CURRENCY_LINE
        rows = math.ceil((needed + GAP) / (ROW_HEIGHT + GAP))
        x, y, w, h = places[spec.id]
        if rows > h:
            places[spec.id] = (x, y, w, rows)
            places = arrange(places, spec.id)
    return [
        replace(spec, x=p[0], y=p[1], w=p[2], h=p[3])
        for spec, p in ((s, places[s.id]) for s in report.specs)
    ]


def pages(grid: DashboardGrid, page_height: float) -> list[list[int]]:
    """Widget ids per page: rows fill a page until the next widget would not fit."""
    order = sorted(grid.places, key=lambda i: (grid.places[i][1], grid.places[i][0]))
    result: list[list[int]] = []
    top: int | None = None
    for widget_id in order:
        rect = grid.rect_for(grid.places[widget_id])
        if top is None or (rect.bottom() - top > page_height and rect.top() > top):
            result.append([])
            top = rect.top()
        result[-1].append(widget_id)
    return result or [[]]


def _paint_page(
    painter: QPainter,
    report: ReportData,
    grid: DashboardGrid,
    ids: list[int],
    size: tuple[float, float],
    number: int,
    count: int,
) -> None:
    width, height = size
    painter.fillRect(QRectF(0, 0, width, height), BACKGROUND)
    title_font = QFont(painter.font())
    title_font.setPointSizeF(18)
    title_font.setBold(True)
    painter.setFont(title_font)
    painter.setPen(QColor("#0f172a"))
    painter.drawText(
        QRectF(MARGIN, 14, width - 2 * MARGIN, 30), Qt.AlignmentFlag.AlignLeft, report.title
    )
    small = QFont(painter.font())
    small.setPointSizeF(9.5)
    small.setBold(False)
    painter.setFont(small)
    painter.setPen(QColor("#475569"))
    line = f"{report.period_text}   ·   Time zone: {report.time_zone}   ·   {report.last_sync_text}"
    painter.drawText(QRectF(MARGIN, 48, width - 2 * MARGIN, 20), Qt.AlignmentFlag.AlignLeft, line)
    if count > 1:
        painter.drawText(
            QRectF(MARGIN, height - FOOTER, width - 2 * MARGIN, 20),
            Qt.AlignmentFlag.AlignRight,
            f"Page {number} of {count}",
        )
    if not ids:
        painter.drawText(
            QRectF(MARGIN, HEADER + 20, width, 20), Qt.AlignmentFlag.AlignLeft, "No widgets."
        )
        return
    top = min(grid.rect_for(grid.places[i]).top() for i in ids) - MARGIN
    for widget_id in ids:
        tile: QWidget = grid.tiles[widget_id]
        rect = grid.rect_for(grid.places[widget_id])
        tile.render(painter, QPoint(rect.left(), rect.top() - top + HEADER - GAP))


def write_pdf(report: ReportData, grid: DashboardGrid, path: Path) -> int:
    """The report as a vector PDF, A4 landscape; returns the number of pages."""
    writer = QPdfWriter(str(path))
    writer.setTitle(f"{report.title} – {report.period_text}")
    writer.setCreator("Ledgerboard")
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Landscape,
            QMarginsF(0, 0, 0, 0),
        )
    )
    writer.setResolution(300)
    scale = writer.width() / WIDTH
    page_height = writer.height() / scale
    groups = pages(grid, page_height - HEADER - FOOTER)
    painter = QPainter(writer)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for number, ids in enumerate(groups, start=1):
            if number > 1:
                writer.newPage()
            painter.save()
            painter.scale(scale, scale)
            _paint_page(painter, report, grid, ids, (WIDTH, page_height), number, len(groups))
            painter.restore()
    finally:
        painter.end()
    return len(groups)


def write_png(report: ReportData, grid: DashboardGrid, path: Path, ratio: float = 2.0) -> None:
    """The whole report as one image at twice the screen's pixels."""
    height = HEADER + grid.height() - MARGIN
    image = QImage(round(WIDTH * ratio), round(height * ratio), QImage.Format.Format_ARGB32)
    image.setDevicePixelRatio(ratio)
    image.fill(BACKGROUND)
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        _paint_page(painter, report, grid, list(grid.tiles), (WIDTH, height), 1, 1)
    finally:
        painter.end()
    if not image.save(str(path), "PNG"):
        raise OSError(f"the image could not be written to {path}")
