"""API keys, stored hashed: only the SHA-256 of a key is kept, in a file or the environment.

A key file holds one key per line, ``#`` comments allowed::

    # name,sha256,quota_files_per_day,role
    gent-omgeving,8d9c…e1,20000,authority
    ops,31f0…7a,,admin

``quota_files_per_day`` empty = the default of ``data/service_defaults.csv``. ``role`` is
``authority`` (batches, receipts) or ``admin`` (also ``/metrics`` and the job list); ``owner``,
``architect``, ``contractor`` and ``public`` score like ``authority`` and see their own passport view. Keys are long
random tokens (``mpeil serve-key``), so one SHA-256 is enough: there is nothing to brute-force.
A request carries its key as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

__all__ = ["ApiKey", "KeyRing", "hash_key", "new_key", "ROLES"]

ROLES = ("authority", "admin", "owner", "architect", "contractor", "public")  # the last four: passport views (issue 24)


@dataclass(frozen=True)
class ApiKey:
    name: str
    sha256: str
    quota_files_per_day: int
    role: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh key: 32 random bytes, URL-safe text (256 bits)."""
    return "mpk_" + secrets.token_urlsafe(32)


def _parse_line(line: str, where: str, default_quota: int) -> ApiKey | None:
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) < 2 or len(parts) > 4:
        raise InputError(f"a key line needs name,sha256[,quota[,role]]: {text[:40]!r}", file=where)
    name, digest = parts[0], parts[1].lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise InputError(f"key {name!r}: the second field must be a SHA-256 in hex", file=where, field="sha256")
    quota_text = parts[2] if len(parts) > 2 else ""
    try:
        quota = int(quota_text) if quota_text else default_quota
    except ValueError:
        raise InputError(f"key {name!r}: quota {quota_text!r} is not a whole number", file=where) from None
    role = parts[3] if len(parts) > 3 and parts[3] else "authority"
    if role not in ROLES:
        raise InputError(f"key {name!r}: role {role!r} is not one of {', '.join(ROLES)}", file=where)
    return ApiKey(name, digest, quota, role)


class KeyRing:
    """The keys the service accepts, looked up by the hash of what a request presents."""

    def __init__(self, keys: list[ApiKey]) -> None:
        names = [k.name for k in keys]
        if len(set(names)) != len(names):
            raise InputError("two API keys share a name")
        self._by_hash = {k.sha256: k for k in keys}

    @classmethod
    def load(cls, file: Path | None, text: str, default_quota: int) -> KeyRing:
        keys: list[ApiKey] = []
        if file is not None:
            for line in Path(file).read_text(encoding="utf-8").splitlines():
                key = _parse_line(line, str(file), default_quota)
                if key:
                    keys.append(key)
        for line in text.split(";"):
            key = _parse_line(line, "MPEIL_API_KEYS", default_quota)
            if key:
                keys.append(key)
        return cls(keys)

    def __len__(self) -> int:
        return len(self._by_hash)

    def find(self, presented: str | None) -> ApiKey | None:
        """The key a request presents, or None; compared in constant time."""
        if not presented or len(presented) > 200:
            return None
        digest = hash_key(presented)
        for known, key in self._by_hash.items():
            if hmac.compare_digest(known, digest):
                return key
        return None
