"""Help for a formula editor, as the user types: whether the text is a formula, the words to
complete, and the fields a chart over it can be grouped by."""

from __future__ import annotations

from desktop.catalog import Kind
from desktop.services.kpi.binder import check
from desktop.services.kpi.syntax import FUNCTIONS, FormulaError


class FormulaAssistant:
    """What a formula editor needs as the user types: checking, completion words, the fields
    a chart can be grouped by, and a title; bound to the formula library (store, settings)."""

    def __init__(self, library) -> None:
        self.library = library

    def check_error(self, text: str) -> FormulaError | None:
        try:
            check(text, self.library.catalog())
        except FormulaError as exc:
            return exc
        return None

    def is_money(self, text: str) -> bool:
        try:
            return check(text, self.library.catalog()).money
        except FormulaError:
            return False

    def words(self) -> list[str]:
        """Functions, data sources, fields and saved formulas, as completion offers them."""
        catalog = self.library.catalog()
        words = [f"{name}(" for name in FUNCTIONS.values()]
        words += catalog.source_names()
        seen = set()
        for ds in catalog.data_sources:
            for key in catalog.fields(ds):
                if key not in seen:
                    seen.add(key)
                    words.append(key)
        words += [f"[{name}]" for name in self.library.names()]
        words += [".Date(", "livemode = true", "contains", "is empty", "between"]
        return words

    def group_fields(self, text: str) -> list[tuple[str, str]]:
        """Fields every data source in the formula has, to group a bar chart or table by."""
        catalog = self.library.catalog()
        try:
            checked = check(text, catalog)
        except FormulaError:
            return []
        common: dict[str, str] | None = None
        for agg in checked.aggregates:
            ds = catalog.source(agg.data_source_id)
            fields = {
                k: f.label
                for k, f in catalog.fields(ds).items()
                if f.kind in (Kind.ENUM, Kind.TEXT, Kind.BOOL, Kind.REFERENCE)
            }
            common = fields if common is None else {k: v for k, v in common.items() if k in fields}
        return sorted((common or {}).items(), key=lambda item: item[1].lower())

    def suggest_title(self, text: str) -> str:
        first = text.strip().split("(", 1)[0] or "Widget"
        return first[:40]
