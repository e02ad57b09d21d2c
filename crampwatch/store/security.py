"""Password hashing with Argon2id (argon2-cffi), and the one password policy of every surface.

argon2-cffi's defaults are RFC 9106 (Biryukov 2021) "second recommended option": Argon2id, t=3 passes,
m=64 MiB, p=4 lanes. Verification of an unknown user runs against a dummy hash so that the time taken
does not reveal whether a username exists (OWASP Password Storage Cheat Sheet).

The policy (:func:`check_password_policy`) is applied wherever a password is set: ``crampwatch user add``
/ ``passwd``, the administration page and ``POST /api/users``, the password page and
``POST /api/me/password``. It follows NIST SP 800-63B (2017) §5.1.1.2: a minimum length, no composition
rules, and a check against values known to be commonly used and against context-specific words (the
username).
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from crampwatch.errors import InputError

#: NIST SP 800-63B (2017) §5.1.1 asks for at least 8 characters; the clinic application asks for 10
#: (modelling choice: the longer of the two minimums it used to have); 1024 caps the hashing cost.
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
#: The bundled list of common passwords: the 30 000 most frequent passwords of Burnett's 10 million
#: password corpus (Xato 2015), as shipped with zxcvbn (Wheeler 2016, USENIX Security) in
#: ``zxcvbn.frequency_lists``; compared without regard to case.
COMMON_PASSWORD_LIST = "passwords"

_hasher = PasswordHasher()
_dummy: tuple[PasswordHasher, str] | None = None


def _dummy_hash() -> str:
    """A hash made with the current parameters, verified against when the user does not exist."""
    global _dummy
    if _dummy is None or _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash("crampwatch-no-such-user"))
    return _dummy[1]


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled common passwords (lower case) that are long enough to pass the length rule."""
    listed = FREQUENCY_LISTS[COMMON_PASSWORD_LIST]
    return frozenset(p.casefold() for p in listed if len(p) >= MIN_PASSWORD_LENGTH)


def check_password_policy(password: str, username: str | None = None, field: str = "password") -> None:
    """Raise :class:`InputError` (naming ``field``, never repeating the password) unless ``password`` has
    :data:`MIN_PASSWORD_LENGTH`–:data:`MAX_PASSWORD_LENGTH` characters, is not the username (in any case,
    also reversed) and is not on the bundled list of common passwords."""
    if not isinstance(password, str) or not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        n = len(password) if isinstance(password, str) else 0
        raise InputError(
            f"{field}: {n} characters (allowed {MIN_PASSWORD_LENGTH}–{MAX_PASSWORD_LENGTH} characters)", field
        )
    folded = password.casefold()
    if username and folded in (username.casefold(), username.casefold()[::-1]):
        raise InputError(f"{field}: the same as the username (allowed a password that is not)", field)
    if folded in common_passwords():
        raise InputError(
            f"{field}: one of the most common passwords (allowed a password that is not on the list of "
            "common passwords)",
            field,
        )


def hash_password(password: str, username: str | None = None) -> str:
    """An Argon2id PHC string for ``password`` (checked against the policy for ``username``)."""
    check_password_policy(password, username)
    return _hasher.hash(password)


def rehash(password: str) -> str:
    """A hash with the current parameters for a password that was already accepted (no policy check:
    a password set under an older policy keeps working)."""
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
