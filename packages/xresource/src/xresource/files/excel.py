"""``ExcelResource``: the sheets of a workbook (``.xlsx``, ``.xlsm``; ``.xls`` read-only) as tables.

Reading uses python-calamine (a Rust parser, many times faster than openpyxl) and falls back to
openpyxl's streaming read-only mode when calamine is not installed or ``engine="openpyxl"``.
Real date and time cells come back as ``datetime.date``, ``datetime.datetime`` and
``datetime.time``; empty cells as ``None``; whole numbers as ``int`` (Excel stores every number
as a float: ``2.0`` is read as ``2``, as openpyxl does).

Writing goes through openpyxl: a new workbook is written in ``write_only`` mode; in an existing
workbook the one sheet written is replaced (or appended to) and every other sheet is kept, styles
included. The workbook is saved to a temporary file and renamed over the old one.

Example:
    >>> import asyncio, pathlib, tempfile, datetime
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "book.xlsx"
    >>> r = ExcelResource(path=str(path), create_if_missing=True)
    >>> asyncio.run(r.write([{"day": datetime.date(2024, 5, 1), "n": 3}], collection="May"))
    1
    >>> asyncio.run(r.read(collection="May"))
    [{'day': datetime.date(2024, 5, 1), 'n': 3}]
"""

from __future__ import annotations

import asyncio
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import AliasChoices, Field

from xresource.errors import (
    XResourceConfigurationError,
    XResourceError,
    XResourceNotFoundError,
    XResourceValidationError,
)
from xresource.files.atomic import atomic_replace
from xresource.files.base import FileResource, Record, WriteMode
from xresource.files.csv import unique_names

__all__ = ["ExcelResource"]

_CELL_TYPES = (str, int, float, bool, Decimal, datetime, date, time, timedelta)
_DEFAULT_SHEET = "Sheet1"


def _save(book: Any, binary: Any) -> None:
    """``book.save(binary)``, with the archive closed even when writing fails midway.

    openpyxl's own save leaves its ``ZipFile`` open on an error (a cancelled write stops at
    the next buffered write); that archive's finalizer would later try to finish it on the
    temporary file, long closed and removed by then.
    """
    from openpyxl.writer.excel import ExcelWriter

    if getattr(book, "write_only", False) and not book.worksheets:
        book.create_sheet()  # as Workbook.save does: a workbook needs a sheet
    book.properties.modified = datetime.now(UTC).replace(tzinfo=None)
    with zipfile.ZipFile(binary, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(book, archive).write_data()


def _cell(value: Any) -> Any:
    # calamine gives "" for an empty cell and a float for every number; openpyxl gives None and
    # an int for "2". Both engines answer the same.
    if value == "" or value is None:
        return None
    if type(value) is float and value.is_integer():
        return int(value)
    return value


_FORMAT_LITERALS = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')


def _openpyxl_value(cell: Any) -> Any:
    # openpyxl gives a datetime for every date cell; a date-only number format means a date, as
    # calamine reports it.
    value = cell.value
    if type(value) is datetime and not (
        value.hour or value.minute or value.second or value.microsecond
    ):
        fmt = _FORMAT_LITERALS.sub("", str(getattr(cell, "number_format", "") or "")).lower()
        if fmt and fmt != "general" and "h" not in fmt and "s" not in fmt:
            return value.date()
    return value


class ExcelResource(FileResource):
    """An Excel workbook; each sheet is a table (a collection).

    Args:
        sheet: the default sheet, by name or 0-based index (``None``: the first sheet);
            ``collection=`` on an operation overrides it.
        header: ``True`` (the header row names the columns), ``False`` (``column_1``...) or an
            explicit list of names. ``has_header`` is accepted as an alias.
        header_row: the 1-based row that holds the header (rows above it are skipped); without a
            header, the row where data starts.
        skip_empty_rows: drop rows whose cells are all empty.
        engine: ``auto`` (calamine when installed, else openpyxl), ``calamine`` or ``openpyxl``.
    """

    resource_type: ClassVar[str] = "excel"
    format_fields: ClassVar[tuple[str, ...]] = ("sheet", "header", "header_row", "engine")

    sheet: str | int | None = None
    header: bool | list[str] = Field(
        default=True, validation_alias=AliasChoices("header", "has_header")
    )
    header_row: int = Field(default=1, ge=1)
    skip_empty_rows: bool = True
    engine: Literal["auto", "calamine", "openpyxl"] = "auto"

    # -- engines -------------------------------------------------------------------------------
    def _use_calamine(self) -> bool:
        if self.engine == "openpyxl":
            return False
        try:
            import python_calamine  # noqa: F401
        except ImportError:
            if self.engine == "calamine":
                raise self._error(
                    XResourceConfigurationError,
                    "engine='calamine' needs python-calamine: pip install 'xresource[excel]'",
                    "read",
                ) from None
            return False
        return True

    def _openpyxl(self) -> Any:
        try:
            import openpyxl
        except ImportError:
            raise self._error(
                XResourceConfigurationError,
                "Excel files need openpyxl: pip install 'xresource[excel]'",
                "open",
            ) from None
        return openpyxl

    def _bad_workbook(self, path: Path, exc: Exception, operation: str) -> XResourceValidationError:
        return self._error(
            XResourceValidationError,
            f"file {str(path)!r} is not a readable Excel workbook ({exc}); check "
            "that it is .xlsx/.xlsm/.xls and not corrupt",
            operation,
        )

    def _sheet_names(self, path: Path) -> list[str]:
        if self._use_calamine():
            from python_calamine import CalamineWorkbook

            try:
                workbook = CalamineWorkbook.from_path(str(path))
            except Exception as exc:  # calamine raises its own errors and plain ValueErrors
                raise self._bad_workbook(path, exc, "list_collections") from None
            try:
                return list(workbook.sheet_names)
            finally:
                workbook.close()
        openpyxl = self._openpyxl()
        try:
            book = openpyxl.load_workbook(path, read_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise self._bad_workbook(path, exc, "list_collections") from None
        try:
            return list(book.sheetnames)
        finally:
            book.close()

    async def list_collections_or_tables(self) -> list[str]:
        """The sheet names, in workbook order."""
        path = await self._readable("list_collections")
        if path is None:
            return []
        return await asyncio.to_thread(self._sheet_names, path)

    def _pick_sheet(self, names: Sequence[str], collection: str | None, operation: str) -> str:
        wanted: str | int | None = collection if collection is not None else self.sheet
        if wanted is None:
            if not names:
                raise self._error(
                    XResourceNotFoundError, f"workbook {self.path!r} has no sheets", operation
                )
            return names[0]
        if isinstance(wanted, int):
            if not 0 <= wanted < len(names):
                raise self._error(
                    XResourceNotFoundError,
                    f"sheet index {wanted} is out of range: workbook {self.path!r} has "
                    f"{len(names)} sheet(s) ({', '.join(names)})",
                    operation,
                )
            return names[wanted]
        if wanted not in names:
            raise self._error(
                XResourceNotFoundError,
                f"sheet {wanted!r} not found in workbook {self.path!r}; sheets: {', '.join(names)}",
                operation,
            )
        return wanted

    def _check_collection_for_missing(self, collection: str | None) -> None:
        # A workbook that does not exist yet has no sheets: nothing to read.
        return None

    # -- reading -------------------------------------------------------------------------------
    def _rows(self, path: Path, collection: str | None) -> Iterator[Sequence[Any]]:
        """Raw rows of the chosen sheet, from the first (header) row on."""
        if self._use_calamine():
            from python_calamine import CalamineWorkbook

            try:
                workbook = CalamineWorkbook.from_path(str(path))
            except Exception as exc:
                raise self._bad_workbook(path, exc, "read") from None
            try:
                name = self._pick_sheet(workbook.sheet_names, collection, "read")
                try:
                    sheet = workbook.get_sheet_by_name(name)
                except Exception as exc:
                    raise self._bad_workbook(path, exc, "read") from None
                # calamine yields rows from the sheet's first row, but columns only from the
                # first used one: pad on the left so both engines number columns from A.
                left = sheet.start[1] if sheet.start else 0
                rows: Iterator[Sequence[Any]] = islice(sheet.iter_rows(), self.header_row - 1, None)
                if left:
                    rows = ([None] * left + list(row) for row in rows)
                yield from rows
            finally:
                workbook.close()
            return
        openpyxl = self._openpyxl()
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise self._bad_workbook(path, exc, "read") from None
        try:
            name = self._pick_sheet(book.sheetnames, collection, "read")
            for row in book[name].iter_rows(min_row=self.header_row):
                yield [_openpyxl_value(cell) for cell in row]
        finally:
            book.close()

    def _iter_chunks(
        self, path: Path, chunk_size: int, collection: str | None
    ) -> Iterator[list[Record]]:
        rows = self._rows(path, collection)
        try:
            names: list[str]
            if isinstance(self.header, list):
                names = list(self.header)
            elif self.header:
                header = next(rows, None)
                if header is None:
                    return
                raw = list(header)
                while raw and (raw[-1] is None or raw[-1] == ""):
                    raw.pop()  # trailing empty header cells are padding, not columns
                names = unique_names(raw)
            else:
                names = []
            chunk: list[Record] = []
            for row in rows:
                values = [_cell(v) for v in row]
                if self.skip_empty_rows and all(v is None for v in values):
                    continue
                if len(values) > len(names):
                    if any(v is not None for v in values[len(names) :]) or not names:
                        names = names + [
                            f"column_{i}" for i in range(len(names) + 1, len(values) + 1)
                        ]
                    else:
                        del values[len(names) :]
                if len(values) < len(names):
                    values.extend([None] * (len(names) - len(values)))
                chunk.append(dict(zip(names, values, strict=True)))
                if len(chunk) >= chunk_size:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk
        finally:
            rows.close()  # type: ignore[attr-defined]

    # -- writing -------------------------------------------------------------------------------
    def _target_sheet(self, existing: Sequence[str], collection: str | None) -> str:
        if collection is not None:
            return collection
        if isinstance(self.sheet, str):
            return self.sheet
        if isinstance(self.sheet, int):
            return self._pick_sheet(existing, None, "write")
        return existing[0] if existing else _DEFAULT_SHEET

    def _check_value(self, value: Any, index: int, key: str) -> Any:
        if value is None or isinstance(value, _CELL_TYPES):
            if isinstance(value, datetime | time) and value.tzinfo is not None:
                raise self._error(
                    XResourceValidationError,
                    f"record {index} field {key!r}: Excel cannot store time zones; convert "
                    "the value to a naive (local or UTC) time first",
                    "write",
                )
            return value
        raise self._error(
            XResourceValidationError,
            f"record {index} field {key!r}: a {type(value).__name__} cannot be written to an "
            "Excel cell (only text, numbers, booleans, dates, times and None)",
            "write",
        )

    def _write_sync(
        self, path: Path, rows: list[Mapping[str, Any]], mode: WriteMode, collection: str | None
    ) -> int:
        if path.suffix.lower() == ".xls":
            raise self._error(
                XResourceValidationError,
                f"cannot write {self.path!r}: the legacy .xls format is read-only here; write "
                "to a .xlsx file instead",
                "write",
            )
        openpyxl = self._openpyxl()
        from openpyxl.utils.exceptions import IllegalCharacterError

        exists = path.exists() and path.stat().st_size > 0
        book: Any
        if exists:
            try:
                book = openpyxl.load_workbook(path)
            except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
                raise self._bad_workbook(path, exc, "write") from None
            name = self._target_sheet(book.sheetnames, collection)
        else:
            book = openpyxl.Workbook(write_only=True)
            name = self._target_sheet([], collection)
        try:
            names: list[str]
            if exists and name in book.sheetnames and mode == "append":
                sheet = book[name]
                header = list(next(sheet.iter_rows(max_row=1, values_only=True), ()))
                while header and header[-1] is None:
                    header.pop()
                names = (
                    list(self.header)
                    if isinstance(self.header, list)
                    else unique_names(header)
                    if self.header and header
                    else []
                )
                if not names:
                    names = list(dict.fromkeys(k for row in rows for k in row))
                    if self.header is not False:
                        sheet.append(names)
                unknown = sorted({k for row in rows for k in row} - set(names))
                if unknown:
                    raise self._error(
                        XResourceValidationError,
                        f"field(s) {', '.join(map(repr, unknown))} are not columns of sheet "
                        f"{name!r} ({', '.join(names)})",
                        "write",
                    )
            else:
                if exists and name in book.sheetnames:
                    position = book.sheetnames.index(name)
                    book.remove(book[name])
                    sheet = book.create_sheet(name, position)
                else:
                    sheet = book.create_sheet(name)
                names = (
                    list(self.header)
                    if isinstance(self.header, list)
                    else list(dict.fromkeys(k for row in rows for k in row))
                )
                if self.header is not False and names:
                    sheet.append(names)
            for index, row in enumerate(rows):
                sheet.append([self._check_value(row.get(key), index, key) for key in names])
            with atomic_replace(path) as binary:
                _save(book, binary)
        except XResourceError:
            raise
        except IllegalCharacterError as exc:
            raise self._error(
                XResourceValidationError,
                f"a value holds characters Excel cannot store: {exc}",
                "write",
            ) from None
        except ValueError as exc:
            # openpyxl refuses bad sheet names ("Sheet names cannot contain...") this way.
            raise self._error(
                XResourceValidationError, f"cannot write sheet {name!r}: {exc}", "write"
            ) from None
        finally:
            if hasattr(book, "close"):
                book.close()
        return len(rows)
