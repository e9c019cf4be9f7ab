"""Access control as a layer: what one call may see, filter on, store and change.

:class:`AccessLayer` applies an :class:`~xrepo.acl.ACLPolicy` to the steps of a secured
operation, each given the :class:`~xrepo.secure._call.Call` explicitly:

- the caller's row scope ANDed into every query (:meth:`scope`), into the foreign side of every
  ``$lookup`` and put first in every pipeline;
- hidden fields refused in filters, sorts, ``distinct`` and pipelines, and left out of the models
  the caller gets (validated straight into a restricted model: hidden values never sit in an
  object the caller holds);
- fields the caller may not write refused; new rows and changes that would leave the caller's
  rows refused.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from xrepo._context import Permission
from xrepo.acl import ACLPolicy, LookupGrant, scope_fields
from xrepo.compile import compile_predicate
from xrepo.errors import XRepoPermissionError
from xrepo.query import Lookup, Node, SortKey, Stage
from xrepo.secure._call import Admission, Call
from xrepo.stores import Row, UpdateItem

__all__ = ["AccessLayer"]


class AccessLayer:
    """An access policy applied to one repository's calls.

    Args:
        acl: the policy (``None``: everyone may do everything; every check passes).
        admission: decides another permission of a call (a nested step).
        model: the repository's model; ``fields``/``array_fields`` its fields.
        repo: the repository's name (in errors).
    """

    def __init__(
        self,
        acl: ACLPolicy | None,
        admission: Admission,
        model: type[BaseModel],
        fields: frozenset[str],
        array_fields: frozenset[str],
        version_field: str,
        repo: str,
    ) -> None:
        self.acl = acl
        self._admission = admission
        self._model = model
        self._fields = fields
        self._array_fields = array_fields
        self._version_field = version_field
        self._repo = repo

    # -- rows ---------------------------------------------------------------------------------
    def scope(self, call: Call, permission: Permission) -> Node | None:
        """The caller's rows for ``permission`` (``None``: all)."""
        decision = call.decision
        if decision is None:
            return None
        if decision.permission is permission:
            return decision.scope
        # A nested step (update reading back its record): the same caller, another permission.
        other = self._admission.decide(call, permission)
        if other is None:
            raise XRepoPermissionError(
                f"the caller may not {permission.value} in this repository",
                repo=self._repo,
                operation=call.operation,
            )
        return other.scope

    def check_rows(self, call: Call, rows: Sequence[Row]) -> None:
        """Refuse new rows outside the rows the caller may create."""
        decision = call.decision
        if decision is None or decision.scope is None:
            return
        matches = compile_predicate(decision.scope, array_fields=self._array_fields)
        for i, row in enumerate(rows):
            if not matches(row):
                raise XRepoPermissionError(
                    "the record lies outside the rows the caller may create"
                    + (f" (item {i})" if len(rows) > 1 else ""),
                    repo=self._repo,
                    operation=call.operation,
                    item=i if len(rows) > 1 else None,
                )

    async def check_changes(
        self,
        call: Call,
        batch: Sequence[UpdateItem],
        select: Callable[[Node], Awaitable[builtins.list[Row]]],
        stored: Callable[[Row], Row],
    ) -> None:
        """Refuse a change that would move a record outside the caller's rows.

        ``select(node)`` reads the records an item changes; ``stored(row)`` is a read row as
        the repository stores it (to merge the changes into).
        """
        decision = call.decision
        if decision is None:
            return
        # The scope of the call's own permission (a soft delete is an update of deleted_at by
        # a caller who may delete, not necessarily update).
        scope = decision.scope
        watched = scope_fields(scope)
        if scope is None or not any(watched & set(changes) for _, changes, _ in batch):
            return
        # The change touches what decides the caller's rows: the record must stay in.
        matches = compile_predicate(scope, array_fields=self._array_fields)
        for i, (node, changes, _) in enumerate(batch):
            for row in await select(node):
                merged = {**stored(row), **changes}
                if not matches(merged):
                    raise XRepoPermissionError(
                        "the change would move the record outside the caller's rows",
                        repo=self._repo,
                        operation=call.operation,
                        item=i if len(batch) > 1 else None,
                    )

    # -- fields -------------------------------------------------------------------------------
    def check_filter(self, call: Call, node: Node, operation: str) -> None:
        """Refuse a filter on hidden fields."""
        if call.decision is not None:
            ACLPolicy.check_node(node, call.decision.hidden, operation, self._repo)

    def check_sort(self, call: Call, keys: Iterable[SortKey], operation: str) -> None:
        """Refuse a sort on hidden fields."""
        decision = call.decision
        if decision is not None and decision.hidden:
            ACLPolicy.check_paths(
                (p for p, _ in keys), decision.hidden, operation, self._repo, "to sort"
            )

    def check_distinct(self, call: Call, field: Any) -> None:
        """Refuse ``distinct`` of a hidden field."""
        if call.decision is not None and isinstance(field, str):
            ACLPolicy.check_paths(
                [field], call.decision.hidden, "distinct", self._repo, "in distinct"
            )

    def check_write(self, call: Call, data: Any, item: int | None = None) -> None:
        """Refuse input naming fields the caller may not write (with an ACL)."""
        if call.decision is not None and self.acl is not None:
            self.acl.check_write(
                self._input_keys(data), call.decision, call.operation, self._repo, item
            )

    def _input_keys(self, data: Any) -> builtins.list[str]:
        if isinstance(data, BaseModel):
            keys = builtins.list(data.model_fields_set)
        elif isinstance(data, Mapping):
            keys = [k for k in data if isinstance(k, str)]
        else:
            return []
        version = self._version_field
        return [k for k in keys if k in self._fields and k != version]

    # -- what the caller reads ----------------------------------------------------------------
    def restricted(self, call: Call) -> type[BaseModel] | None:
        """The model a reading caller with hidden fields gets (``None``: the full model)."""
        decision = call.decision
        if decision is None or not decision.hidden or self.acl is None:
            return None
        return self.acl.restricted_model(self._model, decision.hidden)

    def models(
        self,
        call: Call,
        rows: Sequence[Mapping[str, Any]],
        full: Callable[[Mapping[str, Any]], Any],
        json_fields: bool,
    ) -> builtins.list[Any] | None:
        """The restricted models of ``rows`` (``None``: the caller reads every field).

        Validated straight into the restricted model: hidden values are dropped before
        validation, so they never sit in an object the caller holds. ``full(row)`` is the full
        model of a row (for models with JSON fields, decoded there first).
        """
        restricted = self.restricted(call)
        if restricted is None:
            return None
        if json_fields:
            names = tuple(restricted.model_fields)
            return [
                restricted.model_validate({n: getattr(m, n) for n in names})
                for m in map(full, rows)
            ]
        keep = frozenset(restricted.model_fields)
        validate = restricted.model_validate
        return [validate({k: v for k, v in r.items() if k in keep}) for r in rows]

    def visible(self, models: builtins.list[Any], call: Call) -> builtins.list[Any]:
        """``models`` without the fields hidden from the caller."""
        restricted = self.restricted(call)
        if restricted is None:
            return models
        names = builtins.list(restricted.model_fields)
        out: builtins.list[Any] = []
        for m in models:
            if type(m) is restricted:
                out.append(m)
                continue
            values = {n: getattr(m, n) for n in names}
            out.append(restricted.model_construct(_fields_set=set(names), **values))
        return out

    def visible_one(self, model: Any, call: Call) -> Any:
        """``model`` without the fields hidden from the caller (``None`` stays ``None``)."""
        if model is None:
            return None
        return self.visible([model], call)[0]

    # -- pipelines ----------------------------------------------------------------------------
    def lookup_sources(self, declared: frozenset[str] | None) -> frozenset[str] | None:
        """What ``$lookup`` may read: the repository's declaration, plus what the policy opens
        (listing a collection in ``ACLPolicy(lookups={...})`` is an explicit choice too, and
        restricts its rows)."""
        if declared is None or self.acl is None:
            return declared
        return declared | frozenset(self.acl.lookups)

    def check_stages(self, call: Call, stages: builtins.list[Stage]) -> builtins.list[Stage]:
        """Hidden fields may not be used; each ``$lookup``'s foreign side gets the caller's
        scope there. What the pipeline derived from hidden fields is remembered for
        :meth:`strip`."""
        if call.decision is None or self.acl is None:
            return stages
        grants = {
            s.source: self.acl.lookup_grant(s.source, call.principal)
            for s in stages
            if isinstance(s, Lookup)
        }
        call.grants = grants
        call.tainted = self.acl.check_pipeline(stages, call.decision.hidden, grants, self._repo)
        return [_scoped_lookup(s, grants, self._repo) for s in stages]

    @staticmethod
    def strip(rows: builtins.list[dict[str, Any]], call: Call) -> builtins.list[dict[str, Any]]:
        """An aggregate's rows without what it derived from hidden fields."""
        return ACLPolicy.strip(rows, call.tainted)


def _scoped_lookup(stage: Stage, grants: Mapping[str, LookupGrant], repo: str) -> Stage:
    """A ``$lookup`` whose foreign side is restricted to the caller's rows there."""
    if not isinstance(stage, Lookup):
        return stage
    grant = grants.get(stage.source)
    if grant is None or grant.scope is None:
        return stage
    names = {f.name for f in dataclasses.fields(stage)}
    if "where" not in names:
        raise XRepoPermissionError(
            f"$lookup into {stage.source!r} needs a row filter on the foreign side, which this "
            "version's pipeline compiler cannot apply",
            repo=repo,
            operation="aggregate",
        )
    return dataclasses.replace(stage, where=grant.scope)
