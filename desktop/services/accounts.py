"""Accounts and their data sources: creating them, finding them again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import peewee as pw

from desktop.catalog import DATA_TYPES
from desktop.store.models import Account, DataSource, DataSourceField
from desktop.store.writer import StoreWriter, write_with


@dataclass(frozen=True)
class AccountRow:
    id: int
    name: str
    method: str  # "oauth" or "api_key"
    livemode: bool
    status: str
    data_sources: int


def default_title(type_name: str) -> str:
    return f"Stripe {DATA_TYPES[type_name].display_name}"


class AccountsService:
    """Accounts and their data sources. `writer`: the store's one writer (None: scripts that
    own the database write here)."""

    def __init__(self, writer: StoreWriter | None = None) -> None:
        self.writer = writer

    @staticmethod
    def get(account_id: int) -> Account:
        return Account.get_by_id(account_id)

    def find(
        self, *, auth_method: str, api_base: str | None, livemode: bool, name: str
    ) -> Account | None:
        query = Account.select().where(
            (Account.auth_method == auth_method)
            & (Account.livemode == livemode)
            & (Account.name == name)
            & (Account.api_base.is_null() if api_base is None else Account.api_base == api_base)
        )
        return query.first()

    def find_connected_stripe_account(
        self, provider: str, stripe_account_id: str | None
    ) -> Account | None:
        """An account already connected through the same login provider to the same Stripe
        account: connecting it again reuses it rather than importing everything twice."""
        if not stripe_account_id:
            return None
        return (
            Account.select()
            .where(
                (Account.provider == provider) & (Account.stripe_account_id == stripe_account_id)
            )
            .first()
        )

    @staticmethod
    def imported_types(account: Account | None) -> set[str]:
        if account is None:
            return set()
        query = DataSource.select(DataSource.data_type).where(DataSource.account == account)
        return {ds.data_type for ds in query}

    def rows(self) -> list[AccountRow]:
        """Every account with its data source count, for Settings."""
        counts = dict(
            DataSource.select(DataSource.account, pw.fn.COUNT(DataSource.id))
            .group_by(DataSource.account)
            .tuples()
        )
        return [
            AccountRow(a.id, a.name, a.auth_method, a.livemode, a.status, counts.get(a.id, 0))
            for a in Account.select().order_by(Account.name)
        ]

    def create(
        self,
        *,
        name: str,
        auth_method: str,
        keyring_entry: str,
        livemode: bool,
        api_base: str | None = None,
        provider: str | None = None,
        stripe_account_id: str | None = None,
    ) -> Account:
        return Account.create(
            name=name,
            auth_method=auth_method,
            keyring_entry=keyring_entry,
            livemode=livemode,
            api_base=api_base,
            provider=provider,
            stripe_account_id=stripe_account_id,
        )

    def ensure_data_sources(
        self,
        account: Account,
        type_names: Iterable[str],
        *,
        include_test_data: bool = False,
        update_frequency: int = 300,
        history_since: dt.datetime | None = None,
        titles: dict[str, str] | None = None,
        default_date_fields: dict[str, str] | None = None,
    ) -> list[DataSource]:
        """The account's data source of each type, created with the catalog's fields if new."""
        return write_with(
            self.writer,
            lambda: self._ensure_data_sources(
                account,
                type_names,
                include_test_data=include_test_data,
                update_frequency=update_frequency,
                history_since=history_since,
                titles=titles,
                default_date_fields=default_date_fields,
            ),
        )

    def connect_and_create(self, connect: Callable[[], Account], type_names, **options):
        """The account `connect` makes (or renews) and its data sources, in one transaction:
        a keychain or disk failure leaves nothing half-made. Options as ensure_data_sources."""
        return write_with(
            self.writer, lambda: self.ensure_data_sources(connect(), type_names, **options)
        )

    @staticmethod
    def _ensure_data_sources(
        account: Account,
        type_names: Iterable[str],
        *,
        include_test_data: bool,
        update_frequency: int,
        history_since: dt.datetime | None,
        titles: dict[str, str] | None,
        default_date_fields: dict[str, str] | None,
    ) -> list[DataSource]:
        result = []
        for name in type_names:
            data_type = DATA_TYPES[name]
            existing = (
                DataSource.select()
                .where((DataSource.account == account) & (DataSource.data_type == name))
                .first()
            )
            if existing is not None:
                result.append(existing)
                continue
            ds = DataSource.create(
                account=account,
                data_type=name,
                title=(titles or {}).get(name) or default_title(name),
                default_date_field=(default_date_fields or {}).get(name)
                or data_type.default_date_field,
                update_frequency=update_frequency,
                include_test_data=include_test_data,
                history_since=history_since,
            )
            DataSourceField.insert_many(
                [
                    {
                        "data_source": ds.id,
                        "key": f.key,
                        "label": f.label,
                        "kind": str(f.kind),
                        "custom": False,
                        "visible": True,
                        "position": position,
                    }
                    for position, f in enumerate(data_type.fields)
                ]
            ).execute()
            result.append(ds)
        return result
