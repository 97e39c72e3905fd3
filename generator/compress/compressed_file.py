"""The Deep Compression file: a pruned, weight-shared network of Linear layers in as few bytes
as the method allows, and its decoder. The report's numbers are computed from what `decode`
returns, so what is published is what the file holds.

Layout (little-endian): b"FGDC", u8 version, u8 layers; then per layer:
  u16 rows, u16 cols, u8 bits, u8 gap_bits, u32 kept weights, u32 gap symbols,
  f32 × 2^bits   shared values (the codebook)
  f32 × rows     biases (not compressed, as in Han et al.)
  u8 × 2^bits    Huffman code lengths of the weight codes (0: unused)
  u8 × 2^gap_bits Huffman code lengths of the index gaps
  u32 bytes, then the Huffman-coded weight codes; u32 bytes, then the Huffman-coded gaps.
Kept weights are stored in row-major order by the gap from the previous one (the first from
position -1); a gap too large for gap_bits is split with filler symbols 0, each advancing
2^gap_bits - 1 positions without a weight (Han et al.'s relative index with filler zeros)."""
from __future__ import annotations

import struct

import numpy as np

from generator.compress import huffman

MAGIC, VERSION = b"FGDC", 1


def gaps(positions: np.ndarray, gap_bits: int) -> list[int]:
    step = 2 ** gap_bits - 1
    out, previous = [], -1
    for p in positions.tolist():
        d = p - previous
        while d > step:
            out.append(0)
            d -= step
        out.append(d)
        previous = p
    return out


def positions_from(gap_symbols: list[int], gap_bits: int) -> np.ndarray:
    step, position, out = 2 ** gap_bits - 1, -1, []
    for g in gap_symbols:
        if g == 0:
            position += step
        else:
            position += g
            out.append(position)
    return np.array(out, dtype=np.int64)


def encode_layer(layer: dict) -> tuple[bytes, dict]:
    """One layer's bytes and what they cost, part by part."""
    rows, cols = layer["shape"]
    bits, gap_bits = layer["bits"], layer["gap_bits"]
    codes = layer["codes"].tolist()
    gap_symbols = gaps(layer["positions"], gap_bits)
    code_lengths = huffman.code_lengths(codes, 2 ** bits)
    gap_lengths = huffman.code_lengths(gap_symbols, 2 ** gap_bits)
    code_stream, gap_stream = huffman.encode(codes, code_lengths), huffman.encode(gap_symbols, gap_lengths)
    header = struct.pack("<HHBBII", rows, cols, bits, gap_bits, len(codes), len(gap_symbols))
    codebook = np.asarray(layer["centroids"], dtype="<f4").tobytes()
    bias = np.asarray(layer["bias"], dtype="<f4").tobytes()
    tables = bytes(code_lengths) + bytes(gap_lengths)
    parts = [header, codebook, bias, tables, struct.pack("<I", len(code_stream)), code_stream,
             struct.pack("<I", len(gap_stream)), gap_stream]
    cost = {"codebook": len(codebook), "bias": len(bias), "tables": len(tables) + len(header) + 8,
            "codes": len(code_stream), "index": len(gap_stream)}
    return b"".join(parts), cost


def encode(layers: list[dict]) -> tuple[bytes, list[dict]]:
    """The file, and per layer the bytes of each part."""
    encoded = [encode_layer(layer) for layer in layers]
    return MAGIC + struct.pack("<BB", VERSION, len(layers)) + b"".join(e[0] for e in encoded), [e[1] for e in encoded]


class Reader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise ValueError("the file ends early")
        chunk = self.data[self.at:self.at + n]
        self.at += n
        return chunk

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))


def decode(data: bytes) -> list[dict]:
    """Per layer: the kernel (rows, cols) float32 and the bias, exactly as the file holds them."""
    reader = Reader(data)
    if reader.take(4) != MAGIC:
        raise ValueError("not a Deep Compression file (no FGDC header)")
    version, count = reader.unpack("<BB")
    if version != VERSION:
        raise ValueError(f"file version {version}, this decoder reads {VERSION}")
    layers = []
    for _ in range(count):
        rows, cols, bits, gap_bits, kept, gap_count = reader.unpack("<HHBBII")
        codebook = np.frombuffer(reader.take(4 * 2 ** bits), dtype="<f4")
        bias = np.frombuffer(reader.take(4 * rows), dtype="<f4").astype(np.float32)
        code_lengths, gap_lengths = list(reader.take(2 ** bits)), list(reader.take(2 ** gap_bits))
        codes = huffman.decode(reader.take(reader.unpack("<I")[0]), code_lengths, kept)
        positions = positions_from(huffman.decode(reader.take(reader.unpack("<I")[0]), gap_lengths, gap_count), gap_bits)
        if len(positions) != kept or (kept and positions[-1] >= rows * cols):
            raise ValueError("the index stream does not give the kept weights' places")
        kernel = np.zeros(rows * cols, dtype=np.float32)
        kernel[positions] = codebook[np.array(codes, dtype=np.int64)]
        layers.append({"weight": kernel.reshape(rows, cols), "bias": bias})
    if reader.at != len(data):
        raise ValueError("bytes left after the last layer")
    return layers
