"""Password hashing with pwdlib (Argon2id).

Production always hashes with `PasswordHash.recommended()` (Argon2id, 64 MiB, t=3: ~0.1–0.3 s a
hash, slow on purpose). The test suite swaps in Argon2id's lowest cost through `use_hasher` (see
tests/conftest.py): a suite of ~1,500 tests signs in thousands of times and would otherwise spend
minutes hashing. Nothing outside the tests calls `use_hasher`; verification reads the cost from
each stored hash, so hashes of either cost verify with either hasher.
"""

from __future__ import annotations

from pwdlib import PasswordHash

_recommended = PasswordHash.recommended()
_hasher: PasswordHash = _recommended


def use_hasher(hasher: PasswordHash | None) -> None:
    """Hash with `hasher` from now on in this process (None: back to the recommended one).
    A hook for the test suite only."""
    global _hasher
    _hasher = _recommended if hasher is None else hasher


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher.verify(password, password_hash)
