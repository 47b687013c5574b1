"""Render resources/icons/ledgerboard.svg into the app icons installers need (.png, .ico, .icns).

Run after changing the SVG: `python packaging/make_icons.py`. Qt writes all three formats."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"


def render(size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(ICONS / "ledgerboard.svg")).render(painter)
    painter.end()
    return image


def main() -> int:
    QGuiApplication(sys.argv[:1])
    big = render(512)
    outputs = {
        ICONS / "ledgerboard.png": (render(256), "PNG"),
        ICONS / "ledgerboard.ico": (render(256), "ICO"),
        ICONS / "ledgerboard.icns": (big, "ICNS"),
    }
    for path, (image, kind) in outputs.items():
        if not image.save(str(path), kind):
            print(f"could not write {path}", file=sys.stderr)
            return 1
        print(f"wrote {path.name} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
