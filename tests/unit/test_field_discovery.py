"""Update fields: Livemode, metadata keys and nested values appear after an import."""

from __future__ import annotations

from desktop.catalog import Kind
from desktop.services.registrations import RegistrationsService, field_label, infer_kind
from desktop.store.models import DataSourceField
from tests.syncing import import_into


def test_update_fields_adds_livemode_metadata_and_nested_values(db, simulator):
    charges = import_into(db, simulator, ("charges",)).data_source("charges")
    service = RegistrationsService()
    added = {f.key: f for f in service.update_fields(charges)}
    assert added["livemode"].kind is Kind.BOOL and added["livemode"].label == "Livemode"
    assert added["metadata.plan"].label == "Plan (metadata)"
    assert added["metadata.order_id"].kind is Kind.TEXT
    assert added["outcome.risk_score"].kind is Kind.NUMBER
    assert added["payment_method_details.card.exp_year"].kind is Kind.NUMBER
    assert "amount" not in added  # already a catalog field
    assert not any("[" in key for key in added)
    assert not any(key.count(".") > 3 for key in added)
    stored = {
        f.key: f for f in DataSourceField.select().where(DataSourceField.data_source == charges)
    }
    assert stored["livemode"].custom and stored["livemode"].visible
    assert stored["metadata.plan"].visible and not stored["outcome.risk_score"].visible
    assert service.update_fields(charges) == []  # nothing new the second time


def test_labels_and_kinds():
    assert field_label("billing_details.address.country") == "Billing details address country"
    assert field_label("metadata.signup_source") == "Signup source (metadata)"
    assert infer_kind("status_transitions.paid_at", "integer") is Kind.DATETIME
    assert infer_kind("amount_due", "integer") is Kind.MONEY
    assert infer_kind("metadata.total_seats", "integer") is Kind.NUMBER
    assert infer_kind("refunded", "false") is Kind.BOOL
    assert infer_kind("exchange_rate", "real") is Kind.NUMBER
