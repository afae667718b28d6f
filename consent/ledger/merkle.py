"""An RFC 6962 / RFC 9162 Merkle tree held in memory, with proofs.

Leaves hash as ``SHA-256(0x00 || data)`` and interior nodes as ``SHA-256(0x01 || left ||
right)``.  The tree keeps, for every level ``k``, the hash of each complete, aligned
subtree of ``2**k`` leaves, packed into one ``bytearray`` per level (32 bytes a hash), so
a million leaves cost about 64 MB and no Python object per node.  Every range the RFC's
recursion meets starts at a multiple of its left half's size, so any such range's hash
is a handful of stored hashes combined: proofs cost O(log² n) hash operations.

The ``verify_*`` functions follow RFC 9162 section 2.1.3.2 and 2.1.4.2; they need no tree
and are what clients and the offline verifier use.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

HASH_SIZE = 32


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    def __init__(self) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self.size = 0

    @classmethod
    def from_leaf_hashes(cls, hashes: Iterable[bytes]) -> MerkleTree:
        tree = cls()
        level0 = bytearray()
        for h in hashes:
            level0 += h
        tree._levels = [level0]
        tree.size = len(level0) // HASH_SIZE
        below = level0
        while len(below) >= 2 * HASH_SIZE:
            above = bytearray()
            sha = hashlib.sha256
            for offset in range(0, len(below) - HASH_SIZE, 2 * HASH_SIZE):
                above += sha(b"\x01" + below[offset : offset + 2 * HASH_SIZE]).digest()
            tree._levels.append(above)
            below = above
        return tree

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash (already ``leaf_hash``ed)."""
        index = self.size
        self._levels[0] += leaf
        self.size += 1
        level = 0
        current = leaf
        while index & 1:
            left = self._node(level, index - 1)
            current = node_hash(left, current)
            level += 1
            index >>= 1
            if len(self._levels) <= level:
                self._levels.append(bytearray())
            self._levels[level] += current

    def leaf(self, index: int) -> bytes:
        return self._node(0, index)

    def _node(self, level: int, index: int) -> bytes:
        offset = index * HASH_SIZE
        return bytes(self._levels[level][offset : offset + HASH_SIZE])

    def range_hash(self, start: int, end: int) -> bytes:
        """MTH of leaves [start, end); start is a multiple of the range's left half."""
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0 and start % n == 0:
            level = n.bit_length() - 1
            return self._node(level, start >> level)
        k = split_point(n)
        return node_hash(self.range_hash(start, start + k), self.range_hash(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        self._check_size(size)
        return self.range_hash(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        self._check_size(size)
        if not 0 <= index < size:
            raise ValueError(f"leaf index {index} is not in a tree of size {size}")
        proof: list[bytes] = []
        start, end = 0, size
        while end - start > 1:
            k = split_point(end - start)
            if index < start + k:
                proof.append(self.range_hash(start + k, end))
                end = start + k
            else:
                proof.append(self.range_hash(start, start + k))
                start += k
        proof.reverse()
        return proof

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        second = self.size if second is None else second
        self._check_size(second)
        if not 0 < first <= second:
            raise ValueError(f"no consistency proof from size {first} to size {second}")
        proof: list[bytes] = []
        start, end, m, complete = 0, second, first, True
        while True:
            n = end - start
            if m == n:
                if not complete:
                    proof.append(self.range_hash(start, end))
                break
            k = split_point(n)
            if m <= k:
                proof.append(self.range_hash(start + k, end))
                end = start + k
            else:
                proof.append(self.range_hash(start, start + k))
                start += k
                m -= k
                complete = False
        proof.reverse()
        return proof

    def outside_hashes(self, start: int, end: int, size: int) -> dict[str, bytes]:
        """Hashes of the largest subtrees of a tree of ``size`` leaves outside [start, end).

        With these and the leaves inside the range, ``root_from_range`` recomputes the root,
        so an export of part of the log can still be checked against a checkpoint.
        """
        self._check_size(size)
        found: dict[str, bytes] = {}

        def walk(a: int, b: int) -> None:
            if b <= start or a >= end:
                found[f"{a}-{b}"] = self.range_hash(a, b)
                return
            if start <= a and b <= end:
                return
            k = split_point(b - a)
            walk(a, a + k)
            walk(a + k, b)

        if size:
            walk(0, size)
        return found

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size {size} is past the log's size {self.size}")


def root_from_range(
    leaves: Sequence[bytes], start: int, size: int, outside: dict[str, bytes]
) -> bytes | None:
    """The root of a tree of ``size`` leaves from leaves [start, start+len) and outside hashes.

    None when an outside hash that is needed is missing.
    """
    end = start + len(leaves)

    def walk(a: int, b: int) -> bytes | None:
        if b <= start or a >= end:
            return outside.get(f"{a}-{b}")
        if b - a == 1:
            return leaves[a - start]
        k = split_point(b - a)
        left, right = walk(a, a + k), walk(a + k, b)
        if left is None or right is None:
            return None
        return node_hash(left, right)

    return walk(0, size) if size else EMPTY_ROOT


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2."""
    if first > second or first == 0:
        return False
    if first == second:
        return not proof and first_root == second_root
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
