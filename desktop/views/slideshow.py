"""Full-screen slideshow for a TV: one dashboard at a time, the next every N seconds.

A dashboard taller than the screen is split into pages between its rows, and each page is
scaled to fill the screen: nothing scrolls, nothing is cut, and no editing control shows.
Esc or a click on Close ends it; Left and Right step through the pages; Space pauses."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget
from shiboken6 import isValid

from desktop.views.dashboard_grid import DashboardGrid, rows_that_fit, split_into_pages
from desktop.views.dashboard_tiles import make_tile
from desktop.views.widgets import plain_label


class Slideshow(QWidget):
    def __init__(self, service, runner, time_zone: str) -> None:
        super().__init__(None, Qt.WindowType.Window)
        self.setObjectName("slideshow")
        self.setWindowTitle("Ledgerboard slideshow")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.service = service
        self.runner = runner.for_view(self)
        self.time_zone = time_zone
        self.ids: list[int] = []
        self.index = 0
        self.pages: list[tuple[int, int]] = [(0, 0)]  # row ranges of the dashboard shown
        self.page = 0
        self._results: tuple[int, dict] = (0, {})  # the last values, for a page turn
        self.paused = False
        self.closed = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        top = QHBoxLayout()
        self.title = plain_label("", "slideshowTitle")
        top.addWidget(self.title, 1)
        self.position = plain_label("", "slideshowPosition")
        top.addWidget(self.position)
        close = QPushButton("Close (Esc)")
        close.clicked.connect(self.close)
        top.addWidget(close)
        layout.addLayout(top)
        self.grid = DashboardGrid(editable=False, fit=True)
        layout.addWidget(self.grid, 1)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.next)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def keyPressEvent(self, event) -> None:
        actions = {
            Qt.Key.Key_Escape: self.close,
            Qt.Key.Key_Right: self.next,
            Qt.Key.Key_Left: self.previous,
            Qt.Key.Key_Space: self.toggle_pause,
        }
        action = actions.get(event.key())
        if action is None:
            super().keyPressEvent(event)
            return
        action()
        event.accept()

    def show_dashboard(self, dashboard_id: int | None) -> None:
        self.ids = [d.id for d in self.service.dashboards()]
        self.index = self.ids.index(dashboard_id) if dashboard_id in self.ids else 0
        self.page = 0
        self.showFullScreen()
        self._show()

    def grid_height(self) -> int:
        """The grid's height on the full screen (known before the window manager sized it)."""
        layout = self.layout()
        margins = layout.contentsMargins()
        top = layout.itemAt(0).sizeHint().height() + layout.spacing()
        return self.screen().geometry().height() - margins.top() - margins.bottom() - top

    def _show(self) -> None:
        if not self.ids:
            self.close()
            return
        dashboard_id = self.ids[self.index]
        dashboard = self.service.dashboard(dashboard_id)
        settings = self.service.settings(dashboard)
        self.title.setText(dashboard.title)
        specs = self.service.widgets(dashboard_id)
        places = {spec.id: (spec.x, spec.y, spec.w, spec.h) for spec in specs}
        self.pages = split_into_pages(places, rows_that_fit(self.grid_height()))
        self.page = min(self.page, len(self.pages) - 1)
        first, end = self.pages[self.page]
        self.position.setText(self._position_text())
        shown = [replace(s, y=s.y - first) for s in specs if first <= s.y < end]
        tiles = {spec.id: make_tile(spec, self.time_zone) for spec in shown}
        self.grid.set_tiles(list(tiles.values()))
        if self._results[0] == dashboard_id:
            self._set_results(self._results[1])
        self.timer.start(settings["slideshow_seconds"] * 1_000)

        def work(state):
            return self.service.refresh(dashboard_id, cancelled=state.cancelled)

        def done(results: dict) -> None:
            if not isValid(self) or self.closed:
                return  # closed while the values were computed
            self._results = (dashboard_id, results)
            if self.ids and self.ids[self.index] == dashboard_id:
                self._set_results(results)

        self.runner.run(work, done, lambda _exc: None, key="refresh")

    def _set_results(self, results: dict) -> None:
        for widget_id, result in results.items():
            if widget_id in self.grid.tiles:
                self.grid.tiles[widget_id].set_result(result)

    def _position_text(self) -> str:
        text = f"{self.index + 1} / {len(self.ids)}"
        if len(self.pages) > 1:
            text += f" · page {self.page + 1} of {len(self.pages)}"
        return text + (" · paused" if self.paused else "")

    def closeEvent(self, event) -> None:
        self.closed = True
        self.timer.stop()
        super().closeEvent(event)

    def next(self) -> None:
        """The dashboard's next page, or the next dashboard's first."""
        if not self.ids:
            return
        if self.page + 1 < len(self.pages):
            self.page += 1
        else:
            self.index, self.page = (self.index + 1) % len(self.ids), 0
        self._show()

    def previous(self) -> None:
        if not self.ids:
            return
        if self.page > 0:
            self.page -= 1
        else:
            self.index, self.page = (self.index - 1) % len(self.ids), 0
        self._show()

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            self.timer.stop()
            self.position.setText(self._position_text())
        else:
            self._show()
