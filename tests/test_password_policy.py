"""One password policy on every surface that sets a password: the command line, the JSON API, the admin
page and the password page refuse the same passwords (too short, the username, a common password) with a
message naming the field and never repeating the password."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_web_helpers import api_login, form_csrf, page_login
from typer.testing import CliRunner

import crampwatch.cli.store_cmd  # noqa: F401  (registers the commands)
from crampwatch.cli.app import app as cli_app
from crampwatch.errors import InputError
from crampwatch.store.security import MIN_PASSWORD_LENGTH, check_password_policy, common_passwords

pytest_plugins = ["test_web_helpers"]  # the db and app fixtures

#: (password for the user ``newuser1``, the rule it breaks)
REFUSED = [
    ("x" * (MIN_PASSWORD_LENGTH - 1) + "!", None),  # exactly the minimum: accepted (control)
    ("short-pw9", "characters"),  # 9 characters: 8 were enough for the API and the password page
    ("qwertyuiop", "common"),
    ("Password123", "common"),
    ("NewUser1", "characters"),
    ("newuser1newuser1", None),  # contains the username twice: not the username itself (control)
    ("1RESUWEN-x", None),
]
USERNAME = "newuser1"


def test_policy_rules():
    assert MIN_PASSWORD_LENGTH == 10
    assert len(common_passwords()) > 1000
    for password, rule in REFUSED:
        if rule is None:
            check_password_policy(password, USERNAME)
        else:
            with pytest.raises(InputError, match=rule):
                check_password_policy(password, USERNAME)
    with pytest.raises(InputError, match="username"):
        check_password_policy("Newuser1-A", "newuser1-a")
    with pytest.raises(InputError, match="username"):
        check_password_policy("a-1resuwen", "newuser1-a")


BAD = [("short-pw9", "characters"), ("qwertyuiop", "common"), ("Clinician-7", "username")]


def _assert_refused(status: int, text: str, password: str, rule: str, expected_status: int = 422) -> None:
    assert status == expected_status, text
    assert rule in text and password not in text


@pytest.mark.parametrize(("password", "rule"), BAD)
def test_cli_refuses(tmp_path: Path, monkeypatch, password, rule):
    monkeypatch.delenv("CRAMPWATCH_DATABASE_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    name = "clinician-7" if rule == "username" else "clin9"
    args = ["user", "add", name, "--role", "clinician", "--password-stdin", "--database-url", url]
    result = CliRunner().invoke(cli_app, args, input=password + "\n")
    assert result.exit_code == 2 and rule in result.output and password not in result.output
    passwd = CliRunner().invoke(cli_app, args, input="a-Fine-passphrase\n")
    assert passwd.exit_code == 0, passwd.output
    again = CliRunner().invoke(
        cli_app, ["user", "passwd", name, "--password-stdin", "--database-url", url], input=password + "\n"
    )
    assert again.exit_code == 2 and rule in again.output


@pytest.mark.parametrize(("password", "rule"), BAD)
def test_api_refuses(app, db, password, rule):
    admin = TestClient(app)
    headers = api_login(admin, "adm")
    name = "clinician-7" if rule == "username" else "clin9"
    body = {"username": name, "password": password, "role": "clinician"}
    r = admin.post("/api/users", json=body, headers=headers)
    _assert_refused(r.status_code, r.text, password, rule)
    assert db.store.get_user(name) is None
    db.store.add_user("clinician-7", "a-Fine-passphrase", "clinician")
    own = TestClient(app)
    own_headers = api_login(own, "clinician-7", "a-Fine-passphrase")
    change = {"current_password": "a-Fine-passphrase", "new_password": password}
    r = own.post("/api/me/password", json=change, headers=own_headers)
    _assert_refused(r.status_code, r.text, password, rule)


@pytest.mark.parametrize(("password", "rule"), BAD)
def test_pages_refuse(app, db, password, rule):
    admin = TestClient(app)
    page_login(admin, "adm")
    token = form_csrf(admin.get("/admin").text)
    name = "clinician-7" if rule == "username" else "clin9"
    form = {"csrf_token": token, "username": name, "password": password, "role": "clinician"}
    r = admin.post("/admin/users", data=form)
    _assert_refused(r.status_code, r.text, password, rule)
    assert db.store.get_user(name) is None


def test_password_page_refuses_the_same_passwords(app, db):
    db.store.add_user("clinician-7", "a-Fine-passphrase", "clinician")
    client = TestClient(app)
    page_login(client, "clinician-7", "a-Fine-passphrase")
    page = client.get("/password")
    for password, rule in BAD:
        form = {
            "csrf_token": form_csrf(page.text),
            "current_password": "a-Fine-passphrase",
            "new_password": password,
            "new_password_again": password,
        }
        r = client.post("/password", data=form)
        _assert_refused(r.status_code, r.text, password, rule)
    headers = api_login(TestClient(app), "clinician-7", "a-Fine-passphrase")
    assert headers
