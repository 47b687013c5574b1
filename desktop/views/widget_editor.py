"""Add or edit a dashboard widget: its type, formula, period, format, target and chart options.

The formula is checked as it is typed; a preview shows its value for the chosen period,
computed in the background."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from desktop.services.kpi.dashboards import (
    BUCKETS,
    DEFAULT_SIZE,
    FORMAT_STYLES,
    WIDGET_KINDS,
    Format,
    WidgetSpec,
)
from desktop.services.kpi.periods import DASHBOARD_PERIODS, period_label
from desktop.services.kpi.syntax import FUNCTION_HELP, FormulaError
from desktop.views.formula_edit import FormulaEdit
from desktop.views.widgets import plain_label, primary_accept

# A new bar chart or table is grouped by the first of these the formula's data has.
GROUP_FIRST = ("status", "type", "payment_method_details.card.brand", "currency", "livemode")


class WidgetEditor(QDialog):
    """`spec` is None for a new widget. `formulas` is the page's FormulaAssistant."""

    def __init__(
        self,
        spec: WidgetSpec | None,
        formulas,
        dashboard_period: str,
        preview: Callable[[WidgetSpec, str, Callable[[str], None]], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit widget" if spec else "Add widget")
        self.setMinimumWidth(620)
        self.original = spec
        self.formulas = formulas
        self.dashboard_period = dashboard_period
        self.preview_with = preview
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.title = QLineEdit(spec.title if spec else "")
        self.title.setPlaceholderText("Gross volume")
        form.addRow("Title", self.title)
        self.kind = QComboBox()
        for key, label in WIDGET_KINDS.items():
            self.kind.addItem(label, key)
        self.kind.setCurrentIndex(max(0, self.kind.findData(spec.kind if spec else "number")))
        form.addRow("Type", self.kind)
        self.formula = FormulaEdit(formulas.check_error, formulas.words)
        form.addRow("Formula", self.formula)
        self.message = plain_label("", "formulaMessage")
        self.message.setWordWrap(True)
        form.addRow(self.message)
        self.help = plain_label(
            'Count, Sum, Avg, Min, Max, CountUnique, If · filters such as status = "succeeded"'
            " and livemode = true · amounts in filters are minor units (1000 is 10.00) · "
            "[Saved formula] · Ctrl+Space completes",
            "fieldHelp",
        )
        self.help.setWordWrap(True)
        self.help.setToolTip("\n".join(FUNCTION_HELP.values()))
        form.addRow(self.help)
        self.period = QComboBox()
        self.period.addItem(f"The dashboard's ({period_label(dashboard_period or '')})", "")
        for key, label in DASHBOARD_PERIODS.items():
            self.period.addItem(label, key)
        if spec and spec.period and self.period.findData(spec.period) < 0:
            self.period.addItem(spec.period, spec.period)
        self.period.setCurrentIndex(max(0, self.period.findData(spec.period if spec else "")))
        form.addRow("Period", self.period)
        self.preview_label = plain_label("", "formulaPreview")
        self.preview_label.setWordWrap(True)
        form.addRow("Preview", self.preview_label)
        layout.addLayout(form)

        display = QGroupBox("Display")
        display_form = QFormLayout(display)
        fmt = spec.format if spec else Format()
        self.style = QComboBox()
        for key, label in FORMAT_STYLES.items():
            self.style.addItem(label, key)
        self.style.setCurrentIndex(self.style.findData(fmt.style))
        self.decimals = QSpinBox()
        self.decimals.setRange(0, 6)
        self.decimals.setValue(fmt.decimals)
        self.decimals.setMinimumWidth(70)
        style_row = QHBoxLayout()
        style_row.addWidget(self.style, 1)
        style_row.addWidget(plain_label("Decimals"))
        style_row.addWidget(self.decimals)
        display_form.addRow("Format", style_row)
        self.prefix = QLineEdit(fmt.prefix)
        self.prefix.setMaxLength(20)
        self.suffix = QLineEdit(fmt.suffix)
        self.suffix.setMaxLength(20)
        affix = QHBoxLayout()
        affix.addWidget(self.prefix)
        affix.addWidget(plain_label("Suffix"))
        affix.addWidget(self.suffix)
        display_form.addRow("Prefix", affix)
        self.lower_is_better = QCheckBox("Lower is better (a rise shows red)")
        self.lower_is_better.setChecked(fmt.lower_is_better)
        display_form.addRow("", self.lower_is_better)
        self.has_target = QCheckBox("Target")
        self.target = QDoubleSpinBox()
        self.target.setRange(-1e12, 1e12)
        self.target.setDecimals(2)
        self.has_target.setChecked(spec is not None and spec.target is not None)
        self.target.setValue(spec.target if spec and spec.target is not None else 0.0)
        self.target.setEnabled(self.has_target.isChecked())
        self.has_target.toggled.connect(self.target.setEnabled)
        target_row = QHBoxLayout()
        target_row.addWidget(self.has_target)
        target_row.addWidget(self.target, 1)
        display_form.addRow("", target_row)
        layout.addWidget(display)

        self.chart_box = QGroupBox("Chart")
        chart_form = QFormLayout(self.chart_box)
        self.bucket = QComboBox()
        for key, label in BUCKETS.items():
            self.bucket.addItem(label, key)
        self.bucket.setCurrentIndex(self.bucket.findData(spec.bucket if spec else "day"))
        chart_form.addRow("One point per", self.bucket)
        self.compare = QCheckBox("Show the previous period as a dashed line")
        self.compare.setChecked(bool(spec and spec.compare))
        chart_form.addRow("", self.compare)
        layout.addWidget(self.chart_box)

        self.group_box = QGroupBox("Grouping")
        group_form = QFormLayout(self.group_box)
        self.group_by = QComboBox()
        self.group_by.setEditable(False)
        group_form.addRow("Group by", self.group_by)
        self.top = QSpinBox()
        self.top.setRange(1, 100)
        self.top.setValue(spec.top if spec else 10)
        group_form.addRow("Show the top", self.top)
        layout.addWidget(self.group_box)
        self._wanted_group = spec.group_by if spec else None

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        primary_accept(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.formula.validated.connect(self._validated)
        self.period.currentIndexChanged.connect(self._schedule_preview)
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(200)
        self._preview_timer.timeout.connect(self.refresh_preview)
        self._kind_changed()
        self.formula.setText(spec.formula if spec else "")
        self.formula.setFocus()

    # behaviour

    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        self.chart_box.setVisible(kind in ("line", "area"))
        self.group_box.setVisible(kind in ("bar", "table"))
        self.top.setEnabled(kind in ("bar", "table"))
        self.adjustSize()

    def _validated(self, error: FormulaError | None) -> None:
        save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        text = self.formula.text().strip()
        save.setEnabled(error is None and bool(text))
        if not text:
            self.message.setText("Write a formula, for example Count(Charges, livemode = true).")
            self.message.setProperty("state", "")
        elif error is not None:
            self.message.setText(str(error))
            self.message.setProperty("state", "error")
        else:
            self.message.setText("✓ The formula is valid.")
            self.message.setProperty("state", "ok")
            self._fill_group_fields()
            if self.formulas.is_money(text) and self.style.currentData() == "number":
                self.style.setCurrentIndex(self.style.findData("money"))
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self._schedule_preview()

    def _fill_group_fields(self) -> None:
        fields = self.formulas.group_fields(self.formula.text())
        current = self.group_by.currentData() or self._wanted_group
        self.group_by.blockSignals(True)
        self.group_by.clear()
        for key, label in fields:
            self.group_by.addItem(label, key)
        index = self.group_by.findData(current)
        if index < 0:  # what a chart is usually grouped by, never an id by default
            index = next((i for key in GROUP_FIRST if (i := self.group_by.findData(key)) >= 0), 0)
        self.group_by.setCurrentIndex(index)
        self.group_by.blockSignals(False)

    def _schedule_preview(self) -> None:
        self._preview_timer.start()

    def refresh_preview(self) -> None:
        if self.formula.error is not None or not self.formula.text().strip():
            self.preview_label.setText("")
            return
        self.preview_label.setText("Calculating…")
        self.preview_with(
            self.spec(), self.period.currentData() or self.dashboard_period, self._show_preview
        )

    def _show_preview(self, text: str) -> None:
        if isValid(self.preview_label):  # the dialog may have closed meanwhile
            self.preview_label.setText(text)

    # result

    def spec(self) -> WidgetSpec:
        kind = self.kind.currentData()
        original = self.original
        w, h = DEFAULT_SIZE[kind]
        if original is not None and original.kind == kind:
            w, h = original.w, original.h
        title = self.title.text().strip() or self.formulas.suggest_title(self.formula.text())
        return WidgetSpec(
            kind=kind,
            title=title,
            formula=self.formula.text().strip(),
            period=self.period.currentData() or None,
            format=Format(
                self.style.currentData(),
                self.decimals.value(),
                self.prefix.text(),
                self.suffix.text(),
                self.lower_is_better.isChecked(),
            ),
            target=self.target.value() if self.has_target.isChecked() else None,
            bucket=self.bucket.currentData(),
            compare=self.compare.isChecked(),
            group_by=self.group_by.currentData() if kind in ("bar", "table") else None,
            top=self.top.value(),
            x=original.x if original else 0,
            y=original.y if original else 0,
            w=w,
            h=h,
            id=original.id if original else None,
        )

    def accept(self) -> None:
        if self.formula.validate() is not None:
            return
        if self.kind.currentData() in ("bar", "table") and not self.group_by.currentData():
            self.message.setText("Choose a field to group by.")
            return
        super().accept()
