"""Feeds: one list endpoint of one account and the data sources it fills. Fee Details ride on
Balance Transactions and Invoice Lines on Invoices, so a parent and its derived rows always
arrive together and commit in one transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from desktop.catalog import DATA_TYPES, DataType
from desktop.store.models import DataSource


@dataclass
class Feed:
    """One list endpoint of one account, and the data sources (by type) it fills."""

    account_id: int
    parent: DataType
    targets: dict[str, int]  # data type name -> data source id
    leader_id: int  # the data source that keeps the feed's checkpoints
    modes: tuple[bool, ...]  # live and/or test

    @property
    def data_source_ids(self) -> list[int]:
        return list(self.targets.values())

    @property
    def event_types(self) -> tuple[str, ...]:
        return self.parent.event_types

    def title(self) -> str:
        return " + ".join(DATA_TYPES[t].display_name for t in self.targets)


def feeds_for(data_sources: Iterable[DataSource]) -> list[Feed]:
    """Group data sources into feeds: derived types join their parent type's feed."""
    feeds: dict[tuple[int, str], Feed] = {}
    for ds in sorted(data_sources, key=lambda d: (d.account_id, d.id)):
        data_type = DATA_TYPES[ds.data_type]
        parent = DATA_TYPES[data_type.parent] if data_type.parent else data_type
        key = (ds.account_id, parent.name)
        modes = ds.modes
        feed = feeds.get(key)
        if feed is None:
            feed = feeds[key] = Feed(ds.account_id, parent, {}, ds.id, modes)
        feed.targets[data_type.name] = ds.id
        feed.modes = tuple(sorted(set(feed.modes) | set(modes), reverse=True))
        if data_type.name == parent.name:
            feed.leader_id = ds.id  # the parent's own data source keeps the checkpoints
    return list(feeds.values())
