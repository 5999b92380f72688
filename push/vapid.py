"""This server's VAPID key pair (RFC 8292): the ES256 key that signs the JWT
in every push request, and whose public half the browser was given as
`applicationServerKey` when it subscribed. A push service refuses a message
signed with another key, so every process (web, every worker, every host)
must use the same one.

Where it comes from, in order:

1. `PUSH_VAPID_PRIVATE_KEY`: a PEM (PKCS#8 or SEC1; literal "\\n" allowed
   for one-line environment values) or the raw 32-byte private scalar in
   base64url, as `vapid --gen` and web-push tools print it. Production sets
   this (docs/push.md).
2. Else the PEM file `PUSH_VAPID_KEY_FILE` (default `.data/vapid-private.pem`),
   generated on first use with mode 0600. Two processes starting at once may
   both generate one: each writes its own temporary file and hard-links it
   into place, which only the first can do; the other reads the winner's.
"""

import base64
import functools
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from py_vapid import Vapid02


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _from_setting(value: str) -> ec.EllipticCurvePrivateKey:
    text = value.strip().replace("\\n", "\n")
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("PUSH_VAPID_PRIVATE_KEY must be a P-256 (prime256v1) EC key")
        return key
    raw = b64url_decode(text)
    if len(raw) != 32:
        raise ValueError("PUSH_VAPID_PRIVATE_KEY: a PEM or the 32-byte private key in base64url")
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def _generate_into(path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # atomic, and refuses to replace a winner's key
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)


@functools.cache
def private_key() -> ec.EllipticCurvePrivateKey:
    configured = settings.PUSH_VAPID_PRIVATE_KEY
    if configured:
        return _from_setting(configured)
    path = Path(settings.PUSH_VAPID_KEY_FILE)
    if not path.exists():
        _generate_into(path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def signer() -> Vapid02:
    """A py-vapid signer (RFC 8292 `vapid t=…,k=…` Authorization header)."""
    return Vapid02(private_key=private_key())


def application_server_key() -> str:
    """The public key as the browser's `applicationServerKey`: the 65-byte
    uncompressed P-256 point in base64url."""
    point = (
        private_key()
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return b64url(point)
