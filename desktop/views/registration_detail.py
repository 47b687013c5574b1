"""One registration as a card, as Stripe's own detail panel reads: labels and values, amounts
with their currency, dates in the user's format, Yes and No, ids to copy, and the stored object
below with its nested parts folded."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTreeWidget, QTreeWidgetItem

from desktop.views.formatting import CARD_BRANDS
from desktop.views.widgets import FittedTextDelegate, ShortTextRole, draw_placeholder

VALUE = 1
ValueRole = Qt.ItemDataRole.UserRole + 11  # the value as copied: an id whole


class RegistrationCard(QTreeWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("registrationCard")
        self.setColumnCount(2)
        self.setHeaderHidden(True)
        self.setAccessibleName("Registration details")
        self.setRootIsDecorated(True)
        self.setAlternatingRowColors(True)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)  # labels; values fit themselves
        self.setUniformRowHeights(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # Labels take at most half; values the rest, never behind a scrollbar, amounts
        # shorter or smaller rather than cut.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.header().setStretchLastSection(True)
        self.setItemDelegateForColumn(VALUE, FittedTextDelegate(self, least_points=8.5))
        self.setToolTip("Ctrl+C or right-click copies a value")
        self.placeholder = "Select a registration to see every field."
        self.clear_card()

    def clear_card(self) -> None:
        self.clear()
        self.viewport().update()  # the placeholder, drawn over the empty card

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self.topLevelItemCount():
            # Across the whole card, not in the labels' column cut to "Select a regi…".
            draw_placeholder(self.viewport(), self.placeholder, centred=False)

    def show_registration(self, livemode: bool, rows: list[tuple], obj: object) -> None:
        """`rows`: (label, value as shown, value as copied[, a shorter form]) for each field;
        `obj` the stored object, shown folded under them."""
        self.clear()
        self._add(self, "Mode", "Live" if livemode else "Sample (test mode)", None)
        for label, shown, raw, *short in rows:
            self._add(self, label, shown or "—", raw, short[0] if short else None)
        stored = QTreeWidgetItem(["Stored object", ""])
        self.addTopLevelItem(stored)
        self._add_json(stored, obj)
        stored.setExpanded(False)
        self._size_labels()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._size_labels()

    def _size_labels(self) -> None:
        labels = max(
            (
                self.fontMetrics().horizontalAdvance(self.topLevelItem(n).text(0))
                for n in range(self.topLevelItemCount())
            ),
            default=0,
        )
        self.header().resizeSection(0, min(labels + 40, self.viewport().width() // 2))

    def _add(self, parent, label: str, shown: str, raw, short: str | None = None):
        item = QTreeWidgetItem([label, shown])
        item.setToolTip(0, label)
        item.setToolTip(VALUE, shown)
        if short:
            item.setData(VALUE, ShortTextRole, short)
        item.setData(VALUE, ValueRole, shown if raw is None else str(raw))
        if isinstance(parent, QTreeWidget):
            parent.addTopLevelItem(item)
        else:
            parent.addChild(item)
        return item

    def _add_json(self, parent: QTreeWidgetItem, value) -> None:
        entries = value.items() if isinstance(value, dict) else enumerate(value)
        for key, inner in entries:
            label = str(key) if isinstance(value, dict) else f"[{key}]"
            if isinstance(inner, dict | list):
                count = len(inner)
                summary = (
                    f"{count} field{'s' * (count != 1)}"
                    if isinstance(inner, dict)
                    else (f"{count} item{'s' * (count != 1)}")
                )
                item = self._add(parent, label, summary if count else "empty", None)
                self._add_json(item, inner)  # folded until opened
            else:
                self._add(parent, label, json_text(label, inner), inner)

    def copy_current(self) -> None:
        item = self.currentItem()
        if item is not None and item.data(VALUE, ValueRole) is not None:
            QGuiApplication.clipboard().setText(item.data(VALUE, ValueRole))

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy_current()
            event.accept()
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event) -> None:
        item = self.itemAt(event.pos())
        if item is None:
            return
        self.setCurrentItem(item)
        menu = QMenu(self)
        menu.addAction("Copy value", self.copy_current)
        menu.exec(event.globalPos())

    def toPlainText(self) -> str:
        """Every row as 'Label: value', nested rows indented: what the card says."""
        lines: list[str] = []

        def walk(item: QTreeWidgetItem, depth: int) -> None:
            lines.append(f"{'  ' * depth}{item.text(0)}: {item.text(VALUE)}".rstrip(": "))
            for n in range(item.childCount()):
                walk(item.child(n), depth + 1)

        for n in range(self.topLevelItemCount()):
            walk(self.topLevelItem(n), 0)
        return "\n".join(lines)


def json_text(key: str, value) -> str:
    """A stored JSON value as read: Yes and No, an empty value as —, a card brand by name."""
    if value is None:
        return "—"
    if value is True or value is False:
        return "Yes" if value else "No"
    if key == "brand" and isinstance(value, str):
        return CARD_BRANDS.get(value, value)
    return str(value)
