"""Nothing lost, nothing leaked, no crash: a full disk, a read-only folder, the network going
away in the middle of a sync, odd Stripe objects, damaged dashboard files, and TLS."""

from __future__ import annotations

import copy
import json
import os
import re
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.services.kpi.dashboards import DashboardError, DashboardsService
from desktop.services.kpi.library import FormulaLibrary
from desktop.services.registrations import RegistrationQuery, RegistrationsService
from desktop.services.stripe.http import parse_list_page
from desktop.services.sync.rows import table_rows
from desktop.store.db import StoreError, open_database
from desktop.store.models import DataSource, registration_model
from tests.syncing import assert_stored_part_is_whole, store_differences

ROOT = Path(__file__).resolve().parents[2]


# --- a full disk ---------------------------------------------------------------------------


@pytest.mark.parametrize("store_target", ["sqlite"], indirect=True)
def test_a_full_disk_stops_the_sync_in_words_and_loses_nothing(
    make_simulator, harness_for, db, expected_log_warnings
):
    """SQLite's own 'database or disk is full', made real by capping the file's size."""
    simulator = make_simulator(size=6000, seed=21)
    harness = harness_for(simulator, types=("charges",), include_test_data=False)
    pages = db.execute_sql("PRAGMA page_count").fetchone()[0]
    page_size = db.execute_sql("PRAGMA page_size").fetchone()[0]
    # The writer's connections (its thread's and its process's) write; cap the file about a
    # third of the way into the import (which takes about 15 MB).
    cap = pages + 5_000_000 // page_size
    harness.writer.pragma(f"PRAGMA max_page_count = {cap}")
    (result,) = harness.sync()
    assert result.status == "failed"
    assert "The disk is full" in result.message and "Nothing was lost" in result.message
    ds = harness.data_source("charges")
    assert ds.status == "failed" and "disk is full" in ds.status_message
    assert_stored_part_is_whole(simulator, "charges")
    # Space again: the next sync continues where it stopped and ends exact.
    harness.writer.pragma("PRAGMA max_page_count = 1073741823")
    (result,) = harness.sync()
    assert result.status == "up_to_date"
    assert store_differences(harness, modes=(True,)) == []


# --- a read-only data folder ---------------------------------------------------------------


def test_a_read_only_data_folder_is_refused_in_words(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    db = open_database(folder / "ledgerboard.sqlite")
    db.close()
    before = sorted(p.name for p in folder.iterdir())
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(StoreError, match=r"data folder .* is read-only"):
            open_database(folder / "ledgerboard.sqlite")
        assert sorted(p.name for p in folder.iterdir()) == before
    finally:
        folder.chmod(stat.S_IRWXU)


def test_the_app_refuses_a_read_only_data_folder_with_exit_2(tmp_path):
    import subprocess
    import sys

    folder = tmp_path / "data"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "desktop", "--self-test", "--data-dir", str(folder)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        )
    finally:
        folder.chmod(stat.S_IRWXU)
    assert result.returncode == 2
    assert "is read-only" in result.stderr and "Traceback" not in result.stderr
    assert list(folder.iterdir()) == []  # not even a log file was written


# --- the network goes away -----------------------------------------------------------------


def test_offline_in_the_middle_of_a_sync_then_back_ends_exact(
    make_simulator, harness_for, expected_log_warnings
):
    simulator = make_simulator(size=8000, seed=22, slow_seconds=0.002)
    harness = harness_for(simulator, types=("charges", "customers"), include_test_data=False)
    charges = registration_model("charges")
    gone = threading.Event()

    def cut_when_half_there() -> None:
        while charges.select().count() < 2000:
            if gone.wait(0.01):
                return
        simulator.go_offline()
        gone.set()

    cutter = threading.Thread(target=cut_when_half_there)
    cutter.start()
    results = harness.sync()
    cutter.join()
    assert gone.is_set()
    failed = [r for r in results if r.status == "failed"]
    assert failed, [(r.status, r.message) for r in results]
    for result in failed:
        assert re.search(r"reach Stripe|connection|network", result.message, re.IGNORECASE)
    partial = charges.select().count()
    assert 0 < partial < simulator.dataset.count("charges", True)
    simulator.come_back()
    results = harness.sync()
    assert {r.status for r in results} == {"up_to_date"}
    assert store_differences(harness, modes=(True,)) == []


# --- odd Stripe objects --------------------------------------------------------------------

TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "<b>bold</b><script>alert(1)</script>",
            "&lt;img src=x onerror=alert(1)&gt;",
            "Ærø Kǿbenhavn 東京 🚀 \u202etxet\u202c",
            "line\nbreak\ttab",
            "",
            "'; DROP TABLE registrations_charges; --",
            "cut \ud83d here",  # half an emoji: read as "cut \ufffd here"
        ]
    ),
)
# No NaN or Infinity: Stripe's JSON cannot carry them, and a page that does is refused
# (test_a_page_with_nan_is_malformed).
SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), TEXT
)


@st.composite
def odd_charges(draw, base: dict):
    obj = copy.deepcopy(base)
    obj["id"] = "ch_" + draw(
        st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=6, max_size=14)
    )
    for key in draw(st.lists(st.sampled_from(sorted(obj)), max_size=8, unique=True)):
        if key in ("id", "object"):
            continue
        action = draw(st.sampled_from(["drop", "null", "scalar"]))
        if action == "drop":
            del obj[key]
        elif action == "null":
            obj[key] = None
        else:
            obj[key] = draw(SCALAR)
    for _ in range(draw(st.integers(0, 3))):  # fields Stripe may add one day
        obj[draw(st.text("abcdefgh_", min_size=1, max_size=12))] = draw(SCALAR)
    size = draw(st.sampled_from([0, 1, 50]))
    obj["metadata"] = {
        f"k{i}_{draw(st.text('abc', max_size=3))}": draw(TEXT) * draw(st.sampled_from([1, 12]))
        for i in range(size)
    }
    obj["description"] = draw(TEXT)
    return obj


@pytest.fixture(scope="module")
def odd_store(tmp_path_factory):
    from desktop.services.accounts import AccountsService
    from desktop.simulator.dataset import Dataset
    from desktop.store.migrations import migrate

    db = open_database(tmp_path_factory.mktemp("odd") / "odd.sqlite")
    migrate(db)
    account = AccountsService().create(
        name="Odd", auth_method="api_key", keyring_entry="", livemode=True
    )
    (ds,) = AccountsService().ensure_data_sources(account, ["charges"])
    base = next(Dataset(seed=3, size=10).iterate("charges", True))
    yield db, ds, base
    db.close()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_odd_objects_are_stored_whole_and_shown_as_plain_text(odd_store, data, qapp):
    from desktop.views.registrations_model import RegistrationsTableModel

    db, ds, base = odd_store
    objects = [data.draw(odd_charges(base)) for _ in range(3)]
    for n, obj in enumerate(objects):
        obj["id"] = f"{obj['id']}_{n}"  # one object per id within an example
    # As Stripe sends them: a page of JSON (which escapes half an emoji as \ud83d), read as a
    # sync reads it.
    page = json.dumps({"object": "list", "data": objects, "has_more": False}).encode()
    objects = parse_list_page(page)["data"]
    rows = table_rows("charges")
    with db.atomic():
        written = []
        for obj in objects:
            live = obj.get("livemode") if isinstance(obj.get("livemode"), bool) else True
            written.append(rows.row(ds.id, obj["id"], None, live, 1, obj))
        rows.upsert(db, written)
    table = registration_model("charges")
    for obj in objects:
        stored = table.get((table.data_source == ds.id) & (table.stripe_id == obj["id"]))
        assert json.loads(stored.data) == json.loads(json.dumps(obj))  # the object, whole
    # Update fields reads the odd data with SQL's JSON functions without failing.
    RegistrationsService().update_fields(DataSource.get_by_id(ds.id))
    query = RegistrationQuery(DataSource.get_by_id(ds.id))
    model = RegistrationsTableModel(query, "UTC")
    model.refresh()
    for row in range(min(model.rowCount(), 50)):
        for column in range(model.columnCount()):
            shown = model.index(row, column).data()
            assert shown is None or isinstance(shown, str)
    description = [f.key for f in model.columns].index("description")
    texts = {model.index(r, description).data() for r in range(model.rowCount())}
    for obj in objects:
        if isinstance(obj["description"], str) and obj["description"]:
            assert obj["description"] in texts  # as written: no markup interpreted or lost


def test_a_page_with_nan_is_malformed():
    from desktop.services.stripe.http import parse_list_page

    for constant in (b"NaN", b"Infinity", b"-Infinity"):
        body = b'{"object": "list", "data": [{"id": "ch_1", "amount": ' + constant + b"}]}"
        with pytest.raises(ValueError, match="is not JSON"):
            parse_list_page(body)


def test_rows_keep_odd_values_as_exact_storable_json():
    from desktop.services.sync.rows import encode_json

    # What orjson cannot write: an integer past 64 bits, a lone surrogate.
    odd = {"id": "ch_1", "big": 2**70, "name": "\ud800", "é": 1.5}
    text = encode_json(odd)
    assert json.loads(text) == odd
    text.encode("utf-8")  # storable: SQLite takes UTF-8, which has no lone surrogates
    plain = {"id": "ch_2", "name": "é", "n": [1, 2.5, None, True, 1e20]}
    assert encode_json(plain) == json.dumps(plain, separators=(",", ":"), ensure_ascii=False)


# --- damaged dashboard files ---------------------------------------------------------------


@pytest.fixture
def dashboards(db):
    return DashboardsService(FormulaLibrary())


def _valid_file() -> dict:
    return {
        "format": "ledgerboard-dashboard",
        "version": 1,
        "title": "Sales",
        "settings": {"period": "this_month"},
        "formulas": [{"name": "Orders", "text": "Count(Charges)"}],
        "widgets": [
            {
                "kind": "number",
                "title": "Orders",
                "formula": "[Orders]",
                "config": {"format": {"style": "number"}},
                "x": 0,
                "y": 0,
                "w": 3,
                "h": 2,
            }
        ],
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"\x89PNG\r\n", "not valid JSON"),
        ('{"format": "ledgerboard-dashboard", "version": 1, "widgets": [', "not valid JSON"),
        ("[]", "not a Ledgerboard dashboard"),
        ('{"format": "something-else"}', "not a Ledgerboard dashboard"),
        ('{"format": "ledgerboard-dashboard", "version": 99}', "newer Ledgerboard"),
        ('{"format": "ledgerboard-dashboard", "version": 1, "widgets": {}}', "not a list"),
        ('{"format": "ledgerboard-dashboard", "version": 1, "widgets": [7]}', "Widget 1"),
        (
            '{"format": "ledgerboard-dashboard", "version": 1, "widgets": [{"kind": "pie"}]}',
            "Unknown widget type",
        ),
    ],
)
def test_a_damaged_dashboard_file_gives_a_message(dashboards, text, message):
    with pytest.raises(DashboardError, match=message):
        dashboards.import_json(text)
    assert dashboards.dashboards() == []  # nothing half-imported


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(0, 2000), junk=st.text(max_size=5), position=st.integers(0, 2000))
def test_any_mangled_dashboard_file_imports_or_is_refused_in_words(dashboards, cut, junk, position):
    text = json.dumps(_valid_file())
    mangled = text[:position] + junk + text[position:]
    mangled = mangled[: max(cut, 1)] if cut < len(mangled) else mangled
    try:
        dashboard_id = dashboards.import_json(mangled)
    except DashboardError as exc:
        assert str(exc)
    else:
        assert dashboard_id in [d.id for d in dashboards.dashboards()]
        dashboards.refresh(dashboard_id)  # evaluates, whatever the widgets say


# --- TLS ------------------------------------------------------------------------------------


def test_tls_verification_is_never_turned_off():
    """No code path disables certificate checks; Stripe's hosts are always verified."""
    offenders = []
    for path in (ROOT / "desktop").rglob("*.py"):
        text = path.read_text()
        for pattern in (
            r"verify\s*=\s*False",
            r"CERT_NONE",
            r"check_hostname\s*=\s*False",
            r"_create_unverified_context",
            r"verify_ssl_certs\s*=\s*False",
        ):
            if re.search(pattern, text):
                offenders.append(f"{path.relative_to(ROOT)}: {pattern}")
    assert offenders == []


def test_the_stripe_client_refuses_a_server_with_an_untrusted_certificate(tmp_path):
    """A real TLS server on 127.0.0.1 with a self-signed certificate: the client that talks
    to Stripe must refuse it (it would accept it if verification were off)."""
    import datetime as dt
    import http.server
    import ssl

    import stripe
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from desktop.services.stripe.http import StripeHTTPClient

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "api.stripe.com")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"object": "list", "data": []}')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = StripeHTTPClient(timeout=5)
        url = f"https://127.0.0.1:{server.server_address[1]}/v1/charges"
        with pytest.raises(stripe.APIConnectionError, match="SSLError"):
            client.request("GET", url, {})
    finally:
        server.shutdown()
        server.server_close()
