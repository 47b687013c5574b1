"""The wizard's rules, without Qt."""

from __future__ import annotations

import pytest

from desktop.services.new_source_flow import NewSourceFlow, Step


def test_the_steps_follow_plectos_order():
    flow = NewSourceFlow()
    assert flow.step is Step.SOURCE
    assert flow.next() is Step.CONNECT
    assert flow.blocker() == "Connect a Stripe account first."
    with pytest.raises(ValueError):
        flow.next()
    flow.set_connected("Acme", sample_data_possible=True)
    assert flow.next() is Step.TYPES
    assert flow.blocker() == "Select at least one data type to import."
    flow.set_selected(["customers", "charges"])
    assert flow.selected == ["charges", "customers"]  # catalog order
    assert flow.next() is Step.IMPORT
    assert flow.back() is Step.IMPORT  # an import cannot be walked back


def test_a_key_that_cannot_read_a_type_marks_it_and_blocks_it():
    flow = NewSourceFlow(step=Step.TYPES)
    flow.set_connected(
        "Key …1234",
        sample_data_possible=False,
        readable={"charges": True, "disputes": False},
        reasons={"disputes": "needs Disputes (read)"},
    )
    choices = {name: why for name, _, _, why in flow.choices()}
    assert choices["disputes"].endswith("needs Disputes (read)")
    assert choices["charges"] is None
    flow.set_selected(["charges", "disputes"])
    assert "cannot read Disputes" in flow.blocker()
    flow.select_all()
    assert "disputes" not in flow.selected and "charges" in flow.selected


def test_advanced_settings_have_sensible_defaults():
    flow = NewSourceFlow()
    assert flow.title("charges") == "Stripe Charges"
    assert flow.date_field("invoices") == "created"
    assert ("status_transitions.paid_at", "Paid at") in flow.date_field_choices("invoices")
    assert flow.advanced.update_frequency == 300
    assert flow.advanced.include_sample_data is False
    flow.advanced.titles["charges"] = "  "
    flow.step = Step.TYPES
    flow.set_connected("x", sample_data_possible=False)
    flow.set_selected(["charges"])
    assert flow.blocker() == "Give Charges a title."


def test_sample_data_needs_a_way_to_read_it():
    flow = NewSourceFlow()
    flow.advanced.include_sample_data = True
    flow.set_connected("Key", sample_data_possible=False)
    assert flow.advanced.include_sample_data is False


def test_an_account_with_every_type_imported_says_so_rather_than_select_one():
    from desktop.catalog import DATA_TYPES

    flow = NewSourceFlow()
    flow.next()
    flow.set_already_imported(set(DATA_TYPES) - {"refunds"})
    flow.set_connected("Acme", sample_data_possible=False)
    flow.next()
    assert flow.blocker() == "Select at least one data type to import."
    flow.set_already_imported(set(DATA_TYPES))
    assert flow.blocker() == "Every data type of this account is imported already."
    flow.select_all()
    assert flow.selected == [] and flow.back() is Step.CONNECT
