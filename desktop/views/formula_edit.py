"""A text field for formulas: highlighting, completion of names, and live validation."""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QCompleter, QPlainTextEdit, QWidget

from desktop.services.kpi.syntax import FUNCTIONS, FormulaError, tokenize


def _format(colour: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(colour))
    if bold:
        fmt.setFontWeight(QFont.Weight.DemiBold)
    fmt.setFontItalic(italic)
    return fmt


class FormulaHighlighter(QSyntaxHighlighter):
    """Functions, text, numbers, saved formulas and filter words, from the real tokenizer."""

    STYLES = {
        "function": _format("#4338ca", bold=True),
        "str": _format("#15803d"),
        "num": _format("#c2410c"),
        "ref": _format("#7e22ce", bold=True),
        "keyword": _format("#0e7490", italic=True),
    }
    KEYWORDS = {"and", "or", "not", "contains", "in", "between", "is", "empty", "true", "false"}

    def __init__(self, document) -> None:
        super().__init__(document)
        self.error_at: int | None = None  # 0-based offset in the whole text

    def highlightBlock(self, text: str) -> None:
        offset = self.currentBlock().position()
        try:
            tokens = tokenize(text)
        except FormulaError:
            tokens = []  # an unclosed quote: only the error is marked
        for n, token in enumerate(tokens):
            if token.kind == "ident":
                following = tokens[n + 1] if n + 1 < len(tokens) else None
                if token.word in FUNCTIONS and following and following.text == "(":
                    style = self.STYLES["function"]
                elif token.word in self.KEYWORDS:
                    style = self.STYLES["keyword"]
                else:
                    continue
            elif token.kind in ("str", "num", "ref"):
                style = self.STYLES[token.kind]
            else:
                continue
            self.setFormat(token.pos, token.end - token.pos, style)
        if self.error_at is not None and offset <= self.error_at <= offset + len(text):
            start = self.error_at - offset
            length = max(1, len(re.match(r"\S*", text[start:]).group()))
            error = QTextCharFormat()
            error.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            error.setUnderlineColor(QColor("#dc2626"))
            self.setFormat(start, min(length, max(len(text) - start, 1)), error)


class FormulaEdit(QPlainTextEdit):
    """Formula text with completion (Tab or Enter takes a suggestion) and live checking.

    `check` returns None when the formula is good or a FormulaError; it runs 250 ms after
    the last key so typing never waits for it."""

    validated = Signal(object)  # None, or the FormulaError

    def __init__(
        self,
        check: Callable[[str], FormulaError | None],
        words: Callable[[], list[str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("formulaEdit")
        self.check = check
        self.words = words
        self.setTabChangesFocus(True)
        self.setPlaceholderText('Sum(Charges, amount, status = "succeeded" and livemode = true)')
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.TypeWriter)
        self.setFont(mono)
        self.setFixedHeight(self.fontMetrics().lineSpacing() * 4 + 16)
        self.highlighter = FormulaHighlighter(self.document())
        self.completer = QCompleter(self)
        self.completer.setWidget(self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.activated.connect(self.insert_completion)
        self._model = QStringListModel(self)
        self.completer.setModel(self._model)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(250)
        self.timer.timeout.connect(self.validate)
        self.textChanged.connect(self.timer.start)
        self.error: FormulaError | None = None

    def text(self) -> str:
        return self.toPlainText()

    def setText(self, text: str) -> None:
        self.setPlainText(text)
        self.validate()

    def validate(self) -> FormulaError | None:
        self.timer.stop()
        text = self.text()
        self.error = self.check(text) if text.strip() else None
        position = self.error.position if self.error is not None else None
        self.highlighter.error_at = position - 1 if position else None
        self.highlighter.rehighlight()
        self.validated.emit(self.error)
        return self.error

    # completion

    def _word_under_cursor(self) -> tuple[str, int]:
        cursor = self.textCursor()
        before = self.text()[: cursor.position()]
        match = re.search(r"[\[\"]?[\w.]*$", before)
        return match.group(), match.start()

    def insert_completion(self, completion: str) -> None:
        _word, start = self._word_under_cursor()
        cursor = self.textCursor()
        cursor.setPosition(start)
        cursor.setPosition(self.textCursor().position(), QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(completion)
        self.setTextCursor(cursor)

    def take_completion(self) -> None:
        popup = self.completer.popup()
        index = popup.currentIndex()
        if not index.isValid():
            index = self.completer.completionModel().index(0, 0)
        self.insert_completion(index.data())
        popup.hide()

    def focusNextPrevChild(self, next_: bool) -> bool:
        # Tab takes the offered completion instead of moving on, while the list is open.
        if self.completer.popup().isVisible():
            self.take_completion()
            return True
        return super().focusNextPrevChild(next_)

    def keyPressEvent(self, event) -> None:
        popup = self.completer.popup()
        if popup.isVisible() and event.key() in (
            Qt.Key.Key_Enter,
            Qt.Key.Key_Return,
            Qt.Key.Key_Tab,
            Qt.Key.Key_Escape,
        ):
            if event.key() == Qt.Key.Key_Escape:
                popup.hide()
            else:
                self.take_completion()
            event.accept()
            return
        if event.key() in (Qt.Key.Key_Enter, Qt.Key.Key_Return):
            event.ignore()  # Enter belongs to the dialog's default button
            return
        super().keyPressEvent(event)
        forced = event.key() == Qt.Key.Key_Space and bool(
            event.modifiers() & Qt.KeyboardModifier.ControlModifier
        )
        self.complete(forced)

    def complete(self, forced: bool = False) -> None:
        word, _start = self._word_under_cursor()
        if len(word.lstrip('["')) < 1 and not forced:
            self.completer.popup().hide()
            return
        self._model.setStringList(self.words())
        self.completer.setCompletionPrefix(word.lstrip('"'))
        if self.completer.completionCount() == 0:
            self.completer.popup().hide()
            return
        rect = self.cursorRect()
        rect.setWidth(
            self.completer.popup().sizeHintForColumn(0)
            + self.completer.popup().verticalScrollBar().sizeHint().width()
            + 16
        )
        self.completer.complete(rect)
