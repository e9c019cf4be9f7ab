"""API tokens: generate one, hash it for the settings, check a token against a stored hash.

Kept apart from :mod:`xregistry.api` because issuing a token needs no web framework:
``xregistry token`` works without the ``xregistry[api]`` extra. The public names are
``xregistry.api.generate_token``, ``hash_token`` and ``verify_token_hash``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["generate_token", "hash_token", "verify_token_hash"]

_SCRYPT_DEFAULT = (2**14, 8, 1)


def generate_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str, scheme: str = "sha256") -> str:
    """The hash to store for ``token``: ``sha256:<hex>`` (tokens from :func:`generate_token` are
    random enough for a plain digest) or ``scrypt:...`` (for tokens a person chose).

    Examples:
        >>> hash_token("abc")[:14]
        'sha256:ba7816b'
    """
    if not isinstance(token, str) or not token:
        raise ValueError("a token must be a non-empty string")
    if scheme == "sha256":
        return "sha256:" + hashlib.sha256(token.encode()).hexdigest()
    if scheme == "scrypt":
        n, r, p = _SCRYPT_DEFAULT
        salt = secrets.token_bytes(16)
        digest = hashlib.scrypt(token.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
        return f"scrypt:{n}:{r}:{p}:{salt.hex()}:{digest.hex()}"
    raise ValueError(f"unknown token hash scheme {scheme!r}; use 'sha256' or 'scrypt'")


def verify_token_hash(token: str, token_hash: str) -> bool:
    """Whether ``token`` matches ``token_hash`` (constant-time comparison)."""
    scheme, _, rest = token_hash.partition(":")
    if scheme == "sha256":
        return hmac.compare_digest(hashlib.sha256(token.encode()).hexdigest(), rest)
    if scheme == "scrypt":
        try:
            n, r, p, salt_hex, expected = rest.split(":")
            derived = hashlib.scrypt(
                token.encode(), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r), p=int(p), dklen=32
            )
        except ValueError:
            return False
        return hmac.compare_digest(derived.hex(), expected)
    return False
