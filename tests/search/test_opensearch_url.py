"""PORTAL_SEARCH_URL for OpenSearch: credentials, a private CA, the index prefix.

The URL parsing is checked on its own; the credentials and the CA are checked end to end
against the real test node behind a small TLS front on loopback (the node itself speaks
plain HTTP and ignores credentials): the front records what the portal sends and passes
every request on to the node.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from portal.errors import SearchUnavailable
from portal.search import SearchQuery, open_index
from portal.search.opensearch import parse_url
from tests.opensearch_node import opensearch_url
from tests.search.conftest import Corpus, _opensearch_cleanup


def test_credentials_and_ca_file_are_read_from_the_url(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    target = parse_url(f"https://portal:p%40ss%3Aw0rd@search.example:9200/aftaleportalen?ca={ca}")
    assert (target.host, target.prefix) == ("https://search.example:9200", "aftaleportalen")
    assert (target.username, target.password, target.ca_file) == ("portal", "p@ss:w0rd", str(ca))
    assert "p@ss" not in repr(target)  # a URL object in a log line must not leak the password


def test_defaults_fill_in_what_the_url_leaves_out() -> None:
    assert parse_url("http://localhost") == parse_url("http://localhost:9200/aftaleportalen")
    assert parse_url("https://search.example/portal").host == "https://search.example:443"
    assert parse_url("http://localhost:9200").username is None


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("ftp://localhost:9200", "http:// or https://"),
        ("http://localhost:9200/Not Valid", "invalid OpenSearch index prefix"),
        ("https://localhost:9200/x?verify_certs=false", "unknown OpenSearch URL option"),
        ("http://localhost:9200/x?ca=/etc/hostname", "ca needs https://"),
        ("https://localhost:9200/x?ca=/no/such/ca.pem", "does not exist"),
    ],
)
def test_a_bad_url_is_refused_with_what_is_wrong(url: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_url(url)


# --- end to end, through a TLS front with its own CA -------------------------------------


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate for 127.0.0.1/localhost signed by it: (ca, cert, key)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Aftaleportalen test CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


class _Front(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, node: str) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.node = urlsplit(node)
        self.authorizations: list[str | None] = []


class _Forward(BaseHTTPRequestHandler):
    server: _Front
    protocol_version = "HTTP/1.1"

    def _forward(self) -> None:
        self.server.authorizations.append(self.headers.get("Authorization"))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "authorization")}
        upstream = http.client.HTTPConnection(self.server.node.hostname, self.server.node.port, timeout=30)
        try:
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        finally:
            upstream.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def tls_front(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(https://127.0.0.1:PORT, CA file) in front of the test node."""
    ca, cert, key = _certificates(tmp_path)
    front = _Front(opensearch_url())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    front.socket = context.wrap_socket(front.socket, server_side=True)
    thread = threading.Thread(target=front.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{front.server_address[1]}", ca
        assert front.authorizations, "nothing went through the front"
        expected = "Basic " + base64.b64encode(b"portal:s3cret/with@odd:chars").decode()
        assert set(front.authorizations) == {expected}, set(front.authorizations)
    finally:
        front.shutdown()
        front.server_close()


@pytest.mark.opensearch
def test_the_index_works_over_https_with_credentials_and_a_private_ca(tls_front: tuple[str, Path]) -> None:
    base, ca = tls_front
    url = f"{base.replace('https://', 'https://portal:s3cret%2Fwith%40odd%3Achars@')}/aftaleportalen-test-tls?ca={ca}"
    index = open_index(url, create=True)
    try:
        corpus = Corpus(index, "opensearch")
        corpus.add(corpus.page(1, text="Anvisningsaftalen med kommunen er fornyet"))
        assert corpus.ids("anvisning") == [1]
        # Without the CA the certificate is not trusted, and the portal says search is unavailable.
        untrusted = open_index(url.split("?")[0])
        try:
            with pytest.raises(SearchUnavailable):
                untrusted.search(SearchQuery(text="anvisning", readers=frozenset({"public"})))
        finally:
            untrusted.close()
    finally:
        index.close()
        _opensearch_cleanup(url, "aftaleportalen-test-tls")
