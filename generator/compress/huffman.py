"""Canonical Huffman coding of small integer alphabets (Deep Compression's last stage).

A code is given by its code lengths alone (canonical: codes assigned in order of length, then
symbol), so a file stores one length per symbol and not the tree. Written here because the file
format needs exactly this and it is a few lines; no library dependency for 60 lines of heapq."""
from __future__ import annotations

import heapq
from collections import Counter


def code_lengths(symbols: list[int], alphabet: int) -> list[int]:
    """The Huffman code length of each symbol 0..alphabet-1 for this message (0: unused).
    Ties are broken by the smallest symbol, so the lengths depend on the counts alone."""
    counts = Counter(symbols)
    if any(not 0 <= s < alphabet for s in counts):
        raise ValueError(f"a symbol outside 0..{alphabet - 1}")
    lengths = [0] * alphabet
    if len(counts) == 1:
        lengths[next(iter(counts))] = 1
        return lengths
    # heap of (count, smallest symbol in the subtree, symbols in the subtree)
    heap = [(n, s, [s]) for s, n in sorted(counts.items())]
    heapq.heapify(heap)
    while len(heap) > 1:
        n1, s1, members1 = heapq.heappop(heap)
        n2, s2, members2 = heapq.heappop(heap)
        for s in members1 + members2:
            lengths[s] += 1
        heapq.heappush(heap, (n1 + n2, min(s1, s2), members1 + members2))
    return lengths


def canonical_codes(lengths: list[int]) -> dict[int, tuple[int, int]]:
    """symbol -> (code, length), assigned in order of (length, symbol)."""
    codes, code, previous = {}, 0, 0
    for length, symbol in sorted((n, s) for s, n in enumerate(lengths) if n > 0):
        code <<= length - previous
        codes[symbol] = (code, length)
        code, previous = code + 1, length
    return codes


def encode(symbols: list[int], lengths: list[int]) -> bytes:
    """The message as a bit string, most significant bit first, zero-padded to whole bytes."""
    codes = canonical_codes(lengths)
    bits = "".join(format(code, f"0{length}b") for code, length in (codes[s] for s in symbols))
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""


def decode(data: bytes, lengths: list[int], count: int) -> list[int]:
    """The first `count` symbols of an encoded message."""
    table = {(length, code): s for s, (code, length) in canonical_codes(lengths).items()}
    longest = max(lengths, default=0)
    bits = "".join(format(byte, "08b") for byte in data)
    out, code, length, position = [], 0, 0, 0
    while len(out) < count:
        if position >= len(bits) or length >= longest:
            raise ValueError("the bit stream ends inside a code or holds a code the table does not")
        code, length, position = (code << 1) | (bits[position] == "1"), length + 1, position + 1
        symbol = table.get((length, code))
        if symbol is not None:
            out.append(symbol)
            code = length = 0
    return out
