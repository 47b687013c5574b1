"""The new-data-source wizard's flow, without Qt: which page comes next and what it needs.

Pages follow Plecto's Stripe flow: choose the source, connect, select data types (with the
optional Advanced settings), import. The Qt wizard only renders these pages and asks this flow
whether it may move on; the rules are tested here without a window.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from desktop.catalog import DATA_TYPES, Kind
from desktop.services.accounts import default_title


class Step(StrEnum):
    SOURCE = "source"
    CONNECT = "connect"
    TYPES = "types"
    IMPORT = "import"


class ConnectMethod(StrEnum):
    BROWSER = "browser"
    API_KEY = "api_key"


@dataclass
class Advanced:
    titles: dict[str, str] = field(default_factory=dict)
    date_fields: dict[str, str] = field(default_factory=dict)
    update_frequency: int = 300
    history_since: dt.date | None = None  # None: all history
    include_sample_data: bool = False


@dataclass
class NewSourceFlow:
    step: Step = Step.SOURCE
    source: str | None = "stripe"
    method: ConnectMethod = ConnectMethod.BROWSER
    connected: bool = False
    connection_name: str = ""
    sample_data_possible: bool = False
    readable: dict[str, bool] = field(default_factory=dict)  # empty: not known (OAuth)
    unreadable_reasons: dict[str, str] = field(default_factory=dict)
    already_imported: set[str] = field(default_factory=set)
    keychain: bool = True  # False: no OS keychain works on this computer
    session_only_accepted: bool = False  # the user chose to keep keys in memory only
    selected: list[str] = field(default_factory=list)
    advanced: Advanced = field(default_factory=Advanced)

    ORDER = (Step.SOURCE, Step.CONNECT, Step.TYPES, Step.IMPORT)
    KEYCHAIN_BLOCKER = (
        "This computer has no keychain for Stripe keys: choose to keep them only "
        "until Ledgerboard closes, or set up a keychain first."
    )

    # --- moving ---

    def blocker(self) -> str | None:
        """Why Next is not possible on the current step, in words; None when it is."""
        if self.step is Step.SOURCE and not self.source:
            return "Choose where the data comes from."
        if self.step is Step.CONNECT and not self.keychain and not self.session_only_accepted:
            return self.KEYCHAIN_BLOCKER
        if self.step is Step.CONNECT and not self.connected:
            return "Connect a Stripe account first."
        if self.step is Step.TYPES:
            if not self.selected and self.already_imported >= set(DATA_TYPES):
                return "Every data type of this account is imported already."
            if not self.selected:
                return "Select at least one data type to import."
            unreadable = [t for t in self.selected if self.readable.get(t) is False]
            if unreadable:
                names = ", ".join(DATA_TYPES[t].display_name for t in unreadable)
                return f"The key cannot read {names}; unselect them or use another key."
            for name in self.selected:
                title = self.title(name).strip()
                if not title:
                    return f"Give {DATA_TYPES[name].display_name} a title."
        return None

    def next(self) -> Step:
        problem = self.blocker()
        if problem:
            raise ValueError(problem)
        self.step = self.ORDER[self.ORDER.index(self.step) + 1]
        return self.step

    def back(self) -> Step:
        index = self.ORDER.index(self.step)
        if index == 0 or self.step is Step.IMPORT:
            return self.step
        self.step = self.ORDER[index - 1]
        return self.step

    # --- connecting ---

    def set_connected(
        self,
        name: str,
        *,
        sample_data_possible: bool,
        readable: dict[str, bool] | None = None,
        reasons: dict[str, str] | None = None,
    ) -> None:
        self.connected = True
        self.connection_name = name
        self.sample_data_possible = sample_data_possible
        self.readable = dict(readable or {})
        self.unreadable_reasons = dict(reasons or {})
        self.advanced.include_sample_data = (
            self.advanced.include_sample_data and sample_data_possible
        )
        self.selected = [
            t
            for t in self.selected
            if self.readable.get(t) is not False and t not in self.already_imported
        ]

    def disconnect(self) -> None:
        self.connected = False
        self.connection_name = ""
        self.readable = {}

    # --- selecting ---

    def choices(self) -> list[tuple[str, str, str, str | None]]:
        """(name, display name, description, why not) for each of the nine types."""
        rows = []
        for name, data_type in DATA_TYPES.items():
            why_not = None
            if self.readable.get(name) is False:
                why_not = "The key cannot read this: " + self.unreadable_reasons.get(
                    name, "no permission"
                )
            elif name in self.already_imported:
                why_not = "Already imported from this account"
            rows.append((name, data_type.display_name, data_type.description, why_not))
        return rows

    def set_selected(self, names: list[str]) -> None:
        self.selected = [n for n in DATA_TYPES if n in names]

    def set_already_imported(self, names: set[str]) -> None:
        self.already_imported = set(names)
        self.selected = [t for t in self.selected if t not in self.already_imported]

    def selectable(self) -> list[str]:
        """The data types this connection can still import."""
        return [
            n
            for n in DATA_TYPES
            if self.readable.get(n) is not False and n not in self.already_imported
        ]

    def all_selected(self) -> bool:
        """Every selectable type is selected: Select all becomes Clear all."""
        selectable = self.selectable()
        return bool(selectable) and set(selectable) <= set(self.selected)

    def select_all(self) -> None:
        self.set_selected(
            [
                n
                for n in DATA_TYPES
                if self.readable.get(n) is not False and n not in self.already_imported
            ]
        )

    # --- advanced settings ---

    def title(self, name: str) -> str:
        return self.advanced.titles.get(name, default_title(name))

    def date_field(self, name: str) -> str:
        return self.advanced.date_fields.get(name, DATA_TYPES[name].default_date_field)

    @staticmethod
    def date_field_choices(name: str) -> list[tuple[str, str]]:
        return [(f.key, f.label) for f in DATA_TYPES[name].fields if f.kind is Kind.DATETIME]
