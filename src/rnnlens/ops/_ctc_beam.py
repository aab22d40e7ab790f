"""TensorFlow's CTC beam search decoder (``CTCBeamSearchDecoder``, default scorer), step
for step, with its ``gtl::TopN`` beam emulated over libstdc++'s heap and sort algorithms
(checked against g++'s). Prefixes with exactly equal probabilities (equal logits, or the
duplicated classes Keras's slicing makes for a negative ``mask_index``) can still be
kept or ordered differently from TensorFlow's build, whose tie order rnnlens could not
reproduce; without exact ties the beams, labels and scores are TensorFlow's.

Each frame ``x`` (blank last) becomes ``l = x - logsumexp(x)``. A prefix ``e`` keeps
``P_b`` (ending in a blank), ``P_nb`` (ending in its label) and ``P = lse(P_b, P_nb)``.
Per frame, for every prefix of the beam (best first):

.. math::

    P_{nb}(e) \\leftarrow \\operatorname{lse}(P_{nb}(e), Q) + l[y_e],\\quad
    Q = \\begin{cases} P_b(\\text{parent}) & y_e = y_{\\text{parent}} \\\\
                       P(\\text{parent}) & \\text{else} \\end{cases},\\qquad
    P_b(e) \\leftarrow P(e) + l[\\text{blank}]

(``Q`` only while the parent is still in the beam), then every prefix that may still
enter the beam grows by each label ``c``: ``P_nb(e c) = l[c] + (P_b(e) if c = y_e else
P(e))``; a child enters if its probability beats the beam's bottom (which is dropped).
All log-sum-exps are float32 ``max + log1p(exp(min - max))``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

_NEG = np.float32(-np.inf)


class Entry:
    """A prefix in the beam trie: blank / label / total log-probabilities now (``new``)
    and at the previous frame (``old``)."""

    __slots__ = ("parent", "label", "children", "old", "new")

    def __init__(self, parent: "Entry | None", label: int):
        self.parent, self.label, self.children = parent, label, {}
        self.old = [_NEG, _NEG, _NEG]                       # blank, label, total
        self.new = [_NEG, _NEG, _NEG]

    def active(self) -> bool:
        return self.new[2] != _NEG

    def labels(self) -> list[int]:
        out, e = [], self
        while e.parent is not None:
            out.append(e.label)
            e = e.parent
        return out[::-1]


def logaddexp(a: np.float32, b: np.float32) -> np.float32:
    """TensorFlow's ctc ``LogSumExp`` of two float32 log-probabilities."""
    if a == _NEG:
        return b
    if b == _NEG:
        return a
    hi, lo = (a, b) if a > b else (b, a)
    return np.float32(hi + np.log1p(np.exp(np.float32(lo - hi))))


def _greater(a: Entry, b: Entry) -> bool:
    """TensorFlow's ``BeamComparer``: higher total probability first."""
    return bool(a.new[2] > b.new[2])


# -- the C++ standard library's heap and sort (libstdc++), on a Python list ---------------
def _push_heap(v: list, hole: int, top: int, value: Any, comp: Callable) -> None:
    parent = (hole - 1) // 2
    while hole > top and comp(v[parent], value):
        v[hole] = v[parent]
        hole = parent
        parent = (hole - 1) // 2
    v[hole] = value


def _adjust_heap(v: list, hole: int, length: int, value: Any, comp: Callable) -> None:
    """libstdc++'s ``__adjust_heap`` on ``v[:length]``."""
    top, child = hole, hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if comp(v[child], v[child - 1]):
            child -= 1
        v[hole] = v[child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        v[hole] = v[child - 1]
        hole = child - 1
    _push_heap(v, hole, top, value, comp)


def make_heap(v: list, comp: Callable) -> None:
    n = len(v)
    if n < 2:
        return
    for parent in range((n - 2) // 2, -1, -1):
        _adjust_heap(v, parent, n, v[parent], comp)


def push_heap(v: list, comp: Callable) -> None:
    _push_heap(v, len(v) - 1, 0, v[-1], comp)


def pop_heap(v: list, end: int, comp: Callable) -> None:
    """``std::pop_heap(v[:end])``: the top moves to ``end - 1``."""
    if end > 1:
        value = v[end - 1]
        v[end - 1] = v[0]
        _adjust_heap(v, 0, end - 1, value, comp)


def sort_heap(v: list, comp: Callable) -> None:
    for end in range(len(v), 1, -1):
        pop_heap(v, end, comp)


def _insertion(v: list, lo: int, hi: int, comp: Callable, guarded: bool = True) -> None:
    for i in range(lo + 1 if guarded else lo, hi):
        val = v[i]
        if guarded and comp(val, v[lo]):
            v[lo + 1:i + 1] = v[lo:i]
            v[lo] = val
            continue
        j = i
        while comp(val, v[j - 1]):
            v[j] = v[j - 1]
            j -= 1
        v[j] = val


def _median_to_first(v: list, result: int, a: int, b: int, c: int, comp: Callable) -> None:
    def swap(i: int) -> None:
        v[result], v[i] = v[i], v[result]
    if comp(v[a], v[b]):
        swap(b if comp(v[b], v[c]) else c if comp(v[a], v[c]) else a)
    else:
        swap(a if comp(v[a], v[c]) else c if comp(v[b], v[c]) else b)


def _partition(v: list, first: int, last: int, pivot: int, comp: Callable) -> int:
    while True:
        while comp(v[first], v[pivot]):
            first += 1
        last -= 1
        while comp(v[pivot], v[last]):
            last -= 1
        if not first < last:
            return first
        v[first], v[last] = v[last], v[first]
        first += 1


def _introsort(v: list, first: int, last: int, depth: int, comp: Callable) -> None:
    while last - first > 16:
        if depth == 0:                                       # heap sort of the range
            sub = v[first:last]
            make_heap(sub, comp)
            sort_heap(sub, comp)
            v[first:last] = sub
            return
        depth -= 1
        mid = first + (last - first) // 2
        _median_to_first(v, first, first + 1, mid, last - 1, comp)
        cut = _partition(v, first + 1, last, first, comp)
        _introsort(v, cut, last, depth, comp)
        last = cut


def std_sort(v: list, comp: Callable) -> None:
    """libstdc++'s ``std::sort`` (introsort, then insertion sort)."""
    n = len(v)
    if n < 2:
        return
    _introsort(v, 0, n, 2 * (n.bit_length() - 1), comp)
    if n > 16:
        _insertion(v, 0, 16, comp)
        _insertion(v, 16, n, comp, guarded=False)
    else:
        _insertion(v, 0, n, comp)


class TopN:
    """``gtl::TopN<BeamEntry*, BeamComparer>``: unordered, then bottom known, then a heap
    once ``limit + 1`` elements were pushed."""

    def __init__(self, limit: int):
        self.limit, self.items, self.state = limit, [], "unordered"

    def size(self) -> int:
        return min(len(self.items), self.limit)

    def push(self, e: Entry) -> None:
        v = self.items
        if self.state != "heap":
            v.append(e)
            if self.state == "bottom" and not _greater(v[-1], v[0]):
                v[0], v[-1] = v[-1], v[0]
            if len(v) == self.limit + 1:
                make_heap(v, _greater)
                pop_heap(v, len(v), _greater)
                self.state = "heap"
        elif _greater(e, v[0]):
            v[-1] = e
            push_heap(v, _greater)
            pop_heap(v, len(v), _greater)

    def bottom(self) -> Entry:
        v = self.items
        if self.state == "unordered":
            low = 0
            for i in range(1, len(v)):
                if _greater(v[low], v[i]):
                    low = i
            v[0], v[low] = v[low], v[0]
            self.state = "bottom"
        return v[0]

    def extract(self) -> list[Entry]:
        v, self.items, state = self.items, [], self.state
        self.state = "unordered"
        if state != "heap":
            std_sort(v, _greater)
        else:
            v.pop()
            sort_heap(v, _greater)
        return v

    def unsorted(self) -> list[Entry]:
        return self.items[:self.size()]


class BeamSearch:
    """One sequence's beam search (``classes`` with the blank last, ``width`` prefixes)."""

    def __init__(self, classes: int, width: int):
        self.classes, self.width = classes, width
        self.root = Entry(None, -1)
        self.root.new = [np.float32(0), _NEG, np.float32(0)]
        self.leaves = TopN(width)
        self.leaves.push(self.root)

    def run(self, frames: np.ndarray, npaths: int) -> list[tuple[list[int], float]]:
        with np.errstate(all="ignore"):
            for frame in frames:
                self.step(frame)
        if npaths > self.leaves.size():
            raise ValueError(f"ops.ctc_decode: Less leaves in the beam search than requested "
                             f"({self.leaves.size()} < top_paths={npaths}); use fewer "
                             "top_paths or longer sequences.")
        best = TopN(npaths)
        for e in self.leaves.unsorted():
            best.push(e)
        return [(e.labels(), float(e.new[2])) for e in best.extract()]

    def step(self, frame: np.ndarray) -> None:
        top = np.float32(frame.max())
        total = np.cumsum(np.exp(frame - top), dtype=np.float32)[-1]      # a float loop
        norm = np.float32(top + np.log(total))                            # log-softmax
        logp = (frame - norm).astype(np.float32)
        blank = self.classes - 1
        branches = self.leaves.extract()
        for e in branches:
            e.old = list(e.new)
        for e in branches:                         # each prefix continues
            if e.parent is not None:
                if e.parent.active():
                    prev = e.parent.old[0] if e.label == e.parent.label else e.parent.old[2]
                    e.new[1] = logaddexp(e.new[1], prev)
                e.new[1] = np.float32(e.new[1] + logp[e.label])
            e.new[0] = np.float32(np.float32(e.old[2] + frame[blank]) - norm)
            e.new[2] = logaddexp(e.new[0], e.new[1])
            self.leaves.push(e)
        for e in branches:                         # each prefix grows by a label
            if self._candidate(e.old[2]):
                self._grow(e, logp)

    def _candidate(self, total: np.float32) -> bool:
        return bool(total > _NEG and (self.leaves.size() < self.width or
                                      total > self.leaves.bottom().new[2]))

    def _grow(self, e: Entry, logp: np.ndarray) -> None:
        for label in range(self.classes - 1):
            child = e.children.get(label)
            if child is None:
                child = e.children[label] = Entry(e, label)
            if child.active():
                continue
            prev = e.old[0] if label == e.label else e.old[2]
            total = np.float32(logp[label] + prev)
            child.new = [_NEG, total, total]
            if self._candidate(total):
                if self.leaves.size() == self.width:
                    self.leaves.bottom().new = [_NEG, _NEG, _NEG]
                self.leaves.push(child)
            else:
                child.old = [_NEG, _NEG, _NEG]
                child.new = [_NEG, _NEG, _NEG]


__all__ = ["BeamSearch", "TopN", "std_sort", "make_heap", "sort_heap"]
