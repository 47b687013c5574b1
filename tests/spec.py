"""Access to Stripe's OpenAPI spec in ../shared/stripe-openapi, for tests that hold our code
(catalog, simulator) against what Stripe documents."""

from __future__ import annotations

import functools
import json
from pathlib import Path

SPEC_DIR = Path(__file__).resolve().parents[2] / "shared" / "stripe-openapi"
SPEC_PATH = SPEC_DIR / "spec3.json"


@functools.cache
def load_spec() -> dict:
    if not SPEC_PATH.exists():
        raise FileNotFoundError(
            f"Stripe's OpenAPI spec is expected at {SPEC_PATH} (the shared/ folder beside the "
            "checkout); the catalog and simulator tests are checked against it."
        )
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def schemas() -> dict:
    return load_spec()["components"]["schemas"]


def resolve(node: dict) -> list[dict]:
    """The alternatives a schema node stands for, with $refs followed."""
    if "$ref" in node:
        return resolve(schemas()[node["$ref"].rsplit("/", 1)[-1]])
    if "anyOf" in node:
        return [alt for sub in node["anyOf"] for alt in resolve(sub)]
    return [node]


def property_alternatives(schema_name: str, dotted_key: str) -> list[dict] | None:
    """The spec's alternatives for a dotted path in an object schema; None if it is absent."""
    nodes = [schemas()[schema_name]]
    for part in dotted_key.split("."):
        found = [
            sub
            for node in nodes
            for sub in resolve(node.get("properties", {}).get(part, {"x-missing": True}))
            if "x-missing" not in sub
        ]
        if not found:
            return None
        nodes = found
    return nodes


def _to_json_schema(node):
    """OpenAPI 3.0 schema -> JSON Schema: `nullable` becomes a null alternative."""
    if isinstance(node, list):
        return [_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    converted = {
        k: _to_json_schema(v)
        for k, v in node.items()
        if not k.startswith("x-") and k not in ("nullable", "description")
    }
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@functools.cache
def _components() -> dict:
    return {"schemas": _to_json_schema(schemas())}


@functools.cache
def validator(schema_name: str):
    import jsonschema

    root = {"$ref": f"#/components/schemas/{schema_name}", "components": _components()}
    return jsonschema.Draft202012Validator(root)


def schema_errors(schema_name: str, obj: dict) -> list[str]:
    """Every way `obj` breaks Stripe's schema for `schema_name`, as readable lines."""
    return [
        f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
        for e in validator(schema_name).iter_errors(obj)
    ]
