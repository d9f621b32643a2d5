"""A development certificate authority: `make run` and the tests speak TLS with it.

`ensure_dev_tls(directory)` makes, once, a CA (`dev-ca.pem`, the file clients trust) and a
server certificate for `localhost`, `127.0.0.1` and `::1` signed by it, and returns their paths;
later calls reuse them. `issue(ca, directory, name, ...)` signs more: a server certificate for
other names, or a client certificate whose subject's common name is a source
(`pref:420100`), for mutual TLS. Private keys are written readable by their owner only.

Never for production: there cert-manager issues the certificates (deploy/README.md).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "dev-ca"  # dev-ca.pem: the development CA's certificate, what clients trust
SERVER_NAME = "dev-server"
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
CA_DAYS, LEAF_DAYS = 3650, 825
CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    key_cert_sign=True,
    crl_sign=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    encipher_only=False,
    decipher_only=False,
)


@dataclass(frozen=True)
class Issued:
    cert: Path  # PEM certificate
    key: Path  # PEM private key (PKCS#8, unencrypted, mode 0600)

    def read(self) -> tuple[bytes, bytes]:
        return self.cert.read_bytes(), self.key.read_bytes()


def ensure_dev_tls(directory: Path) -> tuple[Issued, Issued]:
    """The development CA and the loopback server certificate under `directory` (made once)."""
    ca = ensure_ca(directory)
    server = _paths(directory, SERVER_NAME)
    if not (server.cert.exists() and server.key.exists()):
        server = issue(ca, directory, SERVER_NAME, server_names=LOCAL_NAMES)
    return ca, server


def ensure_ca(directory: Path, name: str = CA_NAME) -> Issued:
    ca = _paths(directory, name)
    if ca.cert.exists() and ca.key.exists():
        return ca
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"zhaoshang {name}")])
    cert = (
        _builder(subject, subject, key.public_key(), CA_DAYS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return _write(ca, cert, key)


def issue(
    ca: Issued,
    directory: Path,
    name: str,
    *,
    server_names: tuple[str, ...] = (),
    client_source: str | None = None,
    days: int = LEAF_DAYS,
) -> Issued:
    """A certificate signed by `ca`: for a server answering to `server_names`, and/or for a
    client whose subject common name is `client_source`."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    common_name = client_source or (server_names[0] if server_names else name)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    usages = [ExtendedKeyUsageOID.SERVER_AUTH] if server_names else []
    usages += [ExtendedKeyUsageOID.CLIENT_AUTH] if client_source else []
    builder = (
        _builder(subject, ca_cert.subject, key.public_key(), days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
    )
    if server_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_general_name(n) for n in server_names]), critical=False
        )
    return _write(_paths(directory, name), builder.sign(ca_key, hashes.SHA256()), key)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, days: int
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
    )


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _paths(directory: Path, name: str) -> Issued:
    return Issued(Path(directory) / f"{name}.pem", Path(directory) / f"{name}-key.pem")


def _write(paths: Issued, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Issued:
    paths.cert.parent.mkdir(parents=True, exist_ok=True)
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(paths.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_pem)
    return paths
