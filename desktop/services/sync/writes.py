"""One transaction of a sync: a page's rows, derived rows and deletions, then its checkpoint,
built as plain statements on the thread that read the page."""

from __future__ import annotations

import logging
from concurrent.futures import Future

from desktop.catalog import DataType
from desktop.services.sync.feeds import Feed
from desktop.services.sync.rows import table_rows
from desktop.store.models import DataSource
from desktop.store.writer import EarlierWriteFailed
from desktop.store.writer_process import Statement

log = logging.getLogger(__name__)


def settle_while_stopping(future: Future) -> dict[int, int] | None:
    """The rows a queued write of a stopping sync stored, or None when it failed: logged, not
    raised (one that an earlier failure stopped says nothing new)."""
    try:
        return future.result()
    except EarlierWriteFailed:
        return None
    except Exception:
        log.exception("a queued write failed while the sync was stopping")
        return None


class Written(dict):
    """Rows written per data source id, and the registrations they were (stripe ids), so that
    a run counts a registration it wrote twice (read again by a catch-up pass) once."""

    def __init__(self) -> None:
        super().__init__()
        self.keys_by_source: dict[int, list[str]] = {}


class PageWrite:
    """One transaction: a page's rows, derived rows and deletions, then its checkpoint.

    Its statements are built when it is made, on the thread that read the page, and it keeps
    no Stripe object: the one writer, through which every page of every type passes, then only
    writes (building the rows and freeing the page's objects took a third of its time)."""

    def __init__(
        self,
        feed: Feed,
        live: bool,
        generation: int,
        upserts: list[dict],
        deletes: list[str],
        children: dict[str, list],
        parent_target: int | None,
        child_types: list[DataType],
    ) -> None:
        self.feed = feed
        self.live = live
        self.generation = generation
        self.written = Written()  # data source id -> rows written
        self.statements: list[Statement] = []
        self.filled: list[str] = []  # the tables this page writes rows into
        ids = [o["id"] for o in upserts]
        replaced = ids + deletes  # the parents whose derived rows are written anew
        if parent_target is not None:
            rows = table_rows(feed.parent.name)
            mode_of = (
                (lambda o: bool(o.get("livemode")))
                if feed.parent.has_own_livemode
                else (lambda o: live)
            )
            built = [
                rows.row(parent_target, o["id"], None, mode_of(o), generation, o) for o in upserts
            ]
            self.statements += rows.upsert_statements(built)
            self.statements += rows.delete_ids(parent_target, deletes)
            if built:
                self.filled.append(rows.table)
            self.written[parent_target] = len(upserts) + len(deletes)
            self.written.keys_by_source[parent_target] = replaced
        for child in child_types:
            target = feed.targets[child.name]
            rows = table_rows(child.name)
            mode_of = (
                (lambda o: bool(o.get("livemode", live)))
                if child.has_own_livemode
                else (lambda o: live)
            )
            built = [
                rows.row(target, stable_id, parent_id, mode_of(o), generation, o)
                for parent_id in ids
                for (name, stable_id, o) in children.get(parent_id, ())
                if name == child.name
            ]
            self.statements += rows.delete_children(target, replaced)
            self.statements += rows.upsert_statements(built)
            if built:
                self.filled.append(rows.table)
            self.written[target] = len(built)
            self.written.keys_by_source[target] = [row[1] for row in built]
        self.sweeps = slice(0)

    def checkpointed(self, state_json: str, sweep: bool) -> list[Statement]:
        """The statements, then the sweep of what an import did not see (when it ends one) and
        the checkpoint."""
        statements = list(self.statements)
        if sweep and self.generation > 1:
            first = len(statements)
            statements += [
                table_rows(type_name).sweep(ds_id, self.live, self.generation)
                for type_name, ds_id in self.feed.targets.items()
            ]
            self.sweeps = slice(first, len(statements))
        table = DataSource._meta.table_name
        sql = f'UPDATE "{table}" SET "sync_state" = ? WHERE "id" = ?'
        statements.append((sql, (state_json, self.feed.leader_id)))
        return statements

    def committed(self, counts: list[int]) -> dict[int, int]:
        """The rows written per data source, once the writer has committed the statements."""
        swept = sum(counts[self.sweeps])
        if swept:
            log.info("re-import removed %d rows Stripe no longer has", swept)
        return self.written
