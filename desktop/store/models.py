"""Peewee models: accounts, data sources, fields, registrations, dashboards, widgets, sync runs.

Registrations live in one table per data type (`registrations_charges`, ...), generated from
the catalog: a typed, indexed column per catalog field for fast filtering and sorting at a
million rows, plus the whole Stripe object as JSON for everything else (metadata, fields the
catalog does not know, the detail pane).

No secret is ever stored here: an account only names the keyring entry that holds its key.
"""

from __future__ import annotations

import datetime as dt

import peewee as pw

from desktop.catalog import DATA_TYPES, DataType, Kind
from desktop.store.db import database
from desktop.store.dialect import JsonTextField


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class BaseModel(pw.Model):
    class Meta:
        database = database
        legacy_table_names = False


class SchemaVersion(BaseModel):
    version = pw.IntegerField(primary_key=True)
    description = pw.TextField()
    applied_at = pw.DateTimeField(default=utc_now)


class AccountStatus:
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"
    DISCONNECTED = "disconnected"


class Account(BaseModel):
    name = pw.TextField()
    stripe_account_id = pw.TextField(null=True)
    auth_method = pw.TextField()  # "oauth" or "api_key"
    provider = pw.TextField(null=True)  # OAuth provider profile name
    api_base = pw.TextField(null=True)  # None: Stripe itself
    keyring_entry = pw.TextField()  # the keyring user name under which the secret lives
    livemode = pw.BooleanField(default=True)  # mode of the key or token that connected
    status = pw.TextField(default=AccountStatus.CONNECTED)
    status_message = pw.TextField(null=True)
    created_at = pw.DateTimeField(default=utc_now)


class DataSourceStatus:
    NEW = "new"
    SYNCING = "syncing"
    UP_TO_DATE = "up_to_date"
    FAILED = "failed"
    NEEDS_RECONNECT = "needs_reconnect"
    NOT_PERMITTED = "not_permitted"


class DataSource(BaseModel):
    account = pw.ForeignKeyField(Account, backref="data_sources", on_delete="CASCADE")
    data_type = pw.TextField()  # a key of catalog.DATA_TYPES
    title = pw.TextField()
    default_date_field = pw.TextField(default="created")
    update_frequency = pw.IntegerField(default=300)  # seconds
    history_since = pw.DateTimeField(null=True)  # None: all history
    include_test_data = pw.BooleanField(default=False)
    status = pw.TextField(default=DataSourceStatus.NEW)
    status_message = pw.TextField(null=True)
    last_synced_at = pw.DateTimeField(null=True)
    last_error = pw.TextField(null=True)
    sync_state = pw.TextField(default="{}")  # JSON: cursors and checkpoints, no secrets
    view_settings = pw.TextField(null=True)  # JSON: filters, hide sample data (schema v2)
    created_at = pw.DateTimeField(default=utc_now)

    @property
    def catalog(self) -> DataType:
        return DATA_TYPES[self.data_type]

    @property
    def modes(self) -> tuple[bool, ...]:
        """The modes its sync reads (True: live): the account's own, and test mode's sample
        data beside live when asked. An account in test mode reads that one mode only: its
        key cannot read live data, and its data is sample data already."""
        live = bool(self.account.livemode)
        return (True, False) if self.include_test_data and live else (live,)


class DataSourceField(BaseModel):
    data_source = pw.ForeignKeyField(DataSource, backref="fields", on_delete="CASCADE")
    key = pw.TextField()  # dotted path into the object, e.g. metadata.plan
    label = pw.TextField()
    kind = pw.TextField()  # catalog.Kind value
    custom = pw.BooleanField(default=False)  # discovered in the data, not from the catalog
    visible = pw.BooleanField(default=True)
    position = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("data_source", "key"), True),)


class SyncRun(BaseModel):
    data_source = pw.ForeignKeyField(DataSource, backref="sync_runs", on_delete="CASCADE")
    kind = pw.TextField()  # backfill, incremental, rebackfill
    started_at = pw.DateTimeField(default=utc_now)
    finished_at = pw.DateTimeField(null=True)
    status = pw.TextField(default="running")  # running, succeeded, failed, cancelled
    rows = pw.IntegerField(default=0)
    requests = pw.IntegerField(default=0)
    error = pw.TextField(null=True)


class Dashboard(BaseModel):
    title = pw.TextField()
    position = pw.IntegerField(default=0)
    settings = pw.TextField(default="{}")  # JSON: period, refresh interval, columns
    created_at = pw.DateTimeField(default=utc_now)
    updated_at = pw.DateTimeField(default=utc_now)


class Widget(BaseModel):
    dashboard = pw.ForeignKeyField(Dashboard, backref="widgets", on_delete="CASCADE")
    kind = pw.TextField()  # number, line, area, bar, table, gauge
    title = pw.TextField()
    formula = pw.TextField()
    config = pw.TextField(default="{}")  # JSON: period, format, target, grouping
    x = pw.IntegerField(default=0)
    y = pw.IntegerField(default=0)
    w = pw.IntegerField(default=1)
    h = pw.IntegerField(default=1)


class SavedFormula(BaseModel):
    """A formula kept by name, reusable as [name] in other formulas (schema v3)."""

    name = pw.TextField(unique=True)
    text = pw.TextField()
    config = pw.TextField(default="{}")  # JSON: output format, decimals, prefix, suffix
    created_at = pw.DateTimeField(default=utc_now)
    updated_at = pw.DateTimeField(default=utc_now)

    class Meta:
        table_name = "saved_formula"


class Alert(BaseModel):
    """A condition on a number or on a data source's health, and whether it holds now (v5).

    `active` is the state that makes an alert fire once: it fires when the condition turns
    true and not again until it has turned false; kept here, it survives a restart."""

    name = pw.TextField()
    condition = pw.TextField()  # above, below, change (percent either way), sync_failed
    formula = pw.TextField(default="")  # the number watched (empty for sync_failed)
    period = pw.TextField(default="today")
    threshold = pw.DoubleField(default=0)  # the value, the percent, or the minutes
    data_source = pw.ForeignKeyField(DataSource, null=True, on_delete="CASCADE")
    widget = pw.ForeignKeyField(Widget, null=True, on_delete="SET NULL")
    config = pw.TextField(default="{}")  # JSON: number format, e-mail recipients
    enabled = pw.BooleanField(default=True)
    active = pw.BooleanField(default=False)
    last_value = pw.DoubleField(null=True)
    last_checked_at = pw.DateTimeField(null=True)
    problem = pw.TextField(null=True)  # why it could not be evaluated, in words
    created_at = pw.DateTimeField(default=utc_now)


class ReportSchedule(BaseModel):
    """A dashboard sent out on a schedule (v5). The dashboard's title is kept so that a run
    after the dashboard was deleted can say which one is missing."""

    dashboard = pw.ForeignKeyField(Dashboard, null=True, on_delete="SET NULL")
    dashboard_title = pw.TextField()
    period = pw.TextField(default="previous_month")
    format = pw.TextField(default="pdf")  # pdf, png, csv, xlsx
    frequency = pw.TextField(default="weekly")  # daily, weekly, monthly
    at_time = pw.TextField(default="08:00")  # HH:MM in the user's time zone
    weekday = pw.IntegerField(default=0)  # weekly: 0 = Monday
    day_of_month = pw.IntegerField(default=1)  # monthly: 1..28
    folder = pw.TextField(default="")
    email_to = pw.TextField(default="")  # comma-separated; empty: folder only
    enabled = pw.BooleanField(default=True)
    next_run_at = pw.DateTimeField(null=True)  # UTC
    last_run_at = pw.DateTimeField(null=True)
    last_status = pw.TextField(null=True)  # sent, failed
    last_message = pw.TextField(null=True)
    created_at = pw.DateTimeField(default=utc_now)


class AlertFiring(BaseModel):
    """One entry of the Alerts list: an alert that fired, or a scheduled report that failed
    or was sent (v5)."""

    alert = pw.ForeignKeyField(Alert, null=True, on_delete="SET NULL")
    schedule = pw.ForeignKeyField(ReportSchedule, null=True, on_delete="SET NULL")
    kind = pw.TextField()  # alert, report_failed, report_sent
    at = pw.DateTimeField(default=utc_now, index=True)
    value = pw.DoubleField(null=True)
    message = pw.TextField()
    drill = pw.TextField(null=True)  # JSON: the registrations behind the value
    read = pw.BooleanField(default=False)


CORE_MODELS: tuple[type[BaseModel], ...] = (
    SchemaVersion,
    Account,
    DataSource,
    DataSourceField,
    SyncRun,
    Dashboard,
    Widget,
    SavedFormula,
    Alert,
    ReportSchedule,
    AlertFiring,
)

_COLUMN_TYPES = {
    Kind.MONEY: pw.BigIntegerField,
    Kind.NUMBER: pw.DoubleField,
    Kind.TEXT: pw.TextField,
    Kind.BOOL: pw.BooleanField,
    Kind.DATETIME: pw.BigIntegerField,  # Unix seconds, UTC
    Kind.ENUM: pw.TextField,
    Kind.REFERENCE: pw.TextField,
}

# Columns every registrations table has besides the catalog's fields.
BASE_COLUMNS = ("pk", "data_source", "stripe_id", "parent_id", "livemode", "data", "generation")


def column_for(kind: Kind, column_name: str) -> pw.Field:
    return _COLUMN_TYPES[kind](null=True, column_name=column_name)


# Dates that KPIs measure periods by besides the default (Paid invoices by the day paid).
# Their index carries the mode and the status, as the period index does, so that the starter
# dashboard's Count(Invoices, status = "paid" and livemode = true).Date(paid_at) reads it alone.
EXTRA_DATE_INDEXES = {
    "invoices": ("status_transitions.paid_at",),
}

# Fields dashboards group a period's rows by, carried at the end of the period index so that a
# grouped count reads the index alone (the starter dashboard's Top card brands).
PERIOD_GROUPINGS = {
    "charges": ("payment_method_details.card.brand",),
}


def indexed_dates(data_type: DataType) -> tuple[str, ...]:
    """The date fields a period can be found by in an index, without reading every row."""
    return (data_type.default_date_field, *EXTRA_DATE_INDEXES.get(data_type.name, ()))


# The amounts KPIs add up, per type. Each index costs every import some speed, so only the
# sums the starter dashboard and most KPIs use get one; other sums read the rows.
AGGREGATED_MONEY = {
    "charges": ["amount"],
    "balance_transactions": ["amount", "fee", "net"],
    "fee_details": ["amount"],
    "refunds": ["amount"],
    "invoices": ["amount_paid"],
}


# Where the field KPIs sort rows by is not the status: a balance transaction's reporting
# category is what Stripe's Dashboard builds Net volume, Refunds, Disputes and Stripe fees from.
KIND_COLUMNS = {"balance_transactions": "reporting_category"}


def kind_column(data_type: DataType) -> str | None:
    """The field that says what kind of row it is (a charge's status, a balance transaction's
    reporting category): KPIs filter and group by it, so indexes and rollups carry it."""
    if data_type.name in KIND_COLUMNS:
        return KIND_COLUMNS[data_type.name]
    return next((c for c in ("status", "type") if data_type.has_field(c)), None)


def aggregation_index(data_type: DataType) -> tuple[str, ...] | None:
    """A covering index for the usual KPI, a sum of money by currency in a period:

    Sum(Charges, amount, status = "succeeded" and livemode = true) reads only this index, not
    the rows with their stored JSON, and in currency order, so grouping by currency needs no
    sort."""
    money = AGGREGATED_MONEY.get(data_type.name)
    if not money:
        return None
    kind = kind_column(data_type)
    columns = ["data_source", "livemode", "currency", data_type.default_date_field]
    return tuple(columns + ([kind] if kind else []) + money)


def build_registration_model(data_type: DataType) -> type[BaseModel]:
    attrs: dict[str, object] = {
        # Not `id`: that name belongs to the catalog's field holding the Stripe object's id.
        "pk": pw.AutoField(),
        "data_source": pw.ForeignKeyField(DataSource, on_delete="CASCADE", index=False),
        "stripe_id": pw.TextField(),  # the catalog's id rule: own id, or parent-based
        "parent_id": pw.TextField(null=True),
        "livemode": pw.BooleanField(),
        "data": JsonTextField(),  # the Stripe object as JSON (jsonb on PostgreSQL)
        # Which full import last wrote the row: a re-import sweeps rows it did not see.
        "generation": pw.IntegerField(default=0),
    }
    for fld in data_type.fields:
        attrs[fld.column] = column_for(fld.kind, fld.column)
    # The status (or type) rides along in the period index: Count(Charges, status =
    # "failed" and livemode = true) for a period then reads the index alone.
    kind = kind_column(data_type)
    kinds = [kind] if kind else []
    groupings = [data_type.field(key).column for key in PERIOD_GROUPINGS.get(data_type.name, ())]
    indexes = [
        (("data_source", "stripe_id"), True),
        (("data_source", data_type.default_date_field), False),
        (("data_source", "livemode", data_type.default_date_field, *kinds, *groupings), False),
    ]
    for key in indexed_dates(data_type)[1:]:
        indexes.append((("data_source", data_type.field(key).column, "livemode", *kinds), False))
    if data_type.has_field("amount"):
        # The table sorts amounts within each currency (see RegistrationQuery._order).
        currency = ["currency"] if data_type.has_field("currency") else []
        indexes.append((("data_source", *currency, "amount"), False))
    aggregate = aggregation_index(data_type)
    if aggregate:
        indexes.append((aggregate, False))
    if data_type.parent:
        indexes.append((("data_source", "parent_id"), False))
    attrs["Meta"] = type(
        "Meta", (), {"table_name": f"registrations_{data_type.name}", "indexes": tuple(indexes)}
    )
    class_name = "".join(part.title() for part in data_type.name.split("_")) + "Registration"
    return type(class_name, (BaseModel,), attrs)


REGISTRATION_MODELS: dict[str, type[BaseModel]] = {
    name: build_registration_model(data_type) for name, data_type in DATA_TYPES.items()
}


def registration_model(data_type: str) -> type[BaseModel]:
    return REGISTRATION_MODELS[data_type]
