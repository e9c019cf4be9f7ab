"""``YAMLResource``: YAML files of records, loaded with the *safe* loader only.

A file holds records as a list of mappings, as a mapping of lists (each key a collection), as one
mapping (one record), or as a stream of documents (``---``) each of which is a mapping or a list
of mappings. Tags that build Python objects (``!!python/object``, ``!!python/name``...) are refused
with ``XResourceValidationError``: nothing in a YAML file can run code.

``read`` and ``read_stream`` go item by item: the parser's events (libyaml's when compiled in)
are composed into one list item at a time, so a long list never sits in memory whole (this is
also faster than loading the whole document with ``CSafeLoader``). Writing uses
``yaml.safe_dump``; an append re-writes the file (comments are not kept).

Example:
    >>> import asyncio, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "users.yaml"
    >>> _ = path.write_text("- name: Ada\\n  langs: [en, fr]\\n", encoding="utf-8")
    >>> asyncio.run(YAMLResource(path=str(path)).read())
    [{'name': 'Ada', 'langs': ['en', 'fr']}]
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import yaml  # type: ignore[import-untyped,unused-ignore]

from xresource.errors import XResourceNotFoundError, XResourceValidationError
from xresource.files.atomic import atomic_replace
from xresource.files.base import FileResource, Record, WriteMode

__all__ = ["YAMLResource"]

# libyaml's loader when compiled in: the same safe constructors, about 10x faster.
_FAST_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _tag(loader: Any, kind: type[Any], event: Any, value: Any) -> str:
    tag: str | None = event.tag
    if tag is None or tag == "!":
        tag = loader.resolve(kind, value, event.implicit)
    assert tag is not None
    return tag


def _compose(loader: Any, anchors: dict[str, Any]) -> Any:
    """Compose the next node from the parser's events (what ``Composer.compose_node`` does).

    libyaml's parser exposes events but not node composition; composing here lets the C parser
    do the scanning while items are still built one at a time.
    """
    if loader.check_event(yaml.AliasEvent):
        event = loader.get_event()
        if event.anchor not in anchors:
            raise yaml.composer.ComposerError(
                None, None, f"found undefined alias {event.anchor!r}", event.start_mark
            )
        return anchors[event.anchor]
    event = loader.get_event()
    node: Any
    if isinstance(event, yaml.ScalarEvent):
        node = yaml.ScalarNode(
            _tag(loader, yaml.ScalarNode, event, event.value),
            event.value,
            event.start_mark,
            event.end_mark,
            style=event.style,
        )
        if event.anchor is not None:
            anchors[event.anchor] = node
        return node
    if isinstance(event, yaml.SequenceStartEvent):
        node = yaml.SequenceNode(
            _tag(loader, yaml.SequenceNode, event, None),
            [],
            event.start_mark,
            None,
            flow_style=event.flow_style,
        )
        if event.anchor is not None:
            anchors[event.anchor] = node
        while not loader.check_event(yaml.SequenceEndEvent):
            node.value.append(_compose(loader, anchors))
        node.end_mark = loader.get_event().end_mark
        return node
    if isinstance(event, yaml.MappingStartEvent):
        node = yaml.MappingNode(
            _tag(loader, yaml.MappingNode, event, None),
            [],
            event.start_mark,
            None,
            flow_style=event.flow_style,
        )
        if event.anchor is not None:
            anchors[event.anchor] = node
        while not loader.check_event(yaml.MappingEndEvent):
            key = _compose(loader, anchors)
            node.value.append((key, _compose(loader, anchors)))
        node.end_mark = loader.get_event().end_mark
        return node
    raise yaml.composer.ComposerError(
        None, None, f"expected a node, found {type(event).__name__}", event.start_mark
    )


class YAMLResource(FileResource):
    """A YAML file (``.yaml``/``.yml``).

    Args:
        sort_keys: sort mapping keys when writing (default: keep the records' order).
        default_flow_style: ``yaml.safe_dump``'s flow style for written collections.
    """

    resource_type: ClassVar[str] = "yaml"
    format_fields: ClassVar[tuple[str, ...]] = ("encoding",)

    sort_keys: bool = False
    default_flow_style: bool | None = False

    # -- errors --------------------------------------------------------------------------------
    def _yaml_error(self, path: Path, exc: yaml.YAMLError, operation: str) -> Exception:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        if isinstance(exc, yaml.constructor.ConstructorError) and "tag" in str(problem):
            return self._error(
                XResourceValidationError,
                f"file {str(path)!r}{where}: {problem}. Only plain YAML is accepted (mappings, "
                "lists, strings, numbers, booleans, dates, null): tags such as !!python/object "
                "are refused because loading them could run code",
                operation,
            )
        return self._error(
            XResourceValidationError,
            f"file {str(path)!r} is not valid YAML{where}: {problem}",
            operation,
        )

    def _load_all(self, path: Path, operation: str) -> list[Any]:
        """Every document of the file (C safe loader); ``None`` documents dropped."""
        try:
            with path.open(encoding=self.read_encoding, errors=self.encoding_errors) as fh:
                return [
                    doc for doc in yaml.load_all(fh, Loader=_FAST_SAFE_LOADER) if doc is not None
                ]
        except yaml.YAMLError as exc:
            raise self._yaml_error(path, exc, operation) from None
        except UnicodeDecodeError:
            raise self.decode_error(path, operation) from None

    @staticmethod
    def _is_collections(doc: Any) -> bool:
        return (
            isinstance(doc, dict) and bool(doc) and all(isinstance(v, list) for v in doc.values())
        )

    def _records_of(
        self, path: Path, docs: list[Any], collection: str | None, operation: str
    ) -> list[Record]:
        if len(docs) == 1 and self._is_collections(docs[0]):
            doc = docs[0]
            if collection is None:
                raise self._error(
                    XResourceValidationError,
                    f"file {self.path!r} holds several collections ({', '.join(map(str, doc))}); "
                    "pass collection=<name>",
                    operation,
                )
            if collection not in doc:
                raise self._error(
                    XResourceNotFoundError,
                    f"collection {collection!r} not found in {self.path!r}; collections: "
                    f"{', '.join(map(str, doc))}",
                    operation,
                )
            items: list[Any] = doc[collection]
        else:
            self._check_single_collection(collection, operation)
            items = []
            for doc in docs:
                items.extend(doc if isinstance(doc, list) else [doc])
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise self._error(
                    XResourceValidationError,
                    f"file {self.path!r}: item {index} is a {type(item).__name__}, not a "
                    "mapping; records must be mappings",
                    operation,
                )
        records: list[Record] = items
        return records

    # -- reading -------------------------------------------------------------------------------
    async def list_collections_or_tables(self) -> list[str]:
        """The keys of a mapping of lists, else ``[stem]``."""
        path = await self._readable("list_collections")
        if path is None:
            return [self.stem]
        docs = await asyncio.to_thread(self._load_all, path, "list_collections")
        if len(docs) == 1 and self._is_collections(docs[0]):
            return [str(k) for k in docs[0]]
        return [self.stem]

    def _check_collection_for_missing(self, collection: str | None) -> None:
        return None

    def _iter_chunks(
        self, path: Path, chunk_size: int, collection: str | None
    ) -> Iterator[list[Record]]:
        chunk: list[Record] = []
        try:
            for item in self._iter_items(path, collection):
                chunk.append(item)
                if len(chunk) >= chunk_size:
                    yield chunk
                    chunk = []
        except yaml.YAMLError as exc:
            raise self._yaml_error(path, exc, "read") from None
        except UnicodeDecodeError:
            raise self.decode_error(path, "read") from None
        if chunk:
            yield chunk

    def _iter_items(self, path: Path, collection: str | None) -> Iterator[Record]:
        """Records of the file, composing one list item at a time from the parser's events."""
        index = 0

        def record(value: Any) -> Record:
            nonlocal index
            if not isinstance(value, dict):
                raise self._error(
                    XResourceValidationError,
                    f"file {self.path!r}: item {index} is a {type(value).__name__}, not a "
                    "mapping; records must be mappings",
                    "read",
                )
            index += 1
            return value

        with path.open(encoding=self.read_encoding, errors=self.encoding_errors) as fh:
            loader = _FAST_SAFE_LOADER(fh)
            anchors: dict[str, Any] = {}
            try:
                loader.get_event()  # StreamStart
                documents = 0
                found = collection is None or collection == self.stem
                while not loader.check_event(yaml.StreamEndEvent):
                    loader.get_event()  # DocumentStart
                    documents += 1
                    if loader.check_event(yaml.SequenceStartEvent):
                        self._check_single_collection(collection, "read")
                        loader.get_event()
                        while not loader.check_event(yaml.SequenceEndEvent):
                            yield record(loader.construct_document(_compose(loader, anchors)))
                        loader.get_event()
                    elif loader.check_event(yaml.MappingStartEvent) and documents == 1:
                        yield from self._mapping_items(loader, anchors, collection, record)
                        found = True
                    else:
                        node = _compose(loader, anchors)
                        value = loader.construct_document(node)
                        if value is not None:
                            self._check_single_collection(collection, "read")
                            yield record(value)
                    loader.get_event()  # DocumentEnd
                    anchors.clear()
                if not found:
                    self._check_single_collection(collection, "read")
            finally:
                loader.dispose()

    def _mapping_items(
        self, loader: Any, anchors: dict[str, Any], collection: str | None, record: Any
    ) -> Iterator[Record]:
        """The first document is a mapping: a mapping of lists (collections) or one record."""
        start = loader.get_event()
        keys: list[Any] = []
        values: list[Any] = []
        streamed = False
        while not loader.check_event(yaml.MappingEndEvent):
            key = loader.construct_document(_compose(loader, anchors))
            keys.append(key)
            if (
                collection is not None
                and key == collection
                and loader.check_event(yaml.SequenceStartEvent)
            ):
                loader.get_event()
                while not loader.check_event(yaml.SequenceEndEvent):
                    yield record(loader.construct_document(_compose(loader, anchors)))
                loader.get_event()
                streamed = True
                values.append([])
            else:
                values.append(loader.construct_document(_compose(loader, anchors)))
        loader.get_event()
        del start
        if streamed:
            return
        document = dict(zip(keys, values, strict=True))
        if self._is_collections(document):
            if collection is None:
                raise self._error(
                    XResourceValidationError,
                    f"file {self.path!r} holds several collections "
                    f"({', '.join(map(str, document))}); pass collection=<name>",
                    "read",
                )
            raise self._error(
                XResourceNotFoundError,
                f"collection {collection!r} not found in {self.path!r}; collections: "
                f"{', '.join(map(str, document))}",
                "read",
            )
        self._check_single_collection(collection, "read")
        yield record(document)

    # -- writing -------------------------------------------------------------------------------
    def _write_sync(
        self, path: Path, rows: list[Mapping[str, Any]], mode: WriteMode, collection: str | None
    ) -> int:
        records = [dict(row) for row in rows]
        exists = path.exists() and path.stat().st_size > 0
        docs = (
            self._load_all(path, "write")
            if exists and (mode == "append" or (collection is not None and collection != self.stem))
            else []
        )
        document: Any
        if collection is not None and collection != self.stem:
            if len(docs) > 1 or (docs and not isinstance(docs[0], dict)):
                raise self._error(
                    XResourceValidationError,
                    f"file {self.path!r} is not a mapping of collections; cannot write "
                    f"collection {collection!r}",
                    "write",
                )
            document = dict(docs[0]) if docs else {}
            current = document.get(collection, [])
            if mode == "append" and not isinstance(current, list):
                raise self._error(
                    XResourceValidationError,
                    f"key {collection!r} of {self.path!r} is not a list",
                    "write",
                )
            document[collection] = [*current, *records] if mode == "append" else records
        elif mode == "append" and docs:
            if len(docs) == 1 and self._is_collections(docs[0]):
                raise self._error(
                    XResourceValidationError,
                    f"file {self.path!r} holds several collections; pass collection=<name>",
                    "write",
                )
            existing: list[Any] = []
            for doc in docs:
                existing.extend(doc if isinstance(doc, list) else [doc])
            document = [*existing, *records]
        else:
            document = records
        with atomic_replace(path) as binary:
            text = io.TextIOWrapper(binary, encoding=self.encoding, errors="strict")
            try:
                yaml.safe_dump(
                    document,
                    text,
                    allow_unicode=True,
                    sort_keys=self.sort_keys,
                    default_flow_style=self.default_flow_style,
                )
                text.flush()
            except yaml.representer.RepresenterError as exc:
                bad = exc.args[1] if len(exc.args) > 1 else None
                raise self._error(
                    XResourceValidationError,
                    f"a record holds a {type(bad).__name__ if bad is not None else 'value'} that "
                    "YAML's safe dumper cannot write (only mappings, lists, text, numbers, "
                    "booleans, dates and None)",
                    "write",
                ) from None
            except UnicodeEncodeError as exc:
                raise self._error(
                    XResourceValidationError,
                    f"a value cannot be encoded as {self.encoding}: {exc.reason}",
                    "write",
                ) from None
            finally:
                text.detach()
        return len(records)
