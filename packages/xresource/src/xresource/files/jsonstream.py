"""An incremental reader of large JSON documents: array elements one at a time.

``json.load`` needs the whole document in memory. :class:`JSONTokenStream` reads a text file in
blocks and decodes one value at a time with ``json.JSONDecoder.raw_decode``, so a top-level array
(or an array under a key of a top-level object, such as ``{"Album": [...], "Track": [...]}``) is
streamed element by element: memory is bounded by the largest single element, not the file.

Errors are :class:`JSONStreamError` with the 1-based line and column of the problem in the file.

Example:
    >>> import io
    >>> s = JSONTokenStream(io.StringIO('[{"a": 1}, {"a": 2}]'))
    >>> s.expect_start()
    '['
    >>> list(s.iter_array())
    [{'a': 1}, {'a': 2}]
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO

__all__ = ["JSONStreamError", "JSONTokenStream"]

_WS = " \t\n\r"
_NUMBER_CHARS = "0123456789+-.eE"
# raw_decode errors within this many characters of the buffer's end may be a value cut by the
# block boundary (``\uXXXX`` escapes are the longest token that can be split).
_TAIL = 8


class JSONStreamError(ValueError):
    """Malformed JSON at ``line``:``column`` (both 1-based)."""

    def __init__(self, msg: str, line: int, column: int) -> None:
        super().__init__(f"{msg} (line {line}, column {column})")
        self.msg = msg
        self.line = line
        self.column = column


class JSONTokenStream:
    """A cursor over a JSON text read in blocks of ``block_size`` characters."""

    def __init__(self, fh: TextIO, block_size: int = 1 << 16) -> None:
        self._fh = fh
        self._block = block_size
        self._buf = ""
        self._pos = 0
        self._eof = False
        # Where the buffer starts in the file, for error positions.
        self._line = 1
        self._col = 1
        self._decoder = json.JSONDecoder()

    # -- buffer --------------------------------------------------------------------------------
    def _fill(self, grow: bool = False) -> bool:
        """Read one more block (dropping what is consumed); ``False`` at end of file.

        ``grow`` reads at least as much as is pending, so a large value being decoded is
        re-scanned a logarithmic, not linear, number of times.
        """
        if self._eof:
            return False
        size = max(self._block, len(self._buf) - self._pos) if grow else self._block
        data = self._fh.read(size)
        if not data:
            # The buffer stays as it is: callers still hold offsets into it.
            self._eof = True
            return False
        consumed = self._buf[: self._pos]
        if consumed:
            newlines = consumed.count("\n")
            if newlines:
                self._line += newlines
                self._col = len(consumed) - consumed.rfind("\n")
            else:
                self._col += len(consumed)
        self._buf = self._buf[self._pos :] + data
        self._pos = 0
        return True

    def position(self, pos: int | None = None) -> tuple[int, int]:
        """Line and column (1-based) of buffer offset ``pos`` (default: the cursor)."""
        pos = self._pos if pos is None else pos
        before = self._buf[:pos]
        newlines = before.count("\n")
        if newlines:
            return self._line + newlines, pos - before.rfind("\n")
        return self._line, self._col + pos

    def error(self, msg: str, pos: int | None = None) -> JSONStreamError:
        """A :class:`JSONStreamError` at buffer offset ``pos`` (default: the cursor)."""
        line, col = self.position(pos)
        return JSONStreamError(msg, line, col)

    def peek(self) -> str:
        """The next non-whitespace character ('' at end of file), without consuming it."""
        while True:
            buf = self._buf
            n = len(buf)
            pos = self._pos
            while pos < n and buf[pos] in _WS:
                pos += 1
            self._pos = pos
            if pos < n:
                return buf[pos]
            if not self._fill():
                return ""

    def take(self, expected: str) -> None:
        """Consume the character ``expected`` (after whitespace) or raise."""
        char = self.peek()
        if char != expected:
            found = repr(char) if char else "end of file"
            raise self.error(f"expected {expected!r}, found {found}")
        self._pos += 1

    def value(self) -> Any:
        """Decode the next complete JSON value (reading more blocks as needed)."""
        if not self.peek():
            raise self.error("expected a value, found end of file")
        while True:
            try:
                obj, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                cut = exc.pos >= len(self._buf) - _TAIL or exc.msg.startswith("Unterminated string")
                if cut and self._fill(grow=True):
                    continue
                raise self.error(exc.msg, exc.pos) from None
            # A number cut by the block boundary decodes as a shorter number ("12" of "1234",
            # "0" of "0.5"): when only number characters follow up to the buffer's end, read on.
            if (
                not self._eof
                and isinstance(obj, int | float)
                and obj is not True
                and obj is not False
                and not self._buf[end:].strip(_NUMBER_CHARS)
                and self._fill(grow=True)
            ):
                continue
            self._pos = end
            return obj

    # -- structure -----------------------------------------------------------------------------
    def expect_start(self) -> str:
        """Consume the opening ``[`` or ``{`` of the top-level value and return it."""
        char = self.peek()
        if char not in ("[", "{"):
            found = repr(char) if char else "end of file (the file is empty)"
            raise self.error(f"expected a JSON array or object, found {found}")
        self._pos += 1
        return char

    def iter_array(self) -> Iterator[Any]:
        """Yield the elements of the array whose ``[`` was just consumed, through its ``]``."""
        if self.peek() == "]":
            self._pos += 1
            return
        while True:
            yield self.value()
            char = self.peek()
            if char == ",":
                self._pos += 1
            elif char == "]":
                self._pos += 1
                return
            else:
                found = repr(char) if char else "end of file"
                raise self.error(f"expected ',' or ']' after an array element, found {found}")

    def iter_object_keys(self) -> Iterator[str]:
        """Yield each key of the object whose ``{`` was just consumed; after each key the
        cursor is on its value, which the caller must consume (:meth:`value`, :meth:`skip`...)."""
        if self.peek() == "}":
            self._pos += 1
            return
        while True:
            if self.peek() != '"':
                raise self.error("expected a property name in double quotes")
            key = self.value()
            self.take(":")
            yield key
            char = self.peek()
            if char == ",":
                self._pos += 1
            elif char == "}":
                self._pos += 1
                return
            else:
                found = repr(char) if char else "end of file"
                raise self.error(f"expected ',' or '}}' after an object member, found {found}")

    def skip(self) -> bool:
        """Consume the next value; an array is skipped element by element (bounded memory).
        Returns whether it was an array."""
        if self.peek() == "[":
            self._pos += 1
            for _ in self.iter_array():
                pass
            return True
        self.value()
        return False

    def expect_end(self) -> None:
        """Raise unless only whitespace is left."""
        char = self.peek()
        if char:
            raise self.error(f"extra data after the top-level value: {char!r}")
