"""docker-compose.yml, the production set-up, read as Docker Compose reads it.

No Docker engine runs here, so these tests parse the file (PyYAML), interpolate its
variables the way Compose does, and check what matters for running it for real: one
published port, OpenSearch behind TLS and a password, the portal on a MinIO account
limited to its bucket, and no secret written into the file.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
SECRETS = {
    "POSTGRES_PASSWORD": "pg-Secret-1",
    "MINIO_ROOT_PASSWORD": "root-Secret-2",
    "PORTAL_S3_ACCESS_KEY": "portal-s3-user",
    "PORTAL_S3_SECRET_KEY": "s3-Secret-3",
    "OPENSEARCH_ADMIN_PASSWORD": "Os-Secret-4!",
    "PORTAL_SECRET_KEY": "flask-Secret-5",
}
PORTAL_SERVICES = ("portal", "indexer", "migrate")

_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


class MissingVariable(Exception):
    pass


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR:?message}` and `$$`, applied to
    every string of a parsed compose file."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.groups()
        found = env.get(name)
        unset = found is None or (operator is not None and operator.startswith(":") and found == "")
        if operator in (":?", "?") and unset:
            raise MissingVariable(f"{name}: {argument}")
        if operator in (":-", "-") and unset:
            return argument
        return found or ""

    return _VARIABLE.sub(replace, value)


def compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    return interpolate(yaml.safe_load(COMPOSE.read_text()), SECRETS if env is None else env)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path → host path of a service's bind mounts."""
    found = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            host, container = volume["source"], volume["target"]
        else:
            host, container = volume.split(":")[:2]
        if host.startswith("./"):
            found[container] = host
    return found


def test_only_the_portal_publishes_a_port() -> None:
    services = compose()["services"]

    published = {name: service["ports"] for name, service in services.items() if service.get("ports")}

    assert published == {"portal": ["8000:8000"]}


def test_opensearch_is_the_tested_version_with_its_security_plugin_on() -> None:
    opensearch = compose()["services"]["opensearch"]
    env = environment(opensearch)
    pom = ET.parse(ROOT / "tests" / "opensearch" / "pom.xml").getroot()
    tested = pom.find(
        "{http://maven.apache.org/POM/4.0.0}properties/{http://maven.apache.org/POM/4.0.0}opensearch.version"
    )

    assert tested is not None
    assert opensearch["image"] == f"opensearchproject/opensearch:{tested.text}"
    assert env.get("DISABLE_SECURITY_PLUGIN", "false").lower() != "true"
    assert env.get("plugins.security.disabled", "false").lower() != "true"
    assert env.get("DISABLE_INSTALL_DEMO_CONFIG", "false").lower() != "true"  # it sets the admin password
    assert env["OPENSEARCH_INITIAL_ADMIN_PASSWORD"] == SECRETS["OPENSEARCH_ADMIN_PASSWORD"]
    assert env["plugins.security.ssl.http.enabled"] == "true"
    assert "https://localhost:9200" in " ".join(opensearch["healthcheck"]["test"])


@pytest.mark.parametrize("name", PORTAL_SERVICES)
def test_the_portal_reaches_opensearch_over_verified_https_with_the_password(name: str) -> None:
    services = compose()["services"]
    service = services[name]
    url = urlsplit(environment(service)["PORTAL_SEARCH_URL"])
    opensearch_config = "/usr/share/opensearch/config/"
    opensearch_env = environment(services["opensearch"])
    served_ca = mounts(services["opensearch"])[
        opensearch_config + opensearch_env["plugins.security.ssl.http.pemtrustedcas_filepath"]
    ]

    assert url.scheme == "https"
    assert (url.hostname, url.port) == ("opensearch", 9200)
    assert (url.username, url.password) == ("admin", SECRETS["OPENSEARCH_ADMIN_PASSWORD"])
    ca = parse_qs(url.query)["ca"][-1]
    # The CA the portal trusts is the one that signed the certificate OpenSearch serves.
    assert mounts(service)[ca] == served_ca == "./deploy/certs/ca.pem"


@pytest.mark.parametrize("name", PORTAL_SERVICES)
def test_the_portal_uses_its_own_minio_account_not_the_root_user(name: str) -> None:
    services = compose()["services"]
    url = urlsplit(environment(services[name])["PORTAL_STORAGE_URL"])
    root_user = environment(services["minio"])["MINIO_ROOT_USER"]

    assert url.username == SECRETS["PORTAL_S3_ACCESS_KEY"] != root_user
    assert url.password == SECRETS["PORTAL_S3_SECRET_KEY"] != SECRETS["MINIO_ROOT_PASSWORD"]
    assert "MINIO_ROOT" not in str(yaml.safe_load(COMPOSE.read_text())["x-portal-env"])
    assert "minio-setup" in services[name].get("depends_on", {}) or name == "migrate"


def test_minio_setup_gives_the_portal_user_a_policy_for_its_bucket_only() -> None:
    services = compose()["services"]
    setup = services["minio-setup"]
    bucket = urlsplit(environment(services["portal"])["PORTAL_STORAGE_URL"]).path.strip("/")
    script = " ".join(setup["command"])
    policy_file = ROOT / mounts(setup)["/setup/portal-policy.json"]
    policy = json.loads(policy_file.read_text())

    assert setup["image"].startswith("minio/mc")
    assert f"mc mb --ignore-existing root/{bucket}" in script
    assert 'mc admin policy attach root aftaleportalen-dokumenter --user "$PORTAL_S3_ACCESS_KEY"' in script
    resources = {resource for statement in policy["Statement"] for resource in statement["Resource"]}
    assert resources == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"}
    assert all(statement["Effect"] == "Allow" for statement in policy["Statement"])
    assert not any("*" in action or action.startswith("admin:") for s in policy["Statement"] for action in s["Action"])


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_compose_refuses_to_start_without_each_secret(missing: str) -> None:
    env = {key: value for key, value in SECRETS.items() if key != missing}

    with pytest.raises(MissingVariable, match=missing):
        compose(env)


def test_no_password_is_written_into_the_file() -> None:
    raw = yaml.safe_load(COMPOSE.read_text())
    services = {**raw["services"], "x-portal-env": {"environment": raw["x-portal-env"]}}

    for name, service in services.items():
        for key, value in environment(service).items():
            if re.search(r"PASSWORD|SECRET", key):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]*\}", value), f"{name}: {key} is not a required variable"
            if "://" in value:
                # A URL's password is one required variable and nothing else.
                masked = re.sub(r"\$\{[A-Z0-9_]+:\?[^}]*\}", "<required>", value)
                userinfo = masked.split("://", 1)[1].rpartition("@")[0]
                password = userinfo.split(":", 1)[1] if ":" in userinfo else None
                assert password in (None, "<required>"), f"{name}: {key} has a literal password"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not found")
def test_make_certs_gives_opensearch_a_certificate_for_its_compose_host_name(tmp_path: Path) -> None:
    script = tmp_path / "make-certs.sh"
    shutil.copy(ROOT / "deploy" / "make-certs.sh", script)

    subprocess.run(["sh", str(script)], check=True, capture_output=True, timeout=120)
    certs = tmp_path / "certs"
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", "ca.pem", "-verify_hostname", "opensearch", "opensearch.pem"],
        cwd=certs,
        capture_output=True,
        text=True,
        timeout=30,
    )
    again = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=30)

    assert verify.returncode == 0, verify.stdout + verify.stderr
    # OpenSearch reads PKCS#8 keys only.
    assert (certs / "opensearch-key.pem").read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert again.returncode != 0  # a second run keeps the certificates the services already trust


@pytest.mark.skipif(shutil.which("sh") is None, reason="no POSIX shell")
def test_the_shell_commands_compose_runs_are_valid_shell() -> None:
    services = compose()["services"]
    scripts = {
        "minio-setup": services["minio-setup"]["command"][0],
        "opensearch healthcheck": services["opensearch"]["healthcheck"]["test"][1],
    }

    for name, script in scripts.items():
        checked = subprocess.run(["sh", "-n", "-c", script], capture_output=True, text=True, timeout=10)
        assert checked.returncode == 0, f"{name}: {checked.stderr}"
