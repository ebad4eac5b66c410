"""Headless Chromium for the report tests: load a page as a person would, and read back the DOM
after it ran, what it wrote to the console, a screenshot, or a PDF.

Chromium is Debian's `chromium` package (`apt-get install -y chromium`); tests that need it
are skipped when it is not installed. Each run gets a fresh profile and no network service.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--enable-logging=stderr", "--v=0",
         "--hide-scrollbars", "--mute-audio"]


@dataclass
class Loaded:
    """What the browser gave back: `output` (the DOM, or nothing for a screenshot or PDF) and
    the page's console messages (errors, CSP violations...)."""

    output: str
    console: list[str]


def load(page: Path, action: str = "--dump-dom", width: int = 1200, height: int = 1800) -> Loaded:
    """Open `page` in headless Chromium with `action` (--dump-dom, --screenshot=FILE or
    --print-to-pdf=FILE) at a window of `width` x `height` CSS pixels."""
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory(prefix="grader-chromium-") as profile:
        argv = [CHROMIUM, *FLAGS, "--user-data-dir=%s" % profile, "--window-size=%d,%d" % (width, height), action,
                page.resolve().as_uri()]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return Loaded(done.stdout, console)


def _unfilter_slow(kind: int, line: bytearray, previous: bytearray, channels: int) -> bytearray:
    """PNG filters 3 (average) and 4 (Paeth), which depend on the byte just decoded."""
    for x in range(len(line)):
        left = line[x - channels] if x >= channels else 0
        up = previous[x]
        if kind == 3:
            line[x] = (line[x] + (left + up) // 2) & 255
            continue
        corner = previous[x - channels] if x >= channels else 0
        guess = left + up - corner
        pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
        line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
    return line


def read_png(path: Path) -> np.ndarray:
    """The pixels (height, width, 3; uint8 RGB) of an 8-bit, non-interlaced RGB or RGBA PNG, as
    Chromium writes them."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, [], b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    channels = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(chunks)), dtype=np.uint8).reshape(height, width * channels + 1)
    pixels = np.zeros((height, width * channels), dtype=np.uint8)
    previous = np.zeros(width * channels, dtype=np.uint8)
    for y in range(height):
        kind, line = int(raw[y, 0]), raw[y, 1:]
        if kind == 0:
            decoded = line.copy()
        elif kind == 1:
            decoded = np.cumsum(line.reshape(width, channels), axis=0, dtype=np.uint8).reshape(-1)
        elif kind == 2:
            decoded = line + previous
        else:
            decoded = np.frombuffer(_unfilter_slow(kind, bytearray(line.tobytes()), bytearray(previous.tobytes()),
                                                   channels), dtype=np.uint8)
        pixels[y] = decoded
        previous = decoded
    return pixels.reshape(height, width, channels)[:, :, :3]


def strong_red(pixels: np.ndarray) -> int:
    """How many pixels are a strong red (a heatmap's large positive values)."""
    r, g, b = (pixels[:, :, i].astype(int) for i in range(3))
    return int(((r > 150) & (g < 110) & (b < 110)).sum())


def strong_blue(pixels: np.ndarray) -> int:
    """How many pixels are a strong blue (a heatmap's large negative values)."""
    r, g, b = (pixels[:, :, i].astype(int) for i in range(3))
    return int(((b > 140) & (r < 90) & (g < 150)).sum())
