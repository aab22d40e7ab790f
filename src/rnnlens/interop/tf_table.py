"""LevelDB-format tables (TensorFlow's ``variables.index``) and CRC-32C, in NumPy.

**CRC-32C** (Castagnoli, reflected polynomial ``0x82F63B78``), as TensorFlow computes
it::

    crc = 0xFFFFFFFF;  for each byte b: crc = T[(crc ^ b) & 0xFF] ^ (crc >> 8)
    crc32c = crc ^ 0xFFFFFFFF
    mask(c) = ((c >> 15) | (c << 17)) + 0xA282EAD8          (mod 2**32)

The register update is linear over GF(2): ``f(s, d) = Z_n(s) ^ f(0, d)`` for ``n =
len(d)``, with ``Z_n`` the effect of ``n`` zero bytes. Long inputs are cut into ``N``
chunks of ``L`` bytes whose ``f(0, chunk)`` are computed together, four bytes per NumPy
step (slicing-by-4 tables), then folded left to right with ``s = Z_L(s) ^ r_i``
(``Z_L`` as four 256-entry tables, itself found by running 32 basis states through the
same vectorised loop). About 50 ms for 16 MB.

**Table format** (LevelDB ``table/format.md``, TensorFlow ``core/lib/io/table``)::

    [data block 0] ... [data block k] [metaindex block] [index block] [footer]
    footer  = handle(metaindex) handle(index) zero padding to 40 bytes
              fixed64 magic 0xDB4775248B80FB57                       (48 bytes)
    handle  = varint64 offset, varint64 size
    block   = entries, uint32 restarts[num_restarts], uint32 num_restarts,
              then the trailer: 1 byte compression type, fixed32 masked crc32c of
              (block contents + type byte)
    entry   = varint32 shared, varint32 non_shared, varint32 value_length,
              key[shared:] (non_shared bytes), value (value_length bytes);
              key = previous_key[:shared] + key[shared:]

The index block maps a separator key to each data block's handle. Only compression
type 0 (none) is accepted: TensorFlow writes bundles uncompressed, and a snappy block
(type 1) is refused. Every handle, count and length is checked against the bytes; data
blocks must follow one another without overlap and keys must increase strictly, so
parsing is linear in the file size.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from rnnlens.interop.protobuf_wire import WireError, read_varint

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_BYTES = 48
TRAILER_BYTES = 5


# -- CRC-32C ------------------------------------------------------------------------


def _tables() -> np.ndarray:
    """``T[k][b]``: the register after byte ``b`` then ``k`` zero bytes (k = 0..3)."""
    crc = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        crc = np.where(crc & 1, (crc >> 1) ^ np.uint32(0x82F63B78), crc >> 1)
    tables = [crc.astype(np.uint32)]
    for _ in range(3):
        prev = tables[-1]
        tables.append((prev >> 8) ^ tables[0][prev & 0xFF])
    return np.stack(tables)                                        # (4, 256)


_T = _tables()
_T0 = [int(v) for v in _T[0]]
_SMALL = 1 << 11


def _bytewise(state: int, data: bytes) -> int:
    table = _T0
    for byte in data:
        state = table[(state ^ byte) & 0xFF] ^ (state >> 8)
    return state


def _words(state: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Advances every register in ``state`` (N,) over its column of ``words`` (W, N)."""
    t0, t1, t2, t3 = _T[0], _T[1], _T[2], _T[3]
    for row in words:
        x = state ^ row
        state = t3[x & 0xFF] ^ t2[(x >> 8) & 0xFF] ^ t1[(x >> 16) & 0xFF] ^ t0[x >> 24]
    return state


def _byte_tables(columns: np.ndarray) -> list[list[int]]:
    """The linear map with ``columns[bit]`` = image of ``1 << bit``, as 4 byte tables."""
    out = []
    for k in range(4):
        table = np.zeros(256, dtype=np.uint32)
        for bit in range(8):
            table[(np.arange(256) >> bit) & 1 == 1] ^= columns[8 * k + bit]
        out.append([int(v) for v in table])
    return out


def crc32c(data: bytes | bytearray | memoryview, state: int = 0) -> int:
    """The CRC-32C of ``data`` (continuing from the finished crc ``state``)."""
    view = memoryview(data).cast("B")
    n = len(view)
    reg = state ^ 0xFFFFFFFF
    if n < _SMALL:
        return _bytewise(reg, view) ^ 0xFFFFFFFF
    length = max(256, int(np.sqrt(n)) // 4 * 4)                    # L, bytes per chunk
    chunks = n // length                                            # N
    words = np.frombuffer(view[:chunks * length], dtype="<u4").reshape(chunks, -1)
    words = np.concatenate([words.T, np.zeros((length // 4, 32), np.uint32)], axis=1)
    start = np.concatenate([np.zeros(chunks, np.uint32),
                            (np.uint32(1) << np.arange(32, dtype=np.uint32))])
    regs = _words(start, np.ascontiguousarray(words, dtype=np.uint32))
    z0, z1, z2, z3 = _byte_tables(regs[chunks:])                    # Z_L
    for r in regs[:chunks].tolist():
        reg = z0[reg & 0xFF] ^ z1[(reg >> 8) & 0xFF] ^ z2[(reg >> 16) & 0xFF] \
            ^ z3[reg >> 24] ^ r
    return _bytewise(reg, view[chunks * length:]) ^ 0xFFFFFFFF


def mask_crc(crc: int) -> int:
    """TensorFlow's / LevelDB's masked crc (stored crcs are masked)."""
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def masked_crc32c(data: bytes | bytearray | memoryview) -> int:
    return mask_crc(crc32c(data))


# -- the table ------------------------------------------------------------------------


def _handle(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    offset, pos = read_varint(buf, pos, end)
    size, pos = read_varint(buf, pos, end)
    return offset, size, pos


def _block(buf: bytes, offset: int, size: int, limit: int, what: str, verify: bool,
           refuse: Callable[[str], Exception]) -> tuple[int, int]:
    """The ``[start, end)`` of a block's contents, after checking its trailer."""
    if offset < 0 or size < 4 or offset + size + TRAILER_BYTES > limit:
        raise refuse(f"the {what} block handle (offset {offset}, size {size}) does not fit "
                     f"in the {limit} bytes before it.")
    kind = buf[offset + size]
    if kind == 1:
        raise refuse(f"the {what} block is snappy-compressed; TensorFlow bundles are "
                     "written uncompressed and rnnlens reads only uncompressed tables.")
    if kind != 0:
        raise refuse(f"the {what} block has unknown compression type {kind}.")
    if verify:
        stored = int.from_bytes(buf[offset + size + 1:offset + size + 5], "little")
        if masked_crc32c(memoryview(buf)[offset:offset + size + 1]) != stored:
            raise refuse(f"the {what} block at offset {offset} fails its crc32c check.")
    return offset, offset + size


def _entries(buf: bytes, start: int, end: int, what: str,
             refuse: Callable[[str], Exception]) -> list[tuple[bytes, tuple[int, int]]]:
    """``(key, (value_start, value_end))`` for every entry of one block."""
    num_restarts = int.from_bytes(buf[end - 4:end], "little")
    limit = end - 4 - 4 * num_restarts
    if num_restarts < 1 or limit < start:
        raise refuse(f"a {what} block declares {num_restarts} restart points, which do "
                     "not fit in it.")
    out, key, pos = [], b"", start
    while pos < limit:
        shared, pos = read_varint(buf, pos, limit)
        fresh, pos = read_varint(buf, pos, limit)
        size, pos = read_varint(buf, pos, limit)
        if shared > len(key) or fresh > limit - pos or size > limit - pos - fresh:
            raise refuse(f"a {what} block entry at byte {pos} has lengths (shared {shared},"
                         f" key {fresh}, value {size}) that do not fit.")
        key = key[:shared] + buf[pos:pos + fresh]
        out.append((key, (pos + fresh, pos + fresh + size)))
        pos += fresh + size
    return out


def read_table(buf: bytes, refuse: Callable[[str], Exception],
               verify: bool = True) -> list[tuple[bytes, bytes]]:
    """Every ``(key, value)`` of a LevelDB-format table, in key order.

    Args:
        buf: the whole table file.
        refuse: builds the exception to raise, from a reason.
        verify: check each block's crc32c.
    """
    try:
        return _read_table(buf, refuse, verify)
    except WireError as err:
        raise refuse(f"the table is malformed ({err})") from None


def _read_table(buf: bytes, refuse: Callable[[str], Exception],
                verify: bool) -> list[tuple[bytes, bytes]]:
    n = len(buf)
    if n < FOOTER_BYTES:
        raise refuse(f"the index file is {n} bytes, shorter than a table footer.")
    footer = n - FOOTER_BYTES
    if int.from_bytes(buf[n - 8:], "little") != TABLE_MAGIC:
        raise refuse("the index file does not end with the table magic number.")
    _, _, pos = _handle(buf, footer, n - 8)                        # metaindex: unused
    offset, size, _ = _handle(buf, pos, n - 8)
    start, end = _block(buf, offset, size, footer, "index", verify, refuse)
    out: list[tuple[bytes, bytes]] = []
    next_free = 0
    for _, (vstart, vend) in _entries(buf, start, end, "index", refuse):
        offset, size, used = _handle(buf, vstart, vend)
        if used != vend:
            raise refuse("an index block entry is not exactly one block handle.")
        if offset < next_free:
            raise refuse(f"data block at offset {offset} overlaps the one before it.")
        dstart, dend = _block(buf, offset, size, start, "data", verify, refuse)
        next_free = dend + TRAILER_BYTES
        for key, (a, b) in _entries(buf, dstart, dend, "data", refuse):
            if out and key <= out[-1][0]:
                raise refuse(f"table keys are not in strictly increasing order at {key!r}.")
            out.append((key, buf[a:b]))
    return out


__all__ = ["crc32c", "mask_crc", "masked_crc32c", "read_table", "TABLE_MAGIC"]
