"""A local Web Push service for the tests: an HTTP server on 127.0.0.1 (in a
thread) that does what a browser vendor's push service and the browser do
with a message, independently of the library that sent it:

- checks the VAPID authorisation (RFC 8292): `Authorization: vapid t=<JWT>,
  k=<key>`, the JWT's ES256 signature verified over the P-256 public key
  `k` with `cryptography`, `k` equal to the server's applicationServerKey
  the subscription was made with, `aud` this service's origin, `exp` in
  the future and at most 24 h away, `sub` a mailto: or https: URL;
- decrypts the body as RFC 8291 `aes128gcm` with the subscription's private
  key and auth secret that the test created (ECDH, HKDF-SHA-256,
  AES-128-GCM, implemented here from the RFC, not with the sender's
  library), and records the JSON payload.

A message failing any check is answered 400/401/403 and recorded in
`errors`. Each endpoint path can be given a list of statuses to answer
first (e.g. [503, 503] then the default 201, or [410]).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def _hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    assert length <= 32  # one HMAC block is all RFC 8291 needs
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()[:length]


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


@dataclass
class Device:
    """A browser's side of a subscription: its key pair and auth secret."""

    token: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @property
    def p256dh(self) -> str:
        return b64url(_point(self.private_key.public_key()))

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8188 framing with RFC 8291 keys."""
        salt, record_size, id_length = body[:16], struct.unpack(">I", body[16:20])[0], body[20]
        sender_point = body[21 : 21 + id_length]
        ciphertext = body[21 + id_length :]
        if id_length != 65 or record_size < 18:
            raise ValueError(f"bad header: keyid {id_length} bytes, rs {record_size}")
        sender = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender_point)
        shared = self.private_key.exchange(ec.ECDH(), sender)
        key_info = b"WebPush: info\x00" + _point(self.private_key.public_key()) + sender_point
        ikm = _hkdf_expand(_hkdf_extract(self.auth, shared), key_info, 32)
        prk = _hkdf_extract(salt, ikm)
        cek = _hkdf_expand(prk, b"Content-Encoding: aes128gcm\x00", 16)
        base_nonce = int.from_bytes(_hkdf_expand(prk, b"Content-Encoding: nonce\x00", 12), "big")
        records = [ciphertext[i : i + record_size] for i in range(0, len(ciphertext), record_size)]
        plain = b""
        for index, record in enumerate(records):
            nonce = (base_nonce ^ index).to_bytes(12, "big")
            padded = AESGCM(cek).decrypt(nonce, record, None)
            stripped = padded.rstrip(b"\x00")
            last = index == len(records) - 1
            if not stripped or stripped[-1:] != (b"\x02" if last else b"\x01"):
                raise ValueError("bad padding delimiter")
            plain += stripped[:-1]
        return plain


@dataclass
class Received:
    path: str
    payload: dict[str, Any]
    claims: dict[str, Any]
    headers: dict[str, str]


@dataclass
class PushService:
    server_key: str  # the applicationServerKey subscriptions are made with
    devices: dict[str, Device] = field(default_factory=dict)
    scripted: dict[str, list[int]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    answered: list[tuple[str, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    url: str = ""
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def device(self) -> Device:
        token = uuid.uuid4().hex
        device = Device(token, ec.generate_private_key(ec.SECP256R1()), os.urandom(16))
        self.devices[token] = device
        return device

    def endpoint(self, device: Device) -> str:
        return f"{self.url}/push/{device.token}"

    def subscription_json(self, device: Device) -> dict[str, Any]:
        """What PushSubscription.toJSON() gives in a browser."""
        return {
            "endpoint": self.endpoint(device),
            "expirationTime": None,
            "keys": {"p256dh": device.p256dh, "auth": b64url(device.auth)},
        }

    def answer_first(self, device: Device, statuses: list[int]) -> None:
        self.scripted[f"/push/{device.token}"] = list(statuses)

    def payloads(self, device: Device) -> list[dict[str, Any]]:
        with self._lock:
            return [r.payload for r in self.received if r.path == f"/push/{device.token}"]

    # --- the checks -----------------------------------------------------------

    def _authorised(self, header: str) -> dict[str, Any]:
        scheme, _, params = header.partition(" ")
        if scheme != "vapid":
            raise PermissionError(f"Authorization scheme {scheme!r}, not vapid")
        values = dict(part.strip().split("=", 1) for part in params.split(","))
        token, key = values["t"], values["k"]
        if key != self.server_key:
            raise PermissionError("k is not the applicationServerKey the subscription was made with")
        head_b64, claims_b64, signature_b64 = token.split(".")
        head = json.loads(unb64url(head_b64))
        if head.get("alg") != "ES256":
            raise PermissionError(f"JWT alg {head.get('alg')}")
        signature = unb64url(signature_b64)
        if len(signature) != 64:
            raise PermissionError("ES256 signature is not 64 bytes")
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
        try:
            public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise PermissionError("VAPID JWT signature does not verify") from None
        claims = json.loads(unb64url(claims_b64))
        if claims.get("aud") != self.url:
            raise PermissionError(f"aud {claims.get('aud')!r} is not {self.url!r}")
        if not (time.time() < int(claims.get("exp", 0)) <= time.time() + 24 * 3600):
            raise PermissionError("exp missing, past or more than 24 h away")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            raise PermissionError("sub is not a mailto: or https: URL")
        return claims

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        token = path.rsplit("/", 1)[-1]
        device = self.devices.get(token)
        if device is None:
            return 404
        with self._lock:
            script = self.scripted.get(path)
            if script:
                status = script.pop(0)
                self.answered.append((path, status))
                return status
        try:
            claims = self._authorised(headers.get("authorization", ""))
        except (PermissionError, KeyError, ValueError) as exc:
            self.errors.append(f"auth: {exc}")
            return 401 if isinstance(exc, KeyError) else 403
        if headers.get("content-encoding") != "aes128gcm" or "ttl" not in headers:
            self.errors.append(f"headers: {headers}")
            return 400
        try:
            payload = json.loads(device.decrypt(body))
        except (ValueError, InvalidTag) as exc:
            self.errors.append(f"decrypt: {exc!r}")
            return 400
        with self._lock:
            self.received.append(Received(path, payload, claims, headers))
            self.answered.append((path, 201))
        return 201

    # --- the server -----------------------------------------------------------

    def start(self) -> PushService:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = service.handle(self.path, headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                if status == 201:
                    self.send_header("Location", f"{service.url}/message/{uuid.uuid4().hex}")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True, name="push-service").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
