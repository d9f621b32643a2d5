"""TLS on the gateway's gRPC port (README "Credentials and access", "TLS").

The gateway serves TLS with the certificate chain and key in `GATEWAY_TLS_CERT` and
`GATEWAY_TLS_KEY` (PEM files). They are checked at start and re-read when they change on disk,
so a renewed certificate (cert-manager, deploy/README.md) is served from the next connection on,
without a restart. With `GATEWAY_TLS_CLIENT_CA` every client must present a certificate that
CA signed (mutual TLS; grpcio can require a client certificate or not ask for one, nothing in
between), and the certificate's subject common name names the caller's source (`peer_source`).
Plaintext only when asked (`GATEWAY_PLAINTEXT=1`) and only on a loopback address.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from services.gateway.config import Config
from services.gateway.errors import GatewayProblem
from services.kernel.loopback import is_loopback

log = logging.getLogger(__name__)

PLAINTEXT = "GATEWAY_PLAINTEXT"
CERT, KEY, CLIENT_CA = "GATEWAY_TLS_CERT", "GATEWAY_TLS_KEY", "GATEWAY_TLS_CLIENT_CA"


class TlsSettingsError(GatewayProblem):
    """Settings the gateway will not serve with: it refuses to start, saying why."""


def peer_source(context: grpc.ServicerContext) -> str | None:
    """The source a verified client certificate names (its subject's common name, as written),
    or None when the call came without one (no client CA set, or plaintext on loopback).

    Only a verified certificate gets here: with a client CA the handshake fails unless the
    certificate is one it signed, and without one no certificate is asked for."""
    auth: Mapping[str, Sequence[bytes]] = context.auth_context()  # type: ignore[assignment]
    if auth.get("transport_security_type") != [b"ssl"]:
        return None
    names = auth.get("x509_common_name")
    return names[0].decode() if names else None


def listen(server: grpc.Server, config: Config) -> int:
    """Bind `config.address` with TLS, or in plaintext when asked and on loopback; the port."""
    if config.plaintext:
        if not binds_loopback(config.address):
            raise TlsSettingsError(
                PLAINTEXT,
                config.address,
                "plaintext_loopback_only",
                f"{PLAINTEXT}=1 只允许在本机回环地址上使用（127.0.0.1、::1、localhost），"
                f"而 GATEWAY_ADDRESS 为 {config.address}：请配置 {CERT} 和 {KEY} 以 TLS 提供服务",
                f"{PLAINTEXT}=1 is allowed on a loopback address only (127.0.0.1, ::1, "
                f"localhost), but GATEWAY_ADDRESS is {config.address}: set {CERT} and {KEY} "
                "to serve TLS",
            )
        log.warning("gateway: plaintext gRPC on %s (loopback, %s=1)", config.address, PLAINTEXT)
        return server.add_insecure_port(config.address)
    files = ServedFiles.named_in(config)
    credentials = grpc.dynamic_ssl_server_credentials(
        files.configuration(),  # raises TlsSettingsError naming the file at fault
        files.renewed,  # type: ignore[arg-type]  # grpc's docs: None keeps the current one
        require_client_authentication=files.client_ca is not None,
    )
    port = server.add_secure_port(config.address, credentials)
    mutual = f", client certificates from {files.client_ca}" if files.client_ca else ""
    log.info("gateway: TLS with %s%s", files.cert, mutual)
    return port


def binds_loopback(address: str) -> bool:
    """Whether a `host:port` binds loopback only: 127.0.0.0/8, ::1 or the name localhost."""
    return is_loopback(address.rpartition(":")[0])


class ServedFiles:
    """The PEM files the gateway serves with; handed to grpc again when any changes on disk."""

    def __init__(self, cert: Path, key: Path, client_ca: Path | None) -> None:
        self.cert, self.key, self.client_ca = cert, key, client_ca
        self._seen = self._stamp()
        self._lock = threading.Lock()

    @classmethod
    def named_in(cls, config: Config) -> ServedFiles:
        cert, key = config.tls_cert, config.tls_key
        if not (cert and key):
            variable = KEY if cert else CERT
            raise TlsSettingsError(
                variable,
                "",
                "tls_files_required",
                f"未设置 {variable}：网关只以 TLS 提供服务，请设置 {CERT} 和 {KEY}"
                f"（PEM 文件）；仅在本机回环地址上调试时可设 {PLAINTEXT}=1",
                f"{variable} is not set: the gateway serves TLS only, set {CERT} and {KEY} "
                f"(PEM files); {PLAINTEXT}=1 is for a loopback address only",
            )
        ca = Path(config.tls_client_ca) if config.tls_client_ca else None
        return cls(Path(cert), Path(key), ca)

    def configuration(self) -> grpc.ServerCertificateConfiguration:
        cert, key = _read(CERT, self.cert), _read(KEY, self.key)
        _check_pair(cert, key, self.cert, self.key)
        ca = _read(CLIENT_CA, self.client_ca) if self.client_ca else None
        if ca is not None:
            _certificate(CLIENT_CA, self.client_ca, ca)
        return grpc.ssl_server_certificate_configuration([(key, cert)], root_certificates=ca)

    def renewed(self) -> grpc.ServerCertificateConfiguration | None:
        """Before each handshake: the files again if they changed, else None (keep serving)."""
        with self._lock:
            stamp = self._stamp()
            if stamp == self._seen:
                return None
            self._seen = stamp  # a failed pair is tried again when a file changes again
            try:
                configuration = self.configuration()
            except TlsSettingsError as error:  # e.g. the certificate renewed, the key not yet
                log.warning("gateway: keeping the current certificate: %s", error)
                return None
            log.info("gateway: serving the renewed certificate %s", self.cert)
            return configuration

    def _stamp(self) -> tuple[tuple[int, int, int] | None, ...]:
        def stamp(path: Path | None) -> tuple[int, int, int] | None:
            try:
                stat = path.stat() if path else None
            except OSError:
                return None
            return (stat.st_ino, stat.st_mtime_ns, stat.st_size) if stat else None

        return stamp(self.cert), stamp(self.key), stamp(self.client_ca)


def _problem(variable: str, path: Path | None, rule: str, zh: str, en: str) -> TlsSettingsError:
    return TlsSettingsError(
        variable, str(path), rule, f"{variable} 的文件 {path}{zh}", f"{variable}: {path} {en}"
    )


def _read(variable: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise _problem(
            variable,
            path,
            "tls_file_unreadable",
            f" 无法读取：{error.strerror}",
            f"cannot be read: {error.strerror}",
        ) from None


def _certificate(variable: str, path: Path | None, pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise _problem(
            variable,
            path,
            "tls_not_a_certificate",
            " 不是 PEM 格式的证书",
            "is not a PEM certificate",
        ) from None


def _check_pair(cert: bytes, key: bytes, cert_path: Path, key_path: Path) -> None:
    public = _certificate(CERT, cert_path, cert).public_key()
    try:
        private = serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise _problem(
            KEY,
            key_path,
            "tls_not_a_key",
            " 不是未加密的 PEM 私钥",
            "is not an unencrypted PEM private key",
        ) from None
    raw = serialization.PublicFormat.SubjectPublicKeyInfo
    if private.public_key().public_bytes(serialization.Encoding.DER, raw) != public.public_bytes(
        serialization.Encoding.DER, raw
    ):
        raise _problem(
            KEY,
            key_path,
            "tls_key_mismatch",
            f" 与证书 {cert_path} 不匹配",
            f"is not the key of the certificate {cert_path}",
        )
