"""Small building blocks shared by the pages: headers, empty states, buttons."""

from __future__ import annotations

import html
import math

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QBoxLayout,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProxyStyle,
    QPushButton,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionHeader,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktop.views.icons import themed_icon


def plain_label(text: str = "", object_name: str = "") -> QLabel:
    """A QLabel that never interprets its text as rich text (Stripe's text is shown as is)."""
    return _made_plain(QLabel(), text, object_name)


def plain_tooltip(text: str) -> str:
    """A tooltip that shows `text` as it is: Qt takes a tooltip that looks like HTML for HTML."""
    return f"<qt>{html.escape(text)}</qt>" if text else ""


FORM_LABEL_WIDTH = 140  # px: every settings card's labels, so their fields line up
FORM_FIELD_WIDTH = 340  # px: the width of a settings card's text fields and lists


def card_form() -> QFormLayout:
    """The form of a settings card: fields at their own width, labels on the left."""
    form = QFormLayout()
    form.setContentsMargins(0, 8, 0, 0)
    form.setHorizontalSpacing(24)
    form.setVerticalSpacing(10)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return form


def form_label(text: str) -> QLabel:
    """A settings card's row label, as wide in every card."""
    label = plain_label(text)
    label.setFixedWidth(FORM_LABEL_WIDTH)
    return label


PLACEHOLDER_COLOUR = "#64748b"  # an empty list's words: 4.8:1 on white


def draw_placeholder(viewport: QWidget, text: str, *, centred: bool = True) -> None:
    """Words over an empty list or card (what would show there, how to get some), wrapped
    across its whole width; call from the view's paintEvent while it has no rows."""
    painter = QPainter(viewport)
    painter.setPen(QColor(PLACEHOLDER_COLOUR))
    area = viewport.rect().adjusted(24, 16, -24, -16)
    vertical = Qt.AlignmentFlag.AlignVCenter if centred else Qt.AlignmentFlag.AlignTop
    flags = Qt.AlignmentFlag.AlignHCenter | vertical | Qt.TextFlag.TextWordWrap
    painter.drawText(area, int(flags), text)


def _made_plain(label: QLabel, text: str, object_name: str) -> QLabel:
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    if object_name:
        label.setObjectName(object_name)
    return label


class ElidedLabel(QLabel):
    """Plain text on one line that ends in "…" where it does not fit, so that it gives up its
    room before the widgets beside it do; the whole text is its tooltip when it is cut."""

    mode = Qt.TextElideMode.ElideRight  # ElideMiddle for a folder's path

    def __init__(self, text: str = "", object_name: str = "") -> None:
        super().__init__()
        _made_plain(self, text, object_name)
        self.hint = ""  # the tooltip while the text is whole

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        area = self.contentsRect()
        metrics = self.fontMetrics()
        shown = metrics.elidedText(self.text(), self.mode, area.width())
        self.setToolTip(self.hint if shown == self.text() else self.text())
        QPainter(self).drawText(area, int(self.alignment()), shown)


class WrappedTitle(ElidedLabel):
    """Plain text on one line where it fits, else on up to three, broken between words
    (before a " · " first, so that a qualifier such as "· settlement currency" starts a line),
    at down to 85 % of the font's size where the lines need it; only then does the last end
    in "…". A tile's title keeps its end at widths where one line would cut it."""

    LINES = 3
    SMALLEST = 0.85

    def __init__(self, text: str = "", object_name: str = "") -> None:
        super().__init__(text, object_name)
        policy = self.sizePolicy()
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def layout_in(self, width: int) -> tuple[QFont, list[str]]:
        """The font and the lines the text is drawn in, in `width`."""
        base = self.font()
        points = base.pointSizeF()
        scale = 1.0
        while True:
            font = QFont(base)
            font.setPointSizeF(points * scale)
            lines = self._lines(QFontMetricsF(font), width)
            if len(lines) == 1 or " ".join(lines) == self.text() or scale <= self.SMALLEST:
                return font, lines
            scale = max(self.SMALLEST, scale - 0.05)

    def _lines(self, metrics: QFontMetricsF, width: int) -> list[str]:
        text = self.text()
        if metrics.horizontalAdvance(text) <= width:
            return [text]
        name, dot, qualifier = text.partition(" · ")
        if dot:  # the name, then its qualifier, each on its lines
            lines = self._wrapped(metrics, name, width, self.LINES - 1)
            lines += self._wrapped(metrics, f"· {qualifier}", width, self.LINES - len(lines))
            if " ".join(lines) == text:
                return lines
        return self._wrapped(metrics, text, width, self.LINES)

    @staticmethod
    def _wrapped(metrics: QFontMetricsF, text: str, width: int, most: int) -> list[str]:
        """Words on up to `most` lines, the last ending in "…" where they do not fit."""
        words, lines = text.split(" "), []
        while words and len(lines) < most - 1:
            line, taken = words[0], 1
            while taken < len(words) and (
                metrics.horizontalAdvance(f"{line} {words[taken]}") <= width
            ):
                line, taken = f"{line} {words[taken]}", taken + 1
            if metrics.horizontalAdvance(line) > width:
                break  # a word longer than a line: the rest is cut below
            lines.append(line)
            words = words[taken:]
        if words:
            lines.append(metrics.elidedText(" ".join(words), Qt.TextElideMode.ElideRight, width))
        return lines

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        margins = self.contentsMargins()
        font, lines = self.layout_in(width - margins.left() - margins.right())
        spacing = math.ceil(QFontMetricsF(font).lineSpacing())
        return spacing * len(lines) + margins.top() + margins.bottom()

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(hint.width(), self.heightForWidth(self.width() or hint.width()))

    def paintEvent(self, event: QPaintEvent) -> None:
        area = self.contentsRect()
        font, lines = self.layout_in(area.width())
        self.setToolTip(self.hint if " ".join(lines) == self.text() else self.text())
        painter = QPainter(self)
        painter.setFont(font)
        height = math.ceil(QFontMetricsF(font).lineSpacing())
        top = area.top() + max(0, (area.height() - height * len(lines)) // 2)
        for n, line in enumerate(lines):
            painter.drawText(
                area.left(), top + n * height, area.width(), height,
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), line,
            )  # fmt: skip

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.updateGeometry()  # one line or two: the layout asks again


def fit_text(forms: list[str], base: QFont, width: float, least_points: float) -> tuple[str, QFont]:
    """The first of `forms` that fits `width` whole, at the largest size that fits: each
    form down to 85% of the base size (a shorter form at about the same size reads better
    than a long one made small), the last down to `least_points`."""
    points = base.pointSizeF()
    for n, form in enumerate(forms):
        least = least_points if n == len(forms) - 1 else max(least_points, points * 0.85)
        size = points
        while True:
            font = QFont(base)
            font.setPointSizeF(size)
            if QFontMetricsF(font).horizontalAdvance(form) <= width:
                return form, font
            if size <= least:
                break
            size = max(least, size - 0.5)
    return forms[-1], font  # too narrow for any: the shortest, as small as allowed


ShortTextRole = Qt.ItemDataRole.UserRole + 7  # a cell's shorter form (an abbreviated amount)


class FittedTextDelegate(QStyledItemDelegate):
    """Cells whose text is never cut (amounts): when the column is too narrow for the text,
    its shorter form (ShortTextRole: 28.3k USD), then a smaller font, as FittedLabel."""

    PADDING = 12  # the theme's cell padding, both sides

    def __init__(self, parent=None, least_points: float = 7.0) -> None:
        super().__init__(parent)
        self.least_points = least_points

    def fitted(self, option, index) -> tuple[str, QFont]:
        """What the cell shows in this room: its text, shorter, or smaller."""
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        short = index.data(ShortTextRole)
        forms = [text, short] if short and short != text else [text]
        room = option.rect.width() - self.PADDING
        return fit_text(forms, option.font, room, self.least_points)

    def paint(self, painter: QPainter, option, index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text, opt.font = self.fitted(opt, index)
        fits = QFontMetricsF(opt.font).horizontalAdvance(opt.text) <= opt.rect.width() - 12
        # Too long even so (an id in a narrow pane): both its ends, not a cut-off tail.
        opt.textElideMode = Qt.TextElideMode.ElideNone if fits else Qt.TextElideMode.ElideMiddle
        style = opt.widget.style() if opt.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)


class FittedLabel(QLabel):
    """A number that is never cut: one line at the stylesheet's size when it fits, else at a
    smaller size (down to `least_points`), else its shorter forms in turn (an abbreviated
    number, its currency kept), each shown whole. The full text is the tooltip when it is
    not shown as it is."""

    def __init__(self, object_name: str = "", least_points: float = 9.0) -> None:
        super().__init__()
        _made_plain(self, "", object_name)
        self.least_points = least_points
        self.forms: list[str] = [""]
        self.hint = ""  # the tooltip while the text is shown whole

    def set_forms(self, *forms: str) -> None:
        """The text, then shorter ways to say the same (each keeps its unit)."""
        self.forms = [f for f in forms if f] or [""]
        self.setText(self.forms[0])
        self.setAccessibleName(self.forms[0])
        self.update()

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def fitted(self) -> tuple[str, QFont]:
        """What is painted: the first form that fits whole, at the largest size that fits."""
        return fit_text(self.forms, self.font(), self.contentsRect().width(), self.least_points)

    def paintEvent(self, event: QPaintEvent) -> None:
        shown, font = self.fitted()
        whole = shown == self.forms[0] and font.pointSizeF() == self.font().pointSizeF()
        cut = "" if whole else self.forms[0]
        self.setToolTip("\n".join(t for t in (cut, self.hint) if t))
        painter = QPainter(self)
        painter.setFont(font)
        painter.drawText(self.contentsRect(), int(self.alignment()), shown)


class SortArrowStyle(QProxyStyle):
    """Fusion, with a column's sort arrow pointing the way its values go: down (▼) for
    newest or largest first (Qt hands Fusion the opposite, ▲ for descending), and dialog
    buttons in words only (a floppy disk and a red X where an icon theme has them)."""

    def styleHint(self, hint, option=None, widget=None, returnData=None) -> int:
        if hint == QStyle.StyleHint.SH_DialogButtonBox_ButtonsHaveIcons:
            return 0
        return super().styleHint(hint, option, widget, returnData)

    def drawPrimitive(self, element, option, painter, widget=None) -> None:
        if element == QStyle.PrimitiveElement.PE_IndicatorHeaderArrow and isinstance(
            option, QStyleOptionHeader
        ):
            flipped = QStyleOptionHeader(option)
            up, down = (
                QStyleOptionHeader.SortIndicator.SortUp,
                QStyleOptionHeader.SortIndicator.SortDown,
            )
            if option.sortIndicator == up:
                flipped.sortIndicator = down
            elif option.sortIndicator == down:
                flipped.sortIndicator = up
            option = flipped
        super().drawPrimitive(element, option, painter, widget)


def primary_accept(box) -> None:
    """A dialog's Save / OK in the app's primary colour, as the wizard's Next."""
    for button in box.buttons():
        if box.buttonRole(button) == box.ButtonRole.AcceptRole:
            button.setProperty("primary", True)
            button.style().unpolish(button)
            button.style().polish(button)


def documents_path(file_name: str = "") -> str:
    """Where a file dialog starts: the user's documents (their home where there are none),
    never the folder the program runs from."""
    from pathlib import Path

    from PySide6.QtCore import QStandardPaths

    folder = QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.DocumentsLocation
    ) or str(Path.home())
    return str(Path(folder) / file_name) if file_name else folder


def primary_button(text: str, icon: str | None = None) -> QPushButton:
    button = QPushButton(text)
    button.setProperty("primary", True)
    if icon:
        button.setIcon(themed_icon(icon, "#ffffff"))
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    return button


class _RowOrColumn(QFrame):
    """Items side by side when their widths fit, else one under another, each at the left
    (`stacked`): arranged again on every resize and layout request. A subclass says what
    widths its items need (`_widths`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)

    @property
    def stacked(self) -> bool:
        return self._layout.direction() == QBoxLayout.Direction.TopToBottom

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._arrange()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:  # an item shown, hidden or resized
            self._arrange()
        return super().event(event)

    def _widths(self) -> list[int]:
        raise NotImplementedError

    def _arrange(self) -> None:
        box, widths = self._layout, self._widths()
        margins = box.contentsMargins()
        beside = margins.left() + sum(widths) + box.spacing() * (len(widths) - 1)
        beside += margins.right()
        direction = (
            QBoxLayout.Direction.TopToBottom
            if self.width() < beside
            else QBoxLayout.Direction.LeftToRight
        )
        if box.direction() != direction:
            box.setDirection(direction)
            for index in range(box.count()):
                widget = box.itemAt(index).widget()
                if widget is not None:
                    box.setAlignment(widget, Qt.AlignmentFlag.AlignLeft)
            box.activate()  # laid out again now, not at a later request that may not come


class PageHeader(_RowOrColumn):
    """Title, subtitle and the page's actions: on the right, or in a row of their own under
    the title when the window is too narrow for both side by side (`stacked`)."""

    # What the subtitle keeps beside the actions (it ends in "…" when cut) before they move.
    SUBTITLE_ROOM = 160

    def __init__(self, title: str, subtitle: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pageHeader")
        layout = self._layout
        layout.setContentsMargins(28, 18, 28, 16)
        layout.setSpacing(12)
        self._texts = texts = QVBoxLayout()
        texts.setSpacing(2)
        self.title = plain_label(title, "pageTitle")
        texts.addWidget(self.title)
        self.subtitle = ElidedLabel(subtitle, "pageSubtitle")
        self.subtitle.setVisible(bool(subtitle))
        texts.addWidget(self.subtitle)
        layout.addLayout(texts, 1)
        self.actions = QHBoxLayout()
        self.actions.setSpacing(8)
        layout.addLayout(self.actions)
        layout.setAlignment(self.actions, Qt.AlignmentFlag.AlignLeft)  # stacked: under the title

    def add_action(self, widget: QWidget) -> None:
        self.actions.addWidget(widget)  # arranged again on the layout request this posts

    def _widths(self) -> list[int]:
        """One row when everything fits side by side (a page may add its own items, as the
        registrations page's way back), else one row each."""
        widths = []
        for index in range(self._layout.count()):
            item = self._layout.itemAt(index)
            if item.layout() is self._texts:
                widths.append(max(self.title.sizeHint().width(), self.SUBTITLE_ROOM))
            elif not item.isEmpty():
                widths.append(item.sizeHint().width())
        return widths


class ToolbarRow(_RowOrColumn):
    """A page's toolbar: what it leads with (a search) at the left and its buttons at the
    right, or the buttons in a row of their own under it when the page is too narrow."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Like page headers, the toolbar never sets the window's minimum width.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(8)
        self.leading = QHBoxLayout()
        self.leading.setSpacing(8)
        self.trailing = QHBoxLayout()
        self.trailing.setSpacing(8)
        self._layout.addLayout(self.leading, 1)
        self._layout.addLayout(self.trailing)
        self._layout.setAlignment(self.trailing, Qt.AlignmentFlag.AlignLeft)

    def _widths(self) -> list[int]:
        return [
            max(row.sizeHint().width(), row.minimumSize().width())
            for row in (self.leading, self.trailing)
        ]


EMPTY_STATE_WIDTH = 480


def _wrapped_label(text: str, object_name: str, width: int) -> QLabel:
    """A centred, word-wrapped label of fixed width that is as tall as its text needs.

    Nested layouts do not always ask a wrapped label for its height-for-width, which clips
    the last line; fixing the width and the minimum height avoids that.
    """
    label = plain_label(text, object_name)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
    label.setFixedWidth(width)
    label.ensurePolished()  # the stylesheet's font decides the height
    label.setMinimumHeight(max(0, label.heightForWidth(width)))
    return label


class EmptyState(QWidget):
    """A centred explanation of what goes here and the first step to get there."""

    def __init__(
        self,
        icon: str,
        title: str,
        text: str,
        hint: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        outer = QVBoxLayout(self)
        outer.addStretch(2)
        column = QVBoxLayout()
        column.setSpacing(10)
        column.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        picture = QLabel()
        picture.setPixmap(themed_icon(icon, "#6366f1").pixmap(56, 56))
        picture.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        picture.setMinimumHeight(60)
        column.addWidget(picture)
        self.title = plain_label(title, "emptyTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        column.addWidget(self.title)
        self.text = _wrapped_label(text, "emptyText", EMPTY_STATE_WIDTH)
        column.addWidget(self.text, 0, Qt.AlignmentFlag.AlignHCenter)
        self.buttons = QHBoxLayout()
        self.buttons.setSpacing(10)
        self.buttons.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        column.addSpacing(6)
        column.addLayout(self.buttons)
        self.hint = _wrapped_label(hint, "emptyHint", EMPTY_STATE_WIDTH)
        self.hint.setVisible(bool(hint))
        column.addSpacing(4)
        column.addWidget(self.hint, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addLayout(column)
        outer.addStretch(3)

    def add_button(self, button: QPushButton) -> None:
        self.buttons.addWidget(button)


class Page(QWidget):
    """A main-window page: a header on top, the page's body below.

    `create_buttons` are the page's "+ New ..." buttons (header and empty state), enabled
    together by `set_can_create`.
    """

    def __init__(self, title: str, subtitle: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.page_layout = QVBoxLayout(self)
        self.page_layout.setContentsMargins(0, 0, 0, 0)
        self.page_layout.setSpacing(0)
        self.header = PageHeader(title, subtitle)
        # In a narrow window the subtitle gives up its room first, then the actions move
        # under the title; only a window narrower than the actions themselves cuts them off,
        # rather than widen the whole app: the pages share one stack, whose minimum is the
        # widest page's.
        self.header.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.page_layout.addWidget(self.header)
        self.create_buttons: list[QPushButton] = []

    def set_body(self, widget: QWidget) -> None:
        self.page_layout.addWidget(widget, 1)

    def set_can_create(self, enabled: bool, reason: str = "") -> None:
        for button in self.create_buttons:
            button.setEnabled(enabled)
            if reason:
                button.setToolTip(reason)


def confirm(parent: QWidget, title: str, text: str) -> bool:
    """Ask before something that cannot be undone; True when the user agrees."""
    answer = QMessageBox.question(parent, title, text)
    return answer == QMessageBox.StandardButton.Yes
