"""Data sources as the views list them: one summary per data source, read in SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from desktop.catalog import DATA_TYPES
from desktop.store.models import Account, DataSource, registration_model


@dataclass(frozen=True)
class DataSourceSummary:
    id: int
    title: str
    data_type: str
    type_name: str
    account_name: str
    livemode: bool
    includes_test_data: bool
    registrations: int
    status: str
    status_message: str | None
    last_synced_at: dt.datetime | None


class DataSourcesService:
    """Reads and changes data sources. Takes no database: models are bound by the root."""

    def summaries(self) -> list[DataSourceSummary]:
        rows = (
            DataSource.select(DataSource, Account)
            .join(Account)
            .order_by(Account.name, DataSource.title)
        )
        return [self._summary(ds) for ds in rows]

    def count(self) -> int:
        return DataSource.select().count()

    def _summary(self, ds: DataSource) -> DataSourceSummary:
        model = registration_model(ds.data_type)
        count = model.select().where(model.data_source == ds.id).count()
        return DataSourceSummary(
            id=ds.id,
            title=ds.title,
            data_type=ds.data_type,
            type_name=DATA_TYPES[ds.data_type].display_name,
            account_name=ds.account.name,
            livemode=ds.account.livemode,
            includes_test_data=ds.include_test_data,
            registrations=count,
            status=ds.status,
            status_message=ds.status_message,
            last_synced_at=ds.last_synced_at,
        )
