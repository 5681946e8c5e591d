"""Receipts signed with the server's key (HMAC-SHA256), so whoever can write the store cannot
rewrite a receipt and its numbers consistently without the key.

The key comes from ``MPEIL_RECEIPT_KEY_FILE`` (a file holding at least 32 bytes; its bytes are the
key); without it the server makes one at first start, ``<store>/receipt-key`` (mode 0600). Keep the
key outside the store when the store is shared or backed up: a reader of both can sign. Leading and
trailing white space of the file is not part of the key.

The signature covers the receipt as canonical JSON (sorted keys, no spaces, UTF-8) without its
``signature`` field (nor ``receipt_id`` and ``created``, which ``GET /v1/receipts/{id}`` adds); ``key_id`` (the first 16 hex digits of the key's SHA-256) says which key signed.
``mpeil verify --receipt-key FILE`` checks a receipt file the same way (:func:`check`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

__all__ = ["load_key", "sign", "check", "canonical", "key_id", "sign_directory", "check_directory"]

MIN_KEY_BYTES = 32


#: fields of ``GET /v1/receipts/{id}`` that are about where the receipt is stored, not what it says
ENVELOPE = ("signature", "receipt_id", "created")


def canonical(receipt: dict) -> bytes:
    """The bytes a signature covers: the receipt without ``signature`` (nor the envelope's
    ``receipt_id`` and ``created``), as canonical JSON."""
    body = {k: v for k, v in receipt.items() if k not in ENVELOPE}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


def sign(receipt: dict, key: bytes) -> dict:
    """The receipt with its ``signature`` field (HMAC-SHA256 over :func:`canonical`)."""
    value = hmac.new(key, canonical(receipt), hashlib.sha256).hexdigest()
    return {**receipt, "signature": {"algorithm": "HMAC-SHA256", "key_id": key_id(key), "value": value}}


def check(receipt: dict, key: bytes) -> str | None:
    """None when the signature is right, else one line saying what is wrong."""
    signature = receipt.get("signature")
    if not isinstance(signature, dict) or not isinstance(signature.get("value"), str):
        return "the receipt is not signed"
    if signature.get("key_id") != key_id(key):
        return f"the receipt was signed with key {signature.get('key_id')!r}, not this server's key {key_id(key)!r}"
    try:
        expected = hmac.new(key, canonical(receipt), hashlib.sha256).hexdigest()
    except (TypeError, ValueError):
        return "the receipt cannot be read as canonical JSON"
    if not hmac.compare_digest(expected, signature["value"]):
        return "the signature does not match: the receipt was changed after it was signed"
    return None


def load_key(path: Path | None, store_dir: Path) -> bytes:
    """The signing key: ``path`` when given, else ``<store>/receipt-key``, made at first use."""
    from ..errors import InputError

    if path is None:
        path = Path(store_dir) / "receipt-key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(secrets.token_hex(MIN_KEY_BYTES).encode("ascii"))  # text, so it survives an editor
    try:
        key = Path(path).read_bytes().strip()
    except OSError as error:
        raise InputError(f"cannot read the receipt key {path}: {error.strerror or error}") from None
    if len(key) < MIN_KEY_BYTES:
        raise InputError(f"the receipt key in {path} is {len(key)} bytes; it needs at least {MIN_KEY_BYTES}")
    return key


def _directory_digest(root: Path, key: bytes) -> str:
    """HMAC over a batch output's manifest and every receipt (names and bytes, in name order)."""
    mac = hmac.new(key, b"mpeil-batch-outputs-v1\0", hashlib.sha256)
    paths = [root / "manifest.json", *sorted((root / "receipts").glob("*.json"))]
    for path in paths:
        mac.update(path.relative_to(root).as_posix().encode() + b"\0")
        mac.update(hashlib.sha256(path.read_bytes()).digest() if path.is_file() else b"(missing)")
    return mac.hexdigest()


def sign_directory(root: Path, key: bytes) -> None:
    """Write ``signature.json`` beside a batch output's manifest: the server's HMAC over the manifest
    (which holds every table's SHA-256) and the receipts."""
    body = {"algorithm": "HMAC-SHA256", "key_id": key_id(key), "value": _directory_digest(Path(root), key)}
    (Path(root) / "signature.json").write_text(json.dumps(body, indent=1), encoding="utf-8")


def check_directory(root: Path, key: bytes) -> str | None:
    """None when a batch output's ``signature.json`` matches its manifest and receipts, else why not."""
    root = Path(root)
    try:
        signature = json.loads((root / "signature.json").read_text(encoding="utf-8"))
        value = signature["value"]
    except (OSError, ValueError, KeyError, TypeError):
        return "the batch output has no readable signature.json"
    if signature.get("key_id") != key_id(key):
        return f"the batch output was signed with key {signature.get('key_id')!r}, not {key_id(key)!r}"
    if not isinstance(value, str) or not hmac.compare_digest(value, _directory_digest(root, key)):
        return "the signature does not match: the manifest or a receipt was changed after the batch"
    return None
