"""Visualization > Dashboards: the user's dashboards, or how to make the first."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from desktop.views.widgets import EmptyState, Page, primary_button


class DashboardsPage(Page):
    new_dashboard_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Dashboards", "KPIs and charts built from your data sources", parent)
        self.new_button = primary_button("New dashboard", "plus")
        self.new_button.clicked.connect(self.new_dashboard_requested)
        self.header.add_action(self.new_button)
        self.empty_state = EmptyState(
            "dashboards",
            "No dashboards yet",
            "Dashboards turn your registrations into live numbers and charts: gross volume, "
            "refunds, new customers, paid invoices. They refresh after every sync.",
            hint="Import a data source first; then start from the Stripe overview template or "
            "build your own KPIs with formulas.",
        )
        self.empty_button = primary_button("New dashboard", "plus")
        self.empty_button.clicked.connect(self.new_dashboard_requested)
        self.empty_state.add_button(self.empty_button)
        self.set_body(self.empty_state)
        self.create_buttons = [self.new_button, self.empty_button]
