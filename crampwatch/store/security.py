"""Password hashing with Argon2id (argon2-cffi).

argon2-cffi's defaults are RFC 9106 (Biryukov 2021) "second recommended option": Argon2id, t=3 passes,
m=64 MiB, p=4 lanes. Verification of an unknown user runs against a dummy hash so that the time taken
does not reveal whether a username exists (OWASP Password Storage Cheat Sheet).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from crampwatch.errors import InputError

#: NIST SP 800-63B (2017) §5.1.1: memorized secrets of at least 8 characters; 1024 caps hashing cost.
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher()
_dummy: tuple[PasswordHasher, str] | None = None


def _dummy_hash() -> str:
    """A hash made with the current parameters, verified against when the user does not exist."""
    global _dummy
    if _dummy is None or _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash("crampwatch-no-such-user"))
    return _dummy[1]


def check_password_policy(password: str) -> None:
    """Raise :class:`InputError` unless ``password`` has 8–1024 characters."""
    if not isinstance(password, str) or not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        n = len(password) if isinstance(password, str) else 0
        raise InputError(
            f"password: {n} characters (allowed {MIN_PASSWORD_LENGTH}–{MAX_PASSWORD_LENGTH} characters)",
            "password",
        )


def hash_password(password: str) -> str:
    """An Argon2id PHC string for ``password`` (checked against the length policy)."""
    check_password_policy(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; ``None`` costs the same time and gives ``False``."""
    try:
        if password_hash is None:
            _hasher.verify(_dummy_hash(), password)
            return False
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than the current ones."""
    return _hasher.check_needs_rehash(password_hash)
