"""A small RFB 3.8 (VNC) server showing a text console, for qemu guests' ``vncwebsocket``.

Implements what noVNC needs: version handshake, VNC authentication (security type 2, DES
challenge keyed by the first 8 characters of the password with bit-reversed key bytes),
ClientInit/ServerInit, SetPixelFormat, SetEncodings, FramebufferUpdateRequest answered with
Raw-encoded full frames, and KeyEvents that are echoed onto the text screen (Ctrl-Alt-Del shows
the guest restarting).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from pvesim.font import GLYPH_HEIGHT, glyph

CELL_WIDTH, CELL_HEIGHT = 8, 16
COLUMNS, ROWS = 80, 25
WIDTH, HEIGHT = COLUMNS * CELL_WIDTH, ROWS * CELL_HEIGHT
SECURITY_VNC_AUTH = 2
KEY_RETURN, KEY_BACKSPACE, KEY_DELETE = 0xFF0D, 0xFF08, 0xFFFF
KEYS_CONTROL, KEYS_ALT = {0xFFE3, 0xFFE4}, {0xFFE9, 0xFFEA}  # left and right
# Colours of the two "palette" entries: background and text (r, g, b).
PALETTE = ((0, 0, 0), (0xC0, 0xC0, 0xC0))


class ByteChannel(Protocol):
    async def read_exactly(self, count: int) -> bytes: ...

    async def write(self, data: bytes) -> None: ...


def vnc_des_key(password: str) -> bytes:
    """VNC's DES key: the password's first 8 bytes, zero padded, each byte bit-reversed."""
    raw = password.encode("latin-1", "replace")[:8].ljust(8, b"\0")
    return bytes(int(f"{byte:08b}"[::-1], 2) for byte in raw)


def vnc_encrypt_challenge(password: str, challenge: bytes) -> bytes:
    # Single DES expressed as TripleDES with the key repeated (K1 = K2 = K3).
    encryptor = Cipher(TripleDES(vnc_des_key(password) * 3), modes.ECB()).encryptor()  # noqa: S305
    return encryptor.update(challenge) + encryptor.finalize()


@dataclass
class PixelFormat:
    bits_per_pixel: int = 32
    depth: int = 24
    big_endian: bool = False
    true_colour: bool = True
    red_max: int = 255
    green_max: int = 255
    blue_max: int = 255
    red_shift: int = 16
    green_shift: int = 8
    blue_shift: int = 0

    def pack(self) -> bytes:
        return struct.pack(
            ">BBBBHHHBBB3x",
            self.bits_per_pixel,
            self.depth,
            int(self.big_endian),
            int(self.true_colour),
            self.red_max,
            self.green_max,
            self.blue_max,
            self.red_shift,
            self.green_shift,
            self.blue_shift,
        )

    @classmethod
    def unpack(cls, data: bytes) -> PixelFormat:
        fields = struct.unpack(">BBBBHHHBBB3x", data)
        return cls(fields[0], fields[1], bool(fields[2]), bool(fields[3]), *fields[4:])

    def encode_colour(self, rgb: tuple[int, int, int]) -> bytes:
        red, green, blue = rgb
        value = (
            (red * self.red_max // 255) << self.red_shift
            | (green * self.green_max // 255) << self.green_shift
            | (blue * self.blue_max // 255) << self.blue_shift
        )
        size = self.bits_per_pixel // 8
        return value.to_bytes(size, "big" if self.big_endian else "little")


class TextScreen:
    """An 80x25 text console that scrolls; the source of every framebuffer update."""

    def __init__(self, lines: list[str], prompt: str) -> None:
        self.lines = [line[:COLUMNS] for line in lines][-ROWS:] or [""]
        self.prompt = prompt
        if not self.lines[-1].startswith(prompt):
            self.lines.append(prompt)

    def type_key(self, keysym: int) -> bool:
        """Apply one key press; return True if the screen changed."""
        if keysym == KEY_RETURN:
            self.lines.append(self.prompt)
        elif keysym == KEY_BACKSPACE:
            if len(self.lines[-1]) <= len(self.prompt):
                return False
            self.lines[-1] = self.lines[-1][:-1]
        elif 0x20 <= keysym <= 0x7E:
            if len(self.lines[-1]) >= COLUMNS:
                self.lines.append("")
            self.lines[-1] += chr(keysym)
        else:
            return False
        del self.lines[:-ROWS]
        return True

    def ctrl_alt_del(self) -> bool:
        """What a Linux guest's console shows when systemd reboots on Ctrl-Alt-Del."""
        self.lines += ["reboot: Restarting system", self.prompt]
        del self.lines[:-ROWS]
        return True

    def render(self) -> bytes:
        """One byte per pixel: the palette index (0 background, 1 text)."""
        scanlines: list[bytes] = []
        padded = self.lines + [""] * (ROWS - len(self.lines))
        for line in padded:
            cells = [_cell_rows(char) for char in line.ljust(COLUMNS)]
            for row in range(CELL_HEIGHT):
                scanlines.append(b"".join(cell[row] for cell in cells))
        return b"".join(scanlines)


_CELL_CACHE: dict[str, tuple[bytes, ...]] = {}


def _cell_rows(char: str) -> tuple[bytes, ...]:
    """A character cell as 16 rows of 8 palette bytes; the 5x7 glyph is doubled vertically."""
    cached = _CELL_CACHE.get(char)
    if cached is None:
        rows = [bytes(CELL_WIDTH)]
        for bits in glyph(char):
            row = bytes([0] + [(bits >> (4 - x)) & 1 for x in range(5)] + [0, 0])
            rows.extend([row, row])
        rows.extend([bytes(CELL_WIDTH)] * (CELL_HEIGHT - 1 - 2 * GLYPH_HEIGHT))
        cached = _CELL_CACHE[char] = tuple(rows)
    return cached


def encode_frame(indices: bytes, pixel_format: PixelFormat) -> bytes:
    """Map palette indices to the client's pixel format, one byte plane at a time (fast)."""
    colours = [pixel_format.encode_colour(rgb) for rgb in PALETTE]
    size = len(colours[0])
    out = bytearray(len(indices) * size)
    for plane in range(size):
        table = bytes(colours[i][plane] if i < len(colours) else 0 for i in range(256))
        out[plane::size] = indices.translate(table)
    return bytes(out)


class RfbServer:
    """Serves one RFB session over ``channel``; ``on_auth`` reports the authentication result."""

    def __init__(
        self,
        channel: ByteChannel,
        *,
        password: str,
        screen: TextScreen,
        desktop_name: str,
        on_auth: Callable[[bool], None] | None = None,
    ) -> None:
        self._channel = channel
        self._password = password
        self._screen = screen
        self._name = desktop_name.encode()
        self._format = PixelFormat()
        self._on_auth = on_auth
        self._pending_incremental = False
        self._keys_down: set[int] = set()

    async def run(self) -> None:
        if not await self._handshake():
            return
        while True:
            await self._handle_message()

    async def _handshake(self) -> bool:
        channel = self._channel
        await channel.write(b"RFB 003.008\n")
        version = await channel.read_exactly(12)
        if not version.startswith(b"RFB 003."):
            return False
        await channel.write(bytes([1, SECURITY_VNC_AUTH]))
        if (await channel.read_exactly(1))[0] != SECURITY_VNC_AUTH:
            return False
        challenge = os.urandom(16)
        await channel.write(challenge)
        response = await channel.read_exactly(16)
        ok = response == vnc_encrypt_challenge(self._password, challenge)
        if self._on_auth:
            self._on_auth(ok)
        if not ok:
            reason = b"Authentication failed"
            await channel.write(struct.pack(">II", 1, len(reason)) + reason)
            return False
        await channel.write(struct.pack(">I", 0))
        await channel.read_exactly(1)  # ClientInit: shared flag
        await channel.write(
            struct.pack(">HH", WIDTH, HEIGHT)
            + self._format.pack()
            + struct.pack(">I", len(self._name))
            + self._name
        )
        return True

    async def _handle_message(self) -> None:
        channel = self._channel
        kind = (await channel.read_exactly(1))[0]
        if kind == 0:  # SetPixelFormat
            data = await channel.read_exactly(19)
            requested = PixelFormat.unpack(data[3:])
            if requested.true_colour and requested.bits_per_pixel in (8, 16, 32):
                self._format = requested
        elif kind == 2:  # SetEncodings: we always answer Raw, which every client supports
            (count,) = struct.unpack(">xH", await channel.read_exactly(3))
            await channel.read_exactly(4 * count)
        elif kind == 3:  # FramebufferUpdateRequest
            incremental = (await channel.read_exactly(9))[0]
            if incremental:
                self._pending_incremental = True
            else:
                await self._send_frame()
        elif kind == 4:  # KeyEvent
            down, keysym = struct.unpack(">B2xI", await channel.read_exactly(7))
            if down:
                self._keys_down.add(keysym)
            else:
                self._keys_down.discard(keysym)
            if down and self._screen_changed_by(keysym) and self._pending_incremental:
                await self._send_frame()
        elif kind == 5:  # PointerEvent
            await channel.read_exactly(5)
        elif kind == 6:  # ClientCutText
            (length,) = struct.unpack(">3xI", await channel.read_exactly(7))
            await channel.read_exactly(length)
        else:
            raise ConnectionError(f"unsupported RFB client message {kind}")

    def _screen_changed_by(self, keysym: int) -> bool:
        held = self._keys_down
        if keysym == KEY_DELETE and held & KEYS_CONTROL and held & KEYS_ALT:
            return self._screen.ctrl_alt_del()
        return self._screen.type_key(keysym)

    async def _send_frame(self) -> None:
        self._pending_incremental = False
        pixels = encode_frame(self._screen.render(), self._format)
        header = struct.pack(">BxH", 0, 1) + struct.pack(">HHHHi", 0, 0, WIDTH, HEIGHT, 0)
        await self._channel.write(header + pixels)
