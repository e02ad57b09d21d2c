"""Property-based fuzzing of the JSON API from its OpenAPI description (schemathesis): never a 5xx.

Runs logged in as a clinician (cookie + CSRF header). Half of the generated path ids are replaced by ids
that exist, so that the handlers behind the 404 are exercised too. ``/api/logout`` and the password change
are left out (they would end the fuzzing session). Date-times include the extremes of the calendar with
extreme offsets; a second test sends every JSON field of every operation the values JSON parsers let
through but RFC 8259 forbids (NaN, Infinity, 1e400, lone surrogates) and NUL characters. Examples per
operation are limited to keep the run short.
"""

from __future__ import annotations

import atexit
import itertools
import json
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from test_web_helpers import PASSWORDS, make_db  # noqa: E402

from crampwatch.web.app import create_app  # noqa: E402

_FUZZ_DIR = Path(tempfile.mkdtemp(prefix="crampwatch-fuzz-"))
atexit.register(shutil.rmtree, _FUZZ_DIR, True)
DB = make_db(_FUZZ_DIR)
APP = create_app(DB.store, secret_key="fuzz-secret-key")
_client = TestClient(APP)
_login = _client.post("/api/login", json={"username": "clin", "password": PASSWORDS["clin"]}).json()
COOKIES = {"cw_session": _client.cookies["cw_session"]}
HEADERS = {"X-CSRF-Token": _login["csrf_token"]}

#: Date-times a parser accepts but that overflow when converted to UTC, or lie far from any real report.
EXTREME_DATETIMES = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
]
schemathesis.openapi.format(
    "date-time",
    st.one_of(
        st.sampled_from(EXTREME_DATETIMES),
        st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    ),
)
OPENAPI = _client.get("/api/openapi.json").json()
schema = schemathesis.openapi.from_dict(OPENAPI)
schema.app = APP
schema = schema.exclude(path="/api/logout").exclude(path="/api/me/password")
REAL_IDS = {"patient_id": DB.p1, "session_id": DB.s1}
_counter = itertools.count()


@pytest.mark.slow  # about 20 s in all: up to 15 generated requests per operation
@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_fails_with_5xx(case):
    if case.path_parameters and next(_counter) % 2 == 0:
        for name in case.path_parameters:
            if name in REAL_IDS:
                case.path_parameters[name] = REAL_IDS[name]
    response = case.call(headers=HEADERS, cookies=COOKIES)
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code, response.text)
    case.validate_response(response, checks=[not_a_server_error])


OPERATIONS = [result.ok() for result in schema.get_all_operations()]


@pytest.mark.slow  # a few seconds: three generated requests per operation
@given(data=st.data())
@settings(
    max_examples=1, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
)
def test_generated_requests_reach_the_handlers(data):
    """Generated requests (with ids that exist) are authenticated and get past validation for most
    operations: the fuzzing above exercises the handlers, not only the login and validation layers. The
    requests are made here, so the check does not depend on which tests ran before it."""
    statuses: Counter[tuple[str, int]] = Counter()
    for operation in OPERATIONS:
        for _ in range(3):
            case = data.draw(operation.as_strategy())
            for name in case.path_parameters or {}:
                if name in REAL_IDS:
                    case.path_parameters[name] = REAL_IDS[name]
            statuses[(operation.label, case.call(headers=HEADERS, cookies=COOKIES).status_code)] += 1
    assert not [label for label, code in statuses if code == 401 and label != "POST /api/login"], statuses
    ok_ops = {label for label, code in statuses if code in (200, 201)}
    assert len(ok_ops) >= 8, sorted(statuses)


#: JSON values Python's parser accepts but RFC 8259 does not, NUL characters, and extreme dates.
HOSTILE_VALUES = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "1" + "0" * 400,
    '"\\ud800"',
    '"x\\udfff"',
    '"a\\u0000b"',
    *(f'"{d}"' for d in EXTREME_DATETIMES),
]


def _json_fields() -> list[tuple[str, str, str]]:
    """(path, method, field) for every field of every JSON request body in the API description."""
    out = []
    for path, methods in OPENAPI["paths"].items():
        for method, op in methods.items():
            content = (op.get("requestBody") or {}).get("content", {}).get("application/json")
            if not content or path in ("/api/logout", "/api/me/password"):
                continue
            ref = content["schema"].get("$ref", "")
            props = (
                OPENAPI["components"]["schemas"][ref.rsplit("/", 1)[-1]].get("properties", {}) if ref else {}
            )
            out += [(path, method, name) for name in props]
    return out


JSON_FIELDS = _json_fields()


def test_hostile_json_reaches_every_body_field():
    assert len(JSON_FIELDS) >= 15 and {f[0] for f in JSON_FIELDS} >= {"/api/login", "/api/reports"}


@pytest.mark.slow  # a few seconds: one request per example
@given(target=st.sampled_from(JSON_FIELDS), value=st.sampled_from(HOSTILE_VALUES))
@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
def test_hostile_json_values_never_fail_with_5xx(target, value):
    path, method, field = target
    path = path.replace("{session_id}", DB.s1).replace("{patient_id}", DB.p1).replace("{username}", "clin")
    base = {"idempotency_key": f"fuzz-{next(_counter)}-key", "muscle": "calf", "severity": 3}
    base.pop(field, None)
    body = json.dumps(base)[:-1] + f', "{field}": {value}}}'  # the hostile value is the last word
    response = _client.request(
        method.upper(), path, content=body, headers={**HEADERS, "content-type": "application/json"}
    )
    assert response.status_code < 500, (method, path, field, value, response.status_code, response.text[:300])
    assert response.status_code in (200, 201, 401, 403, 404, 422, 429), (
        path,
        field,
        value,
        response.status_code,
    )
