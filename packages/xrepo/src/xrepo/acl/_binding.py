"""Rules' ``$user.id`` / ``$user.<attribute>`` values bound to the caller, as values only.

A rule's row filter is parsed with placeholders (``_Slot``: a random prefix no rule author can
write) standing for the caller's values (:func:`_substitute`); the caller's values are then put
into the parsed tree (:func:`_bind_slots`), so an attribute such as ``{"$ne": None}``,
``["a", "b"]`` or ``"$user.id"`` is compared literally and can never become an operator, a field
or a pattern. :func:`freeze_value` makes attributes hashable for the decision cache.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from xrepo.acl.resolver import Principal
from xrepo.errors import XRepoConfigurationError, XRepoValidationError
from xrepo.query import (
    MATCH_NONE,
    TEXT_OPS,
    And,
    Condition,
    FilterLimits,
    Node,
    Nor,
    Not,
    Or,
    check_value,
)

__all__ = ["freeze_value"]

_USER = "$user."


class _NoAttribute(Exception):
    pass


_PROBE = Principal(id="probe")
# Placeholders stand for the caller's values while the rule is parsed. The random part keeps a
# constant of a rule from ever being taken for one (the rule's author does not know it).
_SLOT_PREFIX = f"\x00xrepo-acl-{secrets.token_hex(8)}-"


@dataclass(frozen=True)
class _Slot:
    """One ``$user.<name>`` of a rule: its placeholder text and the caller's value."""

    text: str
    name: str
    value: Any
    spread: bool  # the operand of $in/$nin: the value's elements, not the value itself


def _substitute(
    doc: Any,
    principal: Principal,
    repo: str | None,
    slots: list[_Slot],
    probe: bool = False,
    listy: bool = False,
) -> Any:
    """``doc`` with each ``$user.id``/``$user.<attr>`` replaced by a placeholder (recorded in
    ``slots`` with the caller's value); :func:`_bind_slots` puts the values into the parsed
    tree."""
    if isinstance(doc, Mapping):
        return {
            k: _substitute(
                v,
                principal,
                repo,
                slots,
                probe,
                isinstance(k, str) and (k in ("$in", "$nin") or k.endswith(("__in", "__nin"))),
            )
            for k, v in doc.items()
        }
    if isinstance(doc, list | tuple):
        return [_substitute(v, principal, repo, slots, probe) for v in doc]
    if isinstance(doc, str) and doc.startswith(_USER):
        name = doc[len(_USER) :]
        if not name or not name.replace("_", "a").isalnum():
            raise XRepoConfigurationError(
                f"bad placeholder {doc!r} in an ACL row condition; use $user.id or "
                "$user.<attribute>",
                repo=repo,
                operation="configure acl",
            )
        value: Any
        if probe:
            value = "probe"
        elif name == "id":
            if principal.user_id is None:
                raise _NoAttribute(name)
            value = principal.user_id
        elif name not in principal.attributes:
            raise _NoAttribute(name)
        else:
            value = principal.attributes[name]
        text = f"{_SLOT_PREFIX}{len(slots)}\x00"
        slots.append(_Slot(text, name, value, listy))
        return [text] if listy else text
    return doc


def _bind_slots(
    node: Node, slots: Sequence[_Slot], limits: FilterLimits, operation: str, repo: str | None
) -> Node:
    """``node`` with every placeholder replaced by its caller's value, as a literal."""
    if not slots:
        return node
    by_text = {s.text: s for s in slots}
    binder = _Binder(by_text, limits, operation, repo)
    return binder.node(node)


class _Binder:
    def __init__(
        self, slots: Mapping[str, _Slot], limits: FilterLimits, operation: str, repo: str | None
    ) -> None:
        self.slots = slots
        self.limits = limits
        self.operation = operation
        self.repo = repo

    def node(self, node: Node) -> Node:
        if isinstance(node, Condition):
            return self.condition(node)
        if isinstance(node, Not):
            return Not(self.node(node.child))
        children = tuple(self.node(c) for c in node.children)
        if isinstance(node, And):
            return And(children)
        if isinstance(node, Or):
            return Or(children)
        return Nor(children)

    def condition(self, c: Condition) -> Node:
        if c.op in ("in", "nin"):
            values: list[Any] = []
            for v in c.value:
                slot = self.slot(v)
                if slot is not None and slot.spread:
                    # $in: "$user.teams": the attribute's elements (a scalar is one element).
                    items = slot.value
                    if isinstance(items, list | tuple | set | frozenset):
                        values.extend(self.literal(x, slot.name, 1) for x in items)
                    else:
                        values.append(self.literal(items, slot.name, 0))
                else:
                    values.append(self.fill(v))
            if len(values) > self.limits.max_in_values:
                raise XRepoValidationError(
                    f"field {c.path!r}: the caller's values make ${c.op} hold {len(values)} "
                    f"values, more than the limit of {self.limits.max_in_values}",
                    repo=self.repo,
                    operation=self.operation,
                )
            return Condition(c.path, c.op, tuple(values))
        if c.op == "regex":
            pattern, flags = c.value
            slot = self.slot(pattern)
            if slot is None:
                return c
            if not isinstance(slot.value, str):
                return MATCH_NONE  # only text matches a pattern: nothing does
            # The attribute is text to find, not a pattern: escaped, so it cannot be one.
            escaped = re.escape(self.literal(slot.value, slot.name, 0))
            if len(escaped) > self.limits.max_regex_length:
                raise XRepoValidationError(
                    f"field {c.path!r}: the caller's attribute {slot.name!r} is longer than "
                    f"a pattern may be ({self.limits.max_regex_length} characters)",
                    repo=self.repo,
                    operation=self.operation,
                )
            return Condition(c.path, "regex", (escaped, flags))
        if c.op in TEXT_OPS:
            slot = self.slot(c.value)
            if slot is not None and not isinstance(slot.value, str):
                return MATCH_NONE  # a text operator on a non-text value matches nothing
        if c.op == "exists":
            return c
        value = self.fill(c.value)
        return c if value is c.value else Condition(c.path, c.op, value)

    def slot(self, value: Any) -> _Slot | None:
        if isinstance(value, str) and value.startswith(_SLOT_PREFIX):
            return self.slots.get(value)
        return None

    def fill(self, value: Any) -> Any:
        """``value`` (a rule's operand) with its placeholders replaced, at any depth."""
        slot = self.slot(value)
        if slot is not None:
            return self.literal(slot.value, slot.name, 0)
        if isinstance(value, list):
            filled = [self.fill(v) for v in value]
            return value if all(a is b for a, b in zip(filled, value, strict=True)) else filled
        if isinstance(value, tuple):
            return tuple(self.fill(v) for v in value)
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value

    def literal(self, value: Any, name: str, depth: int) -> Any:
        """The caller's attribute ``value`` as a JSON-like literal. A mapping's keys are data,
        ``$`` included: every backend compares the document as a whole."""
        if value is None or isinstance(value, bool | int | float | str):
            if isinstance(value, str) and len(value) > self.limits.max_string_length:
                raise self.error(name, f"a string longer than {self.limits.max_string_length}")
            return value
        if depth > self.limits.max_depth:
            raise self.error(name, f"a value nested deeper than {self.limits.max_depth} levels")
        if isinstance(value, list | tuple | set | frozenset):
            return [self.literal(v, name, depth + 1) for v in value]
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for k, v in value.items():
                if not isinstance(k, str):
                    raise self.error(name, f"a mapping with a {type(k).__name__} key")
                out[k] = self.literal(v, name, depth + 1)
            return out
        # Dates, decimals, UUIDs: what a filter value may be.
        return check_value(
            value,
            self.limits,
            error=lambda m: self.error(name, m),
            where=f"attribute {name!r}",
        )

    def error(self, name: str, what: str) -> XRepoValidationError:
        return XRepoValidationError(
            f"the caller's attribute {name!r} cannot be compared in an ACL row condition: "
            f"{what}; attributes must be JSON-like values",
            repo=self.repo,
            operation=self.operation,
        )


def freeze_value(value: Any) -> Any:
    """``value`` made hashable (mappings sorted, sequences as tuples, else its repr): part of
    a cache key of principals and decisions."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), freeze_value(v)) for k, v in value.items()))
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(freeze_value(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value
