"""A minimal, bounded protobuf wire-format decoder (no ``protobuf`` package needed).

A serialized message is a sequence of fields, each a *tag* then a value::

    tag   = varint(field_number << 3 | wire_type)
    value = varint                       wire_type 0  (int32/64, uint, enum, bool)
          | 8 little-endian bytes        wire_type 1  (fixed64, double)
          | varint(n) then n bytes       wire_type 2  (string, bytes, messages, packed)
          | 4 little-endian bytes        wire_type 5  (fixed32, float)

A varint holds 7 bits per byte, least significant group first, the high bit set on
every byte but the last (at most 10 bytes, < 2**64). ``int32`` / ``int64`` / ``enum``
negatives are the two's complement of the 64-bit value; ``int32`` keeps its low 32 bits.

:func:`decode_message` reads one message against a *schema*, ``{field_number:
Field(name, kind, repeated, message)}``, and returns a dict with every schema field
(proto3 defaults where absent: ``0``, ``""``, ``b""``, ``False``, ``[]``, ``None`` for an
absent message). Unknown fields are skipped; groups (wire types 3 and 4) are refused;
for a singular scalar field the last occurrence wins, and repeats of a singular message
field are merged (decoded as their concatenation), as protobuf does. Packed repeated
scalars are accepted.

Safety: every length is checked against the bytes that remain before anything is
sliced, nesting is bounded (``max_depth``) and so is the number of decoded messages
(``max_messages``), so time and memory stay linear in the input and capped. Any
malformed input raises :class:`WireError` (a ``ValueError``) saying where and why.
"""

from __future__ import annotations

from typing import Any, Iterator, NamedTuple

#: Wire types.
VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5

_U32, _U64 = (1 << 32) - 1, (1 << 64) - 1
_MAX_FIELD = (1 << 29) - 1


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message of the expected schema."""


class Field(NamedTuple):
    """One schema entry.

    Attributes:
        name: the key in the decoded dict.
        kind: ``"int32"``, ``"int64"``, ``"uint32"``, ``"uint64"``, ``"enum"``,
            ``"bool"``, ``"fixed32"``, ``"fixed64"``, ``"string"``, ``"bytes"`` or
            ``"message"``.
        repeated: a list of values (packed or not) instead of one.
        message: the schema of a ``"message"`` field.
    """

    name: str
    kind: str
    repeated: bool = False
    message: dict | None = None


_WIRE = {"int32": VARINT, "int64": VARINT, "uint32": VARINT, "uint64": VARINT,
         "enum": VARINT, "bool": VARINT, "fixed32": FIXED32, "fixed64": FIXED64,
         "string": LEN, "bytes": LEN, "message": LEN}
_DEFAULT = {"string": "", "bytes": b"", "bool": False, "message": None}


class Budget:
    """Counts decoded messages and refuses past ``limit`` (bounds memory)."""

    def __init__(self, limit: int):
        self.limit, self.used = limit, 0

    def take(self, n: int = 1) -> None:
        self.used += n
        if self.used > self.limit:
            raise WireError(f"more than {self.limit} protobuf messages.")


def read_varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """The varint at ``buf[pos:]`` (not past ``end``) and the position after it."""
    result = shift = 0
    while True:
        if pos >= end:
            raise WireError(f"truncated varint at byte {pos}.")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            if result > _U64:
                raise WireError(f"varint ending at byte {pos} overflows 64 bits.")
            return result, pos
        shift += 7
        if shift >= 70:
            raise WireError(f"varint longer than 10 bytes at byte {pos}.")


def iter_fields(buf: bytes, start: int = 0,
                end: int | None = None) -> Iterator[tuple[int, int, Any]]:
    """``(field_number, wire_type, value)`` for each field of ``buf[start:end]``.

    ``value`` is an int for wire types 0, 1 and 5, and the ``(start, end)`` byte range
    of the payload for wire type 2 (checked to lie inside ``buf[start:end]``).
    """
    end = len(buf) if end is None else end
    if not 0 <= start <= end <= len(buf):
        raise WireError(f"byte range [{start}, {end}) is outside the {len(buf)} bytes.")
    pos = start
    while pos < end:
        tag, pos = read_varint(buf, pos, end)
        number, wire = tag >> 3, tag & 7
        if not 1 <= number <= _MAX_FIELD:
            raise WireError(f"invalid field number {number} at byte {pos}.")
        if wire == VARINT:
            value, pos = read_varint(buf, pos, end)
        elif wire in (FIXED64, FIXED32):
            width = 8 if wire == FIXED64 else 4
            if end - pos < width:
                raise WireError(f"truncated fixed{width * 8} field {number} at byte {pos}.")
            value, pos = int.from_bytes(buf[pos:pos + width], "little"), pos + width
        elif wire == LEN:
            size, pos = read_varint(buf, pos, end)
            if size > end - pos:
                raise WireError(f"field {number} at byte {pos} claims {size} bytes, but only "
                                f"{end - pos} remain.")
            value, pos = (pos, pos + size), pos + size
        else:
            raise WireError(f"unsupported wire type {wire} (field {number}) at byte {pos}.")
        yield number, wire, value


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _scalar(kind: str, value: int) -> Any:
    if kind in ("int32", "enum"):
        return _signed(value, 32)
    if kind == "int64":
        return _signed(value, 64)
    if kind == "uint32":
        return value & _U32
    if kind == "bool":
        return value != 0
    return value                                     # uint64, fixed32, fixed64


def _packed(buf: bytes, span: tuple[int, int], kind: str) -> list[Any]:
    """The values of a packed repeated scalar field."""
    pos, end = span
    out = []
    wire = _WIRE[kind]
    while pos < end:
        if wire == VARINT:
            value, pos = read_varint(buf, pos, end)
        else:
            width = 8 if wire == FIXED64 else 4
            if end - pos < width:
                raise WireError(f"truncated packed fixed{width * 8} values at byte {pos}.")
            value, pos = int.from_bytes(buf[pos:pos + width], "little"), pos + width
        out.append(_scalar(kind, value))
    return out


def _payload(buf: bytes, span: tuple[int, int], spec: Field, depth: int,
             budget: Budget, max_depth: int) -> Any:
    start, end = span
    if spec.kind == "message":
        return _decode(buf, spec.message or {}, start, end, depth + 1, budget, max_depth)
    if spec.kind == "bytes":
        return bytes(buf[start:end])
    try:
        return bytes(buf[start:end]).decode("utf-8")
    except UnicodeDecodeError:
        raise WireError(f"field {spec.name!r} at byte {start} is not valid UTF-8.") from None


def _decode(buf: bytes, schema: dict, start: int, end: int, depth: int, budget: Budget,
            max_depth: int) -> dict:
    if depth > max_depth:
        raise WireError(f"messages nested more than {max_depth} deep.")
    budget.take()
    out: dict[str, Any] = {}
    merged: dict[str, list[tuple[int, int]]] = {}     # singular messages, merged at the end
    for number, wire, value in iter_fields(buf, start, end):
        spec = schema.get(number)
        if spec is None:
            continue                                          # unknown field: skipped
        if spec.repeated and wire == LEN and _WIRE[spec.kind] != LEN:
            values = _packed(buf, value, spec.kind)
            budget.take(len(values) // 16)
            out.setdefault(spec.name, []).extend(values)
            continue
        if wire != _WIRE[spec.kind]:
            raise WireError(f"field {spec.name!r} has wire type {wire}, expected "
                            f"{_WIRE[spec.kind]}.")
        if spec.kind == "message" and not spec.repeated:
            merged.setdefault(spec.name, []).append(value)
            continue
        item = _payload(buf, value, spec, depth, budget, max_depth) if wire == LEN \
            else _scalar(spec.kind, value)
        if spec.repeated:
            out.setdefault(spec.name, []).append(item)
        else:
            out[spec.name] = item
    for spec in schema.values():
        spans = merged.get(spec.name)
        if spans:                      # protobuf merges repeats: decode their concatenation
            part = buf if len(spans) == 1 else b"".join(buf[a:b] for a, b in spans)
            span = spans[0] if len(spans) == 1 else (0, len(part))
            out[spec.name] = _payload(part, span, spec, depth, budget, max_depth)
        elif spec.name not in out:
            out[spec.name] = [] if spec.repeated else _DEFAULT.get(spec.kind, 0)
    return out


def decode_message(buf: bytes, schema: dict, *, max_messages: int = 1_000_000,
                   max_depth: int = 32) -> dict:
    """Decodes one serialized message against ``schema`` (see the module docstring).

    Args:
        buf: the serialized message (``bytes``).
        schema: ``{field_number: Field}``.
        max_messages: most messages (this one and every nested one) to decode.
        max_depth: deepest nesting of messages.

    Raises:
        WireError: malformed bytes, a wire type that does not fit the schema, invalid
            UTF-8 in a string, or a bound exceeded.
    """
    buf = bytes(buf)
    return _decode(buf, schema, 0, len(buf), 0, Budget(max_messages), max_depth)


__all__ = ["Field", "WireError", "Budget", "read_varint", "iter_fields", "decode_message",
           "VARINT", "FIXED64", "LEN", "FIXED32"]
