"""The `portal` command line, run as operators run it: as a separate process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from portal import create_app
from portal.extensions import db
from portal.models import Party, User

BIN = Path(sys.executable).parent


def _portal(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "portal"), *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PORTAL_INSTANCE_DIR=str(tmp_path / "instance"), PORTAL_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite3'}",
               PORTAL_SECRET_KEY="cli-test")
    result = _portal(env, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    return env


def test_operator_builds_a_portal_from_the_command_line(cli_env: dict[str, str]) -> None:
    muni = _portal(cli_env, "parties", "create", "--kind", "municipality", "--name", "Testby Kommune", "--cvr", "29893608")
    assert muni.returncode == 0, muni.stderr
    org = _portal(cli_env, "parties", "create", "--kind", "organisation", "--name", "Testby Boliger", "--cvr", "29894728")
    assert org.returncode == 0, org.stderr
    org_id = int(org.stdout.strip())

    admin = _portal(cli_env, "users", "create", "--email", "Admin@Testby.dk", "--name", "Anne Admin", "--party",
                    "municipality", "--role", "admin", "--password", "en-lang-adgangskode")
    assert admin.returncode == 0, admin.stderr
    invited = _portal(cli_env, "users", "create", "--email", "ole@testby-boliger.dk", "--name", "Ole", "--party",
                      "29894728", "--role", "editor")
    assert invited.returncode == 0 and "/invitation/" in invited.stderr

    token = _portal(cli_env, "tokens", "create", "--user", "admin@testby.dk")
    assert token.returncode == 0 and token.stdout.startswith("ap_")

    app = create_app({"database_url": cli_env["PORTAL_DATABASE_URL"], "instance_dir": Path(cli_env["PORTAL_INSTANCE_DIR"]),
                      "storage_url": cli_env["PORTAL_INSTANCE_DIR"] + "/objects", "search_url": cli_env["PORTAL_INSTANCE_DIR"] + "/search"})
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token.stdout.strip()}"})
    assert me.status_code == 200 and me.json["email"] == "admin@testby.dk"
    assert me.json["memberships"][0]["role"] == "admin"
    with app.app_context():
        assert db.session.get(Party, org_id).name == "Testby Boliger"
        assert db.session.query(User).count() == 2


def test_bad_cvr_is_refused_with_a_clear_message(cli_env: dict[str, str]) -> None:
    result = _portal(cli_env, "parties", "create", "--kind", "municipality", "--name", "X Kommune", "--cvr", "12345678")
    assert result.returncode != 0
    assert "kontrolcifferet" in result.stderr


def test_demo_prints_logins_and_loads_only_into_an_empty_database(cli_env: dict[str, str]) -> None:
    first = _portal(cli_env, "demo")
    assert first.returncode == 0, first.stderr
    assert "administrator@fjordby.dk" in first.stdout and "demo-adgangskode" in first.stdout
    again = _portal(cli_env, "demo", "--if-empty")
    assert again.returncode == 0 and "not loaded" in again.stdout


def test_operator_lists_expiring_tokens_and_revokes_them_by_prefix_id_or_user(cli_env: dict[str, str]) -> None:
    assert _portal(cli_env, "parties", "create", "--kind", "municipality", "--name", "Testby Kommune",
                   "--cvr", "29893608").returncode == 0
    assert _portal(cli_env, "users", "create", "--email", "anne@testby.dk", "--name", "Anne Admin", "--party",
                   "municipality", "--role", "admin", "--password", "en-lang-adgangskode").returncode == 0
    made = [_portal(cli_env, "tokens", "create", "--user", "anne@testby.dk", "--label", f"system {n}",
                    "--expires-days", "30").stdout.strip() for n in range(3)]
    assert all(t.startswith("ap_") for t in made)
    assert _portal(cli_env, "tokens", "create", "--user", "anne@testby.dk", "--expires-days", "0").returncode != 0

    listed = _portal(cli_env, "tokens", "list", "--user", "anne@testby.dk").stdout.splitlines()
    assert len(listed) == 3 and all("expires 20" in line and "last used never" in line for line in listed)
    assert [line.split("\t")[1] for line in listed] == [t[:11] for t in made]

    by_prefix = _portal(cli_env, "tokens", "revoke", "--prefix", made[0][:11])
    assert by_prefix.returncode == 0 and "1 token(s) revoked" in by_prefix.stdout
    by_id = _portal(cli_env, "tokens", "revoke", "--id", listed[1].split("\t")[0])
    assert by_id.returncode == 0
    assert _portal(cli_env, "tokens", "revoke", "--id", listed[1].split("\t")[0]).returncode != 0  # already gone
    assert _portal(cli_env, "tokens", "revoke").returncode != 0  # which tokens? say so

    app = create_app({"database_url": cli_env["PORTAL_DATABASE_URL"], "instance_dir": Path(cli_env["PORTAL_INSTANCE_DIR"]),
                      "storage_url": cli_env["PORTAL_INSTANCE_DIR"] + "/objects", "search_url": cli_env["PORTAL_INSTANCE_DIR"] + "/search"})
    client = app.test_client()
    answers = [client.get("/api/v1/me", headers={"Authorization": f"Bearer {t}"}).status_code for t in made]
    assert answers == [401, 401, 200]
    everything = _portal(cli_env, "tokens", "revoke", "--user", "anne@testby.dk")
    assert everything.returncode == 0 and "1 token(s) revoked" in everything.stdout
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {made[2]}"}).status_code == 401
    assert _portal(cli_env, "tokens", "list", "--user", "anne@testby.dk").stdout == ""
