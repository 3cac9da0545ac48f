"""HPACK (RFC 7541) for the native gRPC front: decoding a client's header blocks, encoding ours.

The ``hpack`` library's ``Decoder`` spends 33 µs on a block of nine indexed fields (more than
the whole domain call), so the decoding loop is written here over the library's static table,
integer and Huffman codecs. The dynamic table is kept exactly (a client's encoder indexes new
fields as it likes; grpc-go indexes every new ``grpc-timeout``), and Huffman strings, which repeat
(method paths, tokens), are decoded once each. Our own blocks never touch the client's table:
every field is a literal without indexing, so there is no encoder state to keep in step.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from hpack.exceptions import HPACKError
from hpack.hpack import encode_integer
from hpack.huffman_table import decode_huffman
from hpack.table import HeaderTable

from mock_server import bounded

STATIC_TABLE = HeaderTable.STATIC_TABLE
_STATIC_COUNT = len(STATIC_TABLE)
DEFAULT_TABLE_SIZE = 4096
_ENTRY_OVERHEAD = 32  # RFC 7541 4.1


class CompressionError(Exception):
    """The block cannot be decoded: HTTP/2 treats it as a connection error (COMPRESSION_ERROR)."""


class BlockTooLarge(Exception):
    """A block's fragments pass their limits before it ends (a connection error too)."""


_huffman_strings: bounded.BoundedMemory[bytes] = bounded.BoundedMemory(4096)
# Longer strings (a client's big token) are decoded each time they come as literals.
_REMEMBERED_HUFFMAN = 1024
# RFC 7541 5.1 leaves integers unbounded; five continuation bytes already pass 2**28.
_MAX_INTEGER_BYTES = 5


def _integer(block: bytes, position: int, prefix_bits: int) -> tuple[int, int]:
    """The integer at ``position`` with an N-bit prefix, and the position after it."""
    mask = (1 << prefix_bits) - 1
    number = block[position] & mask
    position += 1
    if number < mask:
        return number, position
    shift = 0
    for _ in range(_MAX_INTEGER_BYTES):
        byte = block[position]
        position += 1
        number += (byte & 0x7F) << shift
        if not byte & 0x80:
            return number, position
        shift += 7
    raise CompressionError("integer too long")


def _huffman(raw: bytes) -> bytes:
    decoded = _huffman_strings.get(raw)
    if decoded is None:
        decoded = decode_huffman(raw)
        if len(raw) <= _REMEMBERED_HUFFMAN:
            _huffman_strings.put(raw, decoded)
    return decoded


class Decoder:
    """One connection's decoding context: the dynamic table and its size limit."""

    def __init__(self, max_table_size: int = DEFAULT_TABLE_SIZE) -> None:
        self._limit = max_table_size
        self._size = 0
        self._table: deque[tuple[bytes, bytes]] = deque()
        # Counts the table's changes: a block decoded without one means the same fields
        # whenever it comes again before the next change.
        self.changes = 0

    def decode(
        self, block: bytes, limit: int | None = None
    ) -> tuple[list[tuple[bytes, bytes]], int]:
        """The block's fields and their size (RFC 9113 6.5.2: name, value and 32 each).

        Past ``limit`` the fields are no longer kept, only counted, and the block is still
        read to its end, since what it adds to the table must be added: a block of a few
        bytes can name a 4 KB entry hundreds of times.
        """
        fields: list[tuple[bytes, bytes]] = []
        size, position, end = 0, 0, len(block)
        append = fields.append
        try:
            while position < end:
                first = block[position]
                if first & 0x80:  # indexed field
                    index, position = _integer(block, position, 7)
                    field = self._entry(index)
                elif first & 0x40:  # literal, added to the table
                    field, position = self._literal(block, position, 6)
                    self._add(field)
                elif first & 0x20:  # dynamic table size update, only before the first field
                    if size:
                        raise CompressionError("a table size update after a field")
                    new_size, position = _integer(block, position, 5)
                    if new_size > DEFAULT_TABLE_SIZE:
                        raise CompressionError(f"table size {new_size} over the advertised limit")
                    self._limit = new_size
                    self._evict()
                    self.changes += 1
                    continue
                else:  # literal without indexing (0000) or never indexed (0001)
                    field, position = self._literal(block, position, 4)
                size += len(field[0]) + len(field[1]) + _ENTRY_OVERHEAD
                if limit is None or size <= limit:
                    append(field)
        except (IndexError, ValueError, HPACKError) as exc:
            raise CompressionError(f"malformed header block: {exc}") from None
        return fields, size

    def _entry(self, index: int) -> tuple[bytes, bytes]:
        if index == 0:
            raise CompressionError("index 0")
        if index <= _STATIC_COUNT:
            return STATIC_TABLE[index - 1]
        dynamic = index - _STATIC_COUNT - 1
        if dynamic >= len(self._table):
            raise CompressionError(f"index {index} beyond the table")
        return self._table[dynamic]

    def _literal(self, block: bytes, position: int, prefix: int) -> tuple[tuple[bytes, bytes], int]:
        index, position = _integer(block, position, prefix)
        if index:
            name = self._entry(index)[0]
        else:
            name, position = _string(block, position)
        value, position = _string(block, position)
        return (name, value), position

    def _add(self, field: tuple[bytes, bytes]) -> None:
        self.changes += 1
        self._table.appendleft(field)
        self._size += len(field[0]) + len(field[1]) + _ENTRY_OVERHEAD
        self._evict()

    def _evict(self) -> None:
        while self._size > self._limit and self._table:
            name, value = self._table.pop()
            self._size -= len(name) + len(value) + _ENTRY_OVERHEAD


# A decoded block: its headers (a repeated name's values joined), what the layer above derived
# from them (filled by it, shared by every stream with the same block) and its size.
Decoded = tuple[dict[bytes, Any], dict[str, Any], int]
# Blocks remembered per connection, of at most this many bytes each.
_REMEMBERED_BLOCKS, _REMEMBERED_BLOCK = 64, 1024


class BlockReader:
    """One connection's incoming header blocks: a block's fragments (HEADERS, then its
    CONTINUATIONs) gathered within limits, decoded, and the fields made the request's headers.

    A block that changed nothing in the dynamic table means the same headers whenever it
    comes again before the table's next change, and clients send the same block call after
    call (every field indexed): such a block is remembered with what it decoded to.
    """

    def __init__(self, max_bytes: int, max_fragments: int) -> None:
        self._decoder = Decoder()
        self._max_bytes = max_bytes
        self._max_fragments = max_fragments
        self._remembered: dict[bytes, tuple[int, Decoded]] = {}
        self._fragments: list[bytes] = []
        self._bytes = 0

    @property
    def pending(self) -> bool:
        """Whether a block has begun and awaits its CONTINUATION."""
        return bool(self._fragments)

    def begin(self, fragment: bytes, ends: bool) -> Decoded | None:
        """A HEADERS frame's fragment: the decoded block when ``ends`` (END_HEADERS)."""
        if ends:
            return self._decode(fragment)
        self._fragments, self._bytes = [fragment], len(fragment)
        return None

    def add(self, fragment: bytes, ends: bool) -> Decoded | None:
        """A CONTINUATION's fragment: the decoded block when ``ends``."""
        fragments = self._fragments
        fragments.append(fragment)
        self._bytes += len(fragment)
        # Empty fragments cost nothing in bytes, so their number is bounded too (the
        # CONTINUATION flood of CVE-2023-45288).
        if self._bytes > self._max_bytes or len(fragments) > self._max_fragments:
            raise BlockTooLarge("a header block over its limits")
        if not ends:
            return None
        self._fragments = []
        return self._decode(b"".join(fragments))

    def _decode(self, block: bytes) -> Decoded:
        decoder = self._decoder
        changes = decoder.changes
        remembered = self._remembered.get(block)
        if remembered is not None and remembered[0] == changes:
            return remembered[1]
        fields, size = decoder.decode(block, self._max_bytes)
        headers: dict[bytes, Any] = {}
        repeated: dict[bytes, list[bytes]] = {}
        for name, value in fields:
            if name not in headers:
                headers[name] = value
            elif name[:1] != b":":  # repeated metadata: as one comma-joined value
                repeated.setdefault(name, [headers[name]]).append(value)
        for name, values in repeated.items():
            headers[name] = b",".join(values)
        decoded: Decoded = (headers, {}, size)
        if decoder.changes == changes and len(block) <= _REMEMBERED_BLOCK:
            if len(self._remembered) >= _REMEMBERED_BLOCKS:
                self._remembered.clear()
            self._remembered[block] = (changes, decoded)
        return decoded


def _string(block: bytes, position: int) -> tuple[bytes, int]:
    huffman = block[position] & 0x80
    length, start = _integer(block, position, 7)
    stop = start + length
    if stop > len(block):
        raise CompressionError("string runs past the block")
    raw = block[start:stop]
    return (_huffman(raw) if huffman else raw), stop


def encode(fields: list[tuple[bytes, bytes]]) -> bytes:
    """Literal fields without indexing (RFC 7541 6.2.2), names and values as they are."""
    out = bytearray()
    for name, value in fields:
        out.append(0)
        out += encode_integer(len(name), 7)
        out += name
        out += encode_integer(len(value), 7)
        out += value
    return bytes(out)


# Sent at the start of our first block, and after a client's SETTINGS_HEADER_TABLE_SIZE: our
# table is empty and stays so, which any limit allows (RFC 7541 4.2).
TABLE_SIZE_ZERO = b"\x20"
