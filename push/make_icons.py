"""Writes the app icons (push/static/push/icons/icon-<size>.png) with the
standard library only: `python -m push.make_icons`. The PNGs are committed;
run this again only to change the design.

The design: three rising bars in the accent colour on the site's background,
kept inside the central 60% so the 512 icon also serves as a maskable icon
(whose safe zone is the central 80% circle)."""

import struct
import zlib
from pathlib import Path

BACKGROUND = (0x0F, 0x14, 0x19)
ACCENT = (0x4E, 0xA1, 0xFF)
UP = (0x3F, 0xB9, 0x50)
SIZES = (192, 512)
OUT = Path(__file__).resolve().parent / "static" / "push" / "icons"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png(width: int, height: int, pixels: list[list[tuple[int, int, int]]]) -> bytes:
    raw = b"".join(b"\x00" + bytes(c for pixel in row for c in pixel) for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def icon(size: int) -> bytes:
    pixels = [[BACKGROUND] * size for _ in range(size)]
    left, right, bottom = round(size * 0.2), round(size * 0.8), round(size * 0.78)
    gap = round(size * 0.04)
    width = (right - left - 2 * gap) // 3
    for index, height in enumerate((0.22, 0.38, 0.56)):
        x0 = left + index * (width + gap)
        top = bottom - round(size * height)
        colour = UP if index == 2 else ACCENT
        for y in range(top, bottom):
            for x in range(x0, x0 + width):
                pixels[y][x] = colour
    return png(size, size, pixels)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        (OUT / f"icon-{size}.png").write_bytes(icon(size))


if __name__ == "__main__":
    main()
