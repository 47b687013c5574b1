"""A dashboard's grid: tiles placed on twelve columns, moved and resized with the mouse or the
keyboard, snapping to cells and pushing neighbours down instead of overlapping them."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QSize, Qt, Signal
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop.services.kpi.dashboards import GRID_COLUMNS, WidgetSpec
from desktop.views.dashboard_tiles import Tile

ROW_HEIGHT = 58
GAP = 12
MARGIN = 20
FIT_MAX_ROW_HEIGHT = 2 * ROW_HEIGHT  # a short dashboard on a TV grows, up to this


def height_for_rows(rows: int, row_height: float = ROW_HEIGHT) -> float:
    return 2 * MARGIN + rows * row_height + max(rows - 1, 0) * GAP


def rows_that_fit(height: int) -> int:
    """How many rows of the usual height a grid `height` pixels tall shows whole."""
    return max(1, int((height - 2 * MARGIN + GAP) // (ROW_HEIGHT + GAP)))


def split_into_pages(
    places: dict[int, tuple[int, int, int, int]], rows_per_page: int
) -> list[tuple[int, int]]:
    """Row ranges [first, end) of at most `rows_per_page` rows that no widget straddles, in
    order; a widget taller than a page gets a page of its own (scaled down to fit)."""
    end = max((y + h for _x, y, _w, h in places.values()), default=0)
    cuts = [
        row
        for row in range(1, end + 1)
        if not any(y < row < y + h for _x, y, _w, h in places.values())
    ]
    pages, first = [], 0
    while True:
        below = [y for _x, y, _w, _h in places.values() if y >= first]
        if not below:
            return pages or [(0, 0)]
        first = min(below)  # a page starts at its first widget, not at empty rows
        fitting = [c for c in cuts if first < c <= first + rows_per_page]
        last = fitting[-1] if fitting else min(c for c in cuts if c > first)
        pages.append((first, last))
        first = last


def arrange(
    places: dict[int, tuple[int, int, int, int]], moved: int
) -> dict[int, tuple[int, int, int, int]]:
    """Keep `moved` where it is; push the others down until nothing overlaps."""
    result = {moved: places[moved]}
    for widget_id, (x, y, w, h) in sorted(
        ((k, v) for k, v in places.items() if k != moved), key=lambda item: (item[1][1], item[1][0])
    ):
        while any(_overlap((x, y, w, h), other) for other in result.values()):
            y += 1
        result[widget_id] = (x, y, w, h)
    return result


def _overlap(a, b) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


class DashboardGrid(QWidget):
    placed = Signal(object)  # {widget id: (x, y, w, h)}; Signal(dict) would drop int keys

    def __init__(
        self, parent: QWidget | None = None, *, editable: bool = True, fit: bool = False
    ) -> None:
        """`fit`: rows share the grid's height (a slideshow's page), instead of the grid
        being as tall as its rows (a page that scrolls)."""
        super().__init__(parent)
        self.setObjectName("dashboardGrid")
        self.editable = editable
        self.fit = fit
        self.tiles: dict[int, Tile] = {}
        self.places: dict[int, tuple[int, int, int, int]] = {}
        self._drag: tuple[str, Tile, QPointF, tuple[int, int, int, int]] | None = None
        vertical = QSizePolicy.Policy.Ignored if fit else QSizePolicy.Policy.Minimum
        self.setSizePolicy(QSizePolicy.Policy.Ignored, vertical)

    # tiles

    def set_tiles(self, tiles: list[Tile]) -> None:
        for tile in self.tiles.values():
            tile.hide()
            tile.deleteLater()
        self.tiles = {}
        self.places = {}
        for tile in tiles:
            spec = tile.spec
            tile.setParent(self)
            self.tiles[spec.id] = tile
            self.places[spec.id] = (spec.x, spec.y, spec.w, spec.h)
            if self.editable:
                tile.move_started.connect(self._start_move)
                tile.resize_started.connect(self._start_resize)
                tile.arrange_requested.connect(self.nudge)
            tile.set_editable(self.editable)
            tile.show()
        self._layout()

    def cell_width(self) -> float:
        return max(20.0, (self.width() - 2 * MARGIN - GAP * (GRID_COLUMNS - 1)) / GRID_COLUMNS)

    def row_height(self) -> float:
        rows = self.rows()
        if not self.fit or not rows:
            return ROW_HEIGHT
        room = (self.height() - 2 * MARGIN - GAP * (rows - 1)) / rows
        return max(8.0, min(room, FIT_MAX_ROW_HEIGHT))

    def rect_for(self, place: tuple[int, int, int, int]) -> QRect:
        x, y, w, h = place
        cell = self.cell_width()
        row = self.row_height()
        return QRect(
            round(MARGIN + x * (cell + GAP)),
            round(MARGIN + y * (row + GAP)),
            round(w * cell + (w - 1) * GAP),
            round(h * row + (h - 1) * GAP),
        )

    def rows(self) -> int:
        return max((y + h for _x, y, _w, h in self.places.values()), default=0)

    def sizeHint(self) -> QSize:
        return QSize(900, self._height())

    def minimumSizeHint(self) -> QSize:
        return QSize(200, 0 if self.fit else self._height())

    def _height(self) -> int:
        return round(height_for_rows(self.rows()))

    def _layout(self) -> None:
        for widget_id, tile in self.tiles.items():
            if self._drag and self._drag[1] is tile:
                continue
            tile.setGeometry(self.rect_for(self.places[widget_id]))
        if not self.fit:
            self.setMinimumHeight(self._height())
        self.updateGeometry()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._layout()

    def layout_now(self) -> None:
        """Tiles in place now (a scroll to one needs where it is)."""
        parent = self.parentWidget()
        if parent is not None and parent.layout() is not None:
            parent.layout().activate()
        self._layout()

    # moving and resizing

    def place(self, widget_id: int, x: int, y: int, w: int, h: int) -> None:
        """Put a widget at a cell (clamped to the grid), push the others, and tell."""
        w = min(max(w, 1), GRID_COLUMNS)
        h = min(max(h, 1), 12)
        x = min(max(x, 0), GRID_COLUMNS - w)
        y = max(y, 0)
        places = dict(self.places)
        places[widget_id] = (x, y, w, h)
        arranged = arrange(places, widget_id)
        changed = {k: v for k, v in arranged.items() if self.places.get(k) != v}
        self.places = arranged
        for widget_id_, place in changed.items():
            spec = self.tiles[widget_id_].spec
            self.tiles[widget_id_].spec = _with_place(spec, place)
        self._layout()
        if changed:
            self.placed.emit(changed)

    def nudge(self, widget_id: int, dx: int = 0, dy: int = 0, dw: int = 0, dh: int = 0) -> None:
        x, y, w, h = self.places[widget_id]
        self.place(widget_id, x + dx, y + dy, w + dw, h + dh)

    def _start_move(self, tile: Tile, pos: QPointF) -> None:
        self._drag = ("move", tile, pos, self.places[tile.spec.id])
        tile.raise_()
        self.grabMouse(Qt.CursorShape.ClosedHandCursor)

    def _start_resize(self, tile: Tile, pos: QPointF) -> None:
        self._drag = ("resize", tile, pos, self.places[tile.spec.id])
        tile.raise_()
        self.grabMouse(Qt.CursorShape.SizeFDiagCursor)

    def mouseMoveEvent(self, event) -> None:
        if not self._drag:
            return
        kind, tile, start, place = self._drag
        delta = event.position() - start
        rect = self.rect_for(place)
        if kind == "move":
            rect.translate(round(delta.x()), round(delta.y()))
        else:
            rect.setWidth(max(60, rect.width() + round(delta.x())))
            rect.setHeight(max(ROW_HEIGHT, rect.height() + round(delta.y())))
        tile.setGeometry(rect)

    def mouseReleaseEvent(self, event) -> None:
        if not self._drag:
            return
        kind, tile, start, (x, y, w, h) = self._drag
        self._drag = None
        self.releaseMouse()
        delta = event.position() - start
        cell_x = self.cell_width() + GAP
        cell_y = ROW_HEIGHT + GAP
        if kind == "move":
            self.place(
                tile.spec.id, x + round(delta.x() / cell_x), y + round(delta.y() / cell_y), w, h
            )
        else:
            self.place(
                tile.spec.id, x, y, w + round(delta.x() / cell_x), h + round(delta.y() / cell_y)
            )


def _with_place(spec: WidgetSpec, place: tuple[int, int, int, int]) -> WidgetSpec:
    from dataclasses import replace

    x, y, w, h = place
    return replace(spec, x=x, y=y, w=w, h=h)
