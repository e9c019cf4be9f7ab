"""Bearer-token authentication: tokens are kept only as hashes and compared in constant time.

A token maps to a :class:`~xregistry.permissions.Principal` whose roles come from the server's
configuration; nothing a caller sends can add a role.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

# The token functions live outside the api package: `xregistry token` must work without fastapi.
from xregistry._tokens import generate_token, hash_token, verify_token_hash
from xregistry.api._config import TokenConfig
from xregistry.permissions import Principal

__all__ = ["TokenAuthenticator", "generate_token", "hash_token", "verify_token_hash"]

_MAX_TOKEN = 512


@dataclass(frozen=True)
class _Entry:
    token_hash: str
    principal: Principal


class TokenAuthenticator:
    """Maps presented tokens to principals.

    Examples:
        >>> auth = TokenAuthenticator()
        >>> auth.add(hash_token("s3cret"), Principal(id="ada", roles=frozenset({"admin"})))
        >>> auth.authenticate("s3cret").id, auth.authenticate("wrong")
        ('ada', None)
    """

    def __init__(self, tokens: Iterable[TokenConfig] = ()) -> None:
        self._sha256: list[tuple[str, Principal]] = []
        self._scrypt: list[_Entry] = []
        # sha256 of a token already verified against an scrypt hash: scrypt is deliberately slow,
        # so it runs once per token and process, not once per request.
        self._verified: dict[str, Principal] = {}
        for entry in tokens:
            self.add(entry.token_hash, Principal(id=entry.id, roles=frozenset(entry.roles)))

    def add(self, token_hash: str, principal: Principal) -> None:
        """Accept the token whose hash is ``token_hash`` as ``principal``."""
        scheme, _, rest = token_hash.partition(":")
        if scheme == "sha256" and len(rest) == 64:
            self._sha256.append((rest.lower(), principal))
        elif scheme == "scrypt":
            self._scrypt.append(_Entry(token_hash, principal))
        else:
            raise ValueError("token_hash must be 'sha256:<64 hex>' or 'scrypt:...'")

    def __len__(self) -> int:
        return len(self._sha256) + len(self._scrypt)

    def authenticate(self, token: str) -> Principal | None:
        """The principal of ``token``, or None when no configured token matches."""
        if not token or len(token) > _MAX_TOKEN:
            return None
        digest = hashlib.sha256(token.encode()).hexdigest()
        found: Principal | None = None
        # Compare against every entry without stopping early, so timing says nothing about
        # which entry (if any) matched.
        for stored, principal in self._sha256:
            if hmac.compare_digest(stored, digest):
                found = principal
        if found is not None:
            return found
        cached = self._verified.get(digest)
        if cached is not None:
            return cached
        for entry in self._scrypt:
            if verify_token_hash(token, entry.token_hash):
                self._verified[digest] = entry.principal
                return entry.principal
        return None
