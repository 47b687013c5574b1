"""Icons from the bundled SVGs, tinted to the colour the place needs."""

from __future__ import annotations

import functools

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from desktop.paths import resource_path

ICON_SIZES = (16, 20, 24, 32, 48)


@functools.cache
def themed_icon(name: str, color: str = "#334155") -> QIcon:
    """The icon `name` from resources/icons, with its strokes drawn in `color`."""
    svg = resource_path("icons", f"{name}.svg").read_text(encoding="utf-8")
    renderer = QSvgRenderer(QByteArray(svg.replace("currentColor", color).encode()))
    icon = QIcon()
    for size in ICON_SIZES:
        for ratio in (1, 2):
            pixmap = QPixmap(size * ratio, size * ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            renderer.render(painter, QRectF(0, 0, size * ratio, size * ratio))
            painter.end()
            pixmap.setDevicePixelRatio(ratio)
            icon.addPixmap(pixmap)
    return icon


@functools.cache
def app_icon() -> QIcon:
    return QIcon(str(resource_path("icons", "ledgerboard.svg")))
