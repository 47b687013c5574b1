"""Where a feed's sync stands, per mode: what a killed sync resumes from.

It is stored as JSON in the leading data source's `sync_state`, in the same transaction as the
rows it describes, so it never claims rows that were not committed. The JSON keeps the names it
had when it was a plain dict, so stores written by earlier versions resume where they stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass
class EventsCursor:
    """The newest event applied (None: none existed), its time, and the last poll."""

    cursor: str | None
    since: int
    polled_at: int | None = None

    def state(self) -> dict[str, Any]:
        return {"cursor": self.cursor, "since": self.since, "polled_at": self.polled_at}

    @classmethod
    def from_state(cls, state: dict | None) -> EventsCursor | None:
        if not state:
            return None
        return cls(state.get("cursor"), state["since"], state.get("polled_at"))


@dataclass
class HistoryImport:
    """A history import under way: the created range it covers and its windows as listed so
    far (see history.Windows). Checkpoints from before windows name one cursor, `after`.
    `oldest`: with no lower bound, the day the oldest object was created, as a probe found it
    (how much of the range is listed is measured against it)."""

    lte: int
    gte: int | None
    windows: list[dict] | None = None
    after: str | None = None
    oldest: int | None = None

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"lte": self.lte, "gte": self.gte}
        if self.windows is not None:
            state["windows"] = self.windows
        if self.after is not None:
            state["after"] = self.after
        if self.oldest is not None:
            state["oldest"] = self.oldest
        return state

    @classmethod
    def from_state(cls, state: dict | None) -> HistoryImport | None:
        if not state:
            return None
        return cls(
            state["lte"],
            state.get("gte"),
            state.get("windows"),
            state.get("after"),
            state.get("oldest"),
        )


@dataclass
class ModeCheckpoint:
    """One mode's (live, or test for sample data) place in the sync."""

    generation: int = 0  # which import wrote a row; a re-import sweeps older generations
    backfilled_at: int | None = None  # when the last complete history import started
    history: HistoryImport | None = None  # a history import under way
    events: EventsCursor | None = None  # types with events
    newest_created: int | None = None  # types without events: the newest row's created
    pending_since: int | None = None  # the oldest balance transaction still pending
    notice: str | None = None  # said to the user: why everything was imported again

    def state(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "backfilled_at": self.backfilled_at,
            "backfill": self.history.state() if self.history else None,
            "events": self.events.state() if self.events else None,
            "newest_created": self.newest_created,
            "pending_since": self.pending_since,
            "notice": self.notice,
        }

    @classmethod
    def from_state(cls, state: dict | None) -> ModeCheckpoint:
        state = state or {}
        return cls(
            generation=state.get("generation", 0),
            backfilled_at=state.get("backfilled_at"),
            history=HistoryImport.from_state(state.get("backfill")),
            events=EventsCursor.from_state(state.get("events")),
            newest_created=state.get("newest_created"),
            pending_since=state.get("pending_since"),
            notice=state.get("notice"),
        )


@dataclass
class Checkpoint:
    """A feed's checkpoint: one ModeCheckpoint per mode it has synced."""

    modes: dict[bool, ModeCheckpoint] = field(default_factory=dict)

    def mode(self, live: bool) -> ModeCheckpoint:
        return self.modes.setdefault(live, ModeCheckpoint())

    def to_json(self) -> str:
        return orjson.dumps(
            {("live" if live else "test"): mode.state() for live, mode in self.modes.items()}
        ).decode()

    @classmethod
    def from_json(cls, text: str | None) -> Checkpoint:
        state = orjson.loads(text or "{}")
        return cls(
            {
                live: ModeCheckpoint.from_state(state[name])
                for live, name in ((True, "live"), (False, "test"))
                if name in state
            }
        )
