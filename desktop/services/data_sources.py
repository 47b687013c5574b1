"""Data sources as the views list them: one summary per data source, read in SQL."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from desktop.catalog import DATA_TYPES, children_of
from desktop.store.models import Account, DataSource, DataSourceStatus, registration_model
from desktop.store.writer import StoreWriter, write_with

__all__ = ["DataSourceSettings", "DataSourceStatus", "DataSourceSummary", "DataSourcesService"]


@dataclass(frozen=True)
class DataSourceSummary:
    id: int
    title: str
    data_type: str
    type_name: str
    account_name: str
    livemode: bool
    includes_test_data: bool
    registrations: int | None  # None: not counted (see summaries)
    status: str
    status_message: str | None
    last_synced_at: dt.datetime | None
    update_frequency: int = 300  # seconds


@dataclass(frozen=True)
class DataSourceSettings:
    title: str
    default_date_field: str
    update_frequency: int  # seconds
    history_since: dt.date | None = None  # None: all history; applies at the next re-import


class DataSourcesService:
    """Reads and changes data sources. Takes no database: models are bound by the root.
    `writer`: the store's one writer (None: scripts that own the database write here).
    Changes run on a worker (a view's Runner), never on the GUI thread."""

    def __init__(self, writer: StoreWriter | None = None) -> None:
        self.writer = writer

    @staticmethod
    def get(ds_id: int) -> DataSource:
        return DataSource.get_by_id(ds_id)

    @staticmethod
    def find(ds_id: int) -> DataSource | None:
        return DataSource.get_or_none(DataSource.id == ds_id)

    def summaries(self, *, counted: bool = True) -> list[DataSourceSummary]:
        """Every data source; without `counted`, their registrations are left to
        registration_counts (a pass over an index each: ~50 ms a million rows)."""
        rows = (
            DataSource.select(DataSource, Account)
            .join(Account)
            .order_by(Account.name, DataSource.title)
        )
        return [self._summary(ds, counted) for ds in rows]

    def registration_counts(self, summaries: list[DataSourceSummary]) -> dict[int, int]:
        """Data source id -> its registrations."""
        return {s.id: self._count(s.id, s.data_type) for s in summaries}

    @staticmethod
    def _count(ds_id: int, data_type: str) -> int:
        model = registration_model(data_type)
        return model.select().where(model.data_source == ds_id).count()

    def count(self) -> int:
        return DataSource.select().count()

    def _summary(self, ds: DataSource, counted: bool) -> DataSourceSummary:
        return DataSourceSummary(
            id=ds.id,
            title=ds.title,
            data_type=ds.data_type,
            type_name=DATA_TYPES[ds.data_type].display_name,
            account_name=ds.account.name,
            livemode=ds.account.livemode,
            includes_test_data=len(ds.modes) > 1,
            registrations=self._count(ds.id, ds.data_type) if counted else None,
            status=ds.status,
            status_message=ds.status_message,
            last_synced_at=ds.last_synced_at,
            update_frequency=ds.update_frequency,
        )

    def delete(self, ds_id: int) -> None:
        """Delete a data source with its registrations, fields and history (seconds on a
        million rows)."""
        write_with(self.writer, lambda: DataSource.delete().where(DataSource.id == ds_id).execute())

    def save_view(self, ds_id: int, view: dict) -> None:
        """The registrations page's filters, saved views and column widths."""
        text = json.dumps(view)
        write_with(
            self.writer,
            lambda: DataSource.update(view_settings=text).where(DataSource.id == ds_id).execute(),
        )

    def reset(self, ds_id: int) -> None:
        """Delete a data source's registrations and re-import them at the next sync.

        The checkpoints live with the feed's leader (a parent type's data source, when the
        account has one), so the whole feed starts over; rows of the other data sources are
        rewritten in place, not lost."""
        write_with(self.writer, lambda: self._reset(ds_id))

    @staticmethod
    def _reset(ds_id: int) -> None:
        ds = DataSource.get_by_id(ds_id)
        model = registration_model(ds.data_type)
        model.delete().where(model.data_source == ds.id).execute()
        related = {ds.data_type, *(t.name for t in children_of(ds.data_type))}
        if DATA_TYPES[ds.data_type].parent:
            related.add(DATA_TYPES[ds.data_type].parent)
        DataSource.update(
            sync_state="{}",
            status=DataSourceStatus.NEW,
            last_synced_at=None,
            status_message="Re-importing everything.",
        ).where(
            (DataSource.account == ds.account) & DataSource.data_type.in_(sorted(related))
        ).execute()

    def settings(self, ds_id: int) -> DataSourceSettings:
        ds = DataSource.get_by_id(ds_id)
        since = ds.history_since.date() if ds.history_since else None
        return DataSourceSettings(ds.title, ds.default_date_field, ds.update_frequency, since)

    def save_settings(self, ds_id: int, settings: DataSourceSettings) -> None:
        since = settings.history_since
        write_with(
            self.writer,
            lambda: (
                DataSource.update(
                    title=settings.title,
                    default_date_field=settings.default_date_field,
                    update_frequency=settings.update_frequency,
                    history_since=dt.datetime.combine(since, dt.time()) if since else None,
                )
                .where(DataSource.id == ds_id)
                .execute()
            ),
        )
