"""Full-screen slideshow for a TV: one dashboard at a time, the next every N seconds.

Esc or a click on Close ends it; Left and Right step through the dashboards; Space pauses."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget
from shiboken6 import isValid

from desktop.views.dashboard_grid import DashboardGrid
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
        self.grid = DashboardGrid(editable=False)
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
        self.showFullScreen()
        self._show()

    def _show(self) -> None:
        if not self.ids:
            self.close()
            return
        dashboard_id = self.ids[self.index]
        dashboard = self.service.dashboard(dashboard_id)
        settings = self.service.settings(dashboard)
        self.title.setText(dashboard.title)
        self.position.setText(f"{self.index + 1} / {len(self.ids)}")
        specs = self.service.widgets(dashboard_id)
        tiles = {spec.id: make_tile(spec, self.time_zone) for spec in specs}
        self.grid.set_tiles(list(tiles.values()))
        self.timer.start(settings["slideshow_seconds"] * 1_000)

        def work(state):
            return self.service.refresh(dashboard_id, cancelled=state.cancelled)

        def done(results: dict) -> None:
            if not isValid(self) or self.closed:
                return  # closed while the values were computed
            if self.ids and self.ids[self.index] == dashboard_id:
                for widget_id, result in results.items():
                    if widget_id in self.grid.tiles:
                        self.grid.tiles[widget_id].set_result(result)

        self.runner.run(work, done, lambda _exc: None, key="refresh")

    def closeEvent(self, event) -> None:
        self.closed = True
        self.timer.stop()
        super().closeEvent(event)

    def next(self) -> None:
        if self.ids:
            self.index = (self.index + 1) % len(self.ids)
            self._show()

    def previous(self) -> None:
        if self.ids:
            self.index = (self.index - 1) % len(self.ids)
            self._show()

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            self.timer.stop()
            self.position.setText(f"{self.index + 1} / {len(self.ids)} · paused")
        else:
            self._show()
