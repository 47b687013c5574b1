"""Reading list pages raw: the parser keeps each item's JSON text and refuses broken bodies."""

from __future__ import annotations

import json

import pytest

from desktop.services.http import parse_list_page


def test_a_compact_page_keeps_each_items_text():
    items = [{"id": "ch_1", "amount": 5, "nested": {"a": [1, "x,]}"]}}, {"id": "ch_2", "s": 'é"q'}]
    body = json.dumps(
        {"object": "list", "data": items, "has_more": True, "url": "/v1/charges"},
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    page = parse_list_page(body)
    assert page["data"] == items and page["has_more"] is True and page["url"] == "/v1/charges"
    assert [json.loads(t) for t in page["data_json"]] == items


def test_a_pretty_page_parses_but_its_texts_are_not_kept():
    items = [{"id": "ch_1", "amount": 5}]
    body = json.dumps({"object": "list", "data": items, "has_more": False}, indent=2).encode()
    page = parse_list_page(body)
    assert page["data"] == items and page["data_json"] == [None]


@pytest.mark.parametrize(
    "body", [b'{"object":"list","data":[{"id":"ch_1"},{"id":', b"", b"[]", b"{"]
)
def test_a_broken_body_is_a_value_error(body):
    with pytest.raises(ValueError):
        parse_list_page(body)
