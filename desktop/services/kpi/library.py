"""Saved formulas, and the catalogs that know them and the user's time settings: the formula
service the app, the dashboards and the command line use."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable

import peewee as pw

from desktop.services.kpi.binder import Catalog, check
from desktop.services.kpi.syntax import FUNCTIONS, FormulaError
from desktop.store.models import SavedFormula
from desktop.store.writer import write_with


class FormulaLibrary:
    """Formulas saved by name, and catalogs that know them and the user's time settings."""

    NAME = re.compile(r"^[^\[\]\"'\n]{1,80}$")

    def __init__(self, writer=None, settings: Callable[[], tuple[str, int]] | None = None):
        self.writer = writer  # the store's one writer; None in scripts that own the database
        self._settings = settings or (lambda: ("UTC", 0))

    def catalog(self) -> Catalog:
        time_zone, week_start = self._settings()
        return Catalog(
            time_zone=time_zone,
            week_start=week_start,
            saved=self.text_of,
            saved_names=self.names,
        )

    def names(self) -> list[str]:
        return [f.name for f in SavedFormula.select(SavedFormula.name).order_by(SavedFormula.name)]

    def all(self) -> list[SavedFormula]:
        return list(SavedFormula.select().order_by(SavedFormula.name))

    def text_of(self, name: str) -> str | None:
        found = SavedFormula.get_or_none(pw.fn.lower(SavedFormula.name) == name.lower())
        return found.text if found else None

    def save(self, name: str, text: str, config: dict | None = None, *, old_name=None) -> None:
        """Check the formula and keep it under `name` (renaming `old_name` when given)."""
        name = " ".join(name.split())
        if not self.NAME.match(name):
            raise FormulaError("Give the formula a name without brackets or quotes")
        if name.lower() in (f.lower() for f in FUNCTIONS.values()):
            raise FormulaError(f"'{name}' is the name of a function; choose another name")
        clash = SavedFormula.get_or_none(pw.fn.lower(SavedFormula.name) == name.lower())
        if clash is not None and (old_name is None or clash.name.lower() != old_name.lower()):
            raise FormulaError(f"There is already a formula called '{clash.name}'")
        catalog = self.catalog()
        previous = catalog._saved
        catalog._saved = lambda n: text if n.lower() == name.lower() else previous(n)
        check(text, catalog)  # raises when a name is unknown or the formula refers to itself
        payload = json.dumps(config or {})

        def write() -> None:
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            if old_name is not None:
                SavedFormula.update(name=name, text=text, config=payload, updated_at=now).where(
                    pw.fn.lower(SavedFormula.name) == old_name.lower()
                ).execute()
            else:
                SavedFormula.create(name=name, text=text, config=payload)

        write_with(self.writer, write)

    def delete(self, name: str) -> None:
        def write() -> None:
            SavedFormula.delete().where(pw.fn.lower(SavedFormula.name) == name.lower()).execute()

        write_with(self.writer, write)

    def used_by(self, name: str) -> list[str]:
        """Saved formulas whose text refers to `name`."""
        pattern = re.compile(rf"\[\s*{re.escape(name)}\s*\]", re.IGNORECASE)
        return [f.name for f in self.all() if pattern.search(f.text)]
