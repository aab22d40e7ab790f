"""The two string hashes TensorFlow's hashing ops use, in pure Python.

* ``fingerprint64(data)``: FarmHash's ``Fingerprint64`` (``farmhashna::Hash64``, the
  stable fingerprint), behind ``tf.strings.to_hash_bucket_fast``: the bucket of a
  string is ``fingerprint64(utf8 bytes) % num_buckets``.
* ``siphash64(key, data)``: SipHash-2-4 with a 128-bit key given as two 64-bit words
  ``(k0, k1)`` (highwayhash's ``SipHash``), behind ``tf.strings.to_hash_bucket_strong``
  (Keras's salted ``Hashing`` and lookup layers): ``siphash64(salt, bytes) % num_buckets``.

All arithmetic is modulo 2**64 (``& _M``); words are read little-endian. Rotations in
FarmHash are to the right, in SipHash to the left.
"""

from __future__ import annotations

_M = (1 << 64) - 1
_K0 = 0xC3A5C85C97CB3127
_K1 = 0xB492B66FBE98F273
_K2 = 0x9AE16A3B2F90404F
_KMUL = 0x9DDFEA08EB382D69


def _fetch64(s: bytes, i: int) -> int:
    return int.from_bytes(s[i:i + 8], "little")


def _fetch32(s: bytes, i: int) -> int:
    return int.from_bytes(s[i:i + 4], "little")


def _rotr(v: int, shift: int) -> int:
    return v if shift == 0 else ((v >> shift) | (v << (64 - shift))) & _M


def _shift_mix(v: int) -> int:
    return v ^ (v >> 47)


def _hash_len16(u: int, v: int, mul: int = _KMUL) -> int:
    a = ((u ^ v) * mul) & _M
    a ^= a >> 47
    b = ((v ^ a) * mul) & _M
    b ^= b >> 47
    return (b * mul) & _M


def _len0to16(s: bytes, n: int) -> int:
    if n >= 8:
        mul = _K2 + n * 2
        a = (_fetch64(s, 0) + _K2) & _M
        b = _fetch64(s, n - 8)
        c = (_rotr(b, 37) * mul + a) & _M
        d = ((_rotr(a, 25) + b) * mul) & _M
        return _hash_len16(c, d, mul)
    if n >= 4:
        mul = _K2 + n * 2
        a = _fetch32(s, 0)
        return _hash_len16((n + (a << 3)) & _M, _fetch32(s, n - 4), mul)
    if n > 0:
        y = s[0] + (s[n >> 1] << 8)
        z = n + (s[n - 1] << 2)
        return (_shift_mix(((y * _K2) ^ (z * _K0)) & _M) * _K2) & _M
    return _K2


def _len17to32(s: bytes, n: int) -> int:
    mul = _K2 + n * 2
    a = (_fetch64(s, 0) * _K1) & _M
    b = _fetch64(s, 8)
    c = (_fetch64(s, n - 8) * mul) & _M
    d = (_fetch64(s, n - 16) * _K2) & _M
    return _hash_len16((_rotr((a + b) & _M, 43) + _rotr(c, 30) + d) & _M,
                       (a + _rotr((b + _K2) & _M, 18) + c) & _M, mul)


def _len33to64(s: bytes, n: int) -> int:
    mul = _K2 + n * 2
    a = (_fetch64(s, 0) * _K2) & _M
    b = _fetch64(s, 8)
    c = (_fetch64(s, n - 8) * mul) & _M
    d = (_fetch64(s, n - 16) * _K2) & _M
    y = (_rotr((a + b) & _M, 43) + _rotr(c, 30) + d) & _M
    z = _hash_len16(y, (a + _rotr((b + _K2) & _M, 18) + c) & _M, mul)
    e = (_fetch64(s, 16) * mul) & _M
    f = _fetch64(s, 24)
    g = ((y + _fetch64(s, n - 32)) * mul) & _M
    h = ((z + _fetch64(s, n - 24)) * mul) & _M
    return _hash_len16((_rotr((e + f) & _M, 43) + _rotr(g, 30) + h) & _M,
                       (e + _rotr((f + a) & _M, 18) + g) & _M, mul)


def _weak32(s: bytes, i: int, a: int, b: int) -> tuple[int, int]:
    """``WeakHashLen32WithSeeds(s + i, a, b)``."""
    w, x, y, z = (_fetch64(s, i + 8 * k) for k in range(4))
    a = (a + w) & _M
    b = _rotr((b + a + z) & _M, 21)
    c = a
    a = (a + x + y) & _M
    b = (b + _rotr(a, 44)) & _M
    return (a + z) & _M, (b + c) & _M


def _block(s: bytes, i: int, st: list[int], mul: int, last: bool) -> None:
    """One 64-byte round of the long-string loop (``last``: the final, ``mul`` round)."""
    x, y, z, v0, v1, w0, w1 = st
    m = _K1 if not last else mul
    x = (_rotr((x + y + v0 + _fetch64(s, i + 8)) & _M, 37) * m) & _M
    y = (_rotr((y + v1 + _fetch64(s, i + 48)) & _M, 42) * m) & _M
    x ^= (w1 * 9) & _M if last else w1
    y = (y + (v0 * 9 if last else v0) + _fetch64(s, i + 40)) & _M
    z = (_rotr((z + w0) & _M, 33) * m) & _M
    v0, v1 = _weak32(s, i, (v1 * m) & _M, (x + w0) & _M)
    w0, w1 = _weak32(s, i + 32, (z + w1) & _M, (y + _fetch64(s, i + 16)) & _M)
    st[:] = [z, y, x, v0, v1, w0, w1]                     # std::swap(z, x)


def fingerprint64(s: bytes) -> int:
    """FarmHash ``Fingerprint64`` of ``s`` as an unsigned 64-bit int (TensorFlow's)."""
    n = len(s)
    if n <= 16:
        return _len0to16(s, n)
    if n <= 32:
        return _len17to32(s, n)
    if n <= 64:
        return _len33to64(s, n)
    seed = 81
    y = (seed * _K1 + 113) & _M
    z = (_shift_mix((y * _K2 + 113) & _M) * _K2) & _M
    x = (seed * _K2 + _fetch64(s, 0)) & _M
    st = [x, y, z, 0, 0, 0, 0]
    end = ((n - 1) // 64) * 64
    for i in range(0, end, 64):
        _block(s, i, st, 0, False)
    x, y, z, v0, v1, w0, w1 = st
    mul = _K1 + ((z & 0xFF) << 1)
    w0 = (w0 + ((n - 1) & 63)) & _M
    v0 = (v0 + w0) & _M
    w0 = (w0 + v0) & _M
    st = [x, y, z, v0, v1, w0, w1]
    _block(s, n - 64, st, mul, True)
    x, y, z, v0, v1, w0, w1 = st
    return _hash_len16((_hash_len16(v0, w0, mul) + _shift_mix(y) * _K0 + z) & _M,
                       (_hash_len16(v1, w1, mul) + x) & _M, mul)


# -- SipHash-2-4 -------------------------------------------------------------------------


def _rotl(v: int, shift: int) -> int:
    return ((v << shift) | (v >> (64 - shift))) & _M


def _sip_round(v: list[int]) -> None:
    v0, v1, v2, v3 = v
    v0 = (v0 + v1) & _M
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = (v2 + v3) & _M
    v3 = _rotl(v3, 16) ^ v2
    v0 = (v0 + v3) & _M
    v3 = _rotl(v3, 21) ^ v0
    v2 = (v2 + v1) & _M
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    v[:] = [v0, v1, v2, v3]


def _sip_compress(v: list[int], m: int, rounds: int) -> None:
    v[3] ^= m
    for _ in range(rounds):
        _sip_round(v)
    v[0] ^= m


def siphash64(key: tuple[int, int], s: bytes) -> int:
    """SipHash-2-4 of ``s`` with the key words ``(k0, k1)`` (each taken mod 2**64)."""
    k0, k1 = key[0] & _M, key[1] & _M
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D,
         k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]
    n = len(s)
    full = n - n % 8
    for i in range(0, full, 8):
        _sip_compress(v, _fetch64(s, i), 2)
    last = int.from_bytes(s[full:], "little") | ((n & 0xFF) << 56)
    _sip_compress(v, last, 2)
    v[2] ^= 0xFF
    for _ in range(4):
        _sip_round(v)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def hash_bucket(values: list[bytes], num_buckets: int, salt: tuple[int, int] | None = None
                ) -> list[int]:
    """``tf.strings.to_hash_bucket_fast`` (no salt) or ``_strong`` (salt) on byte strings."""
    if salt is None:
        return [fingerprint64(v) % num_buckets for v in values]
    return [siphash64(salt, v) % num_buckets for v in values]


__all__ = ["fingerprint64", "siphash64", "hash_bucket"]
