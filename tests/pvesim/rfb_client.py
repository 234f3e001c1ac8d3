"""A minimal RFB 3.8 client for tests: VNC authentication and one framebuffer update.

The DES variant is written independently of pvesim's: each key byte bit-reversed, then single
DES in ECB (TripleDES with the key repeated).
"""

from __future__ import annotations

import struct

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from websockets.sync.client import ClientConnection


def _reverse_bits(byte: int) -> int:
    result = 0
    for bit in range(8):
        if byte & (1 << bit):
            result |= 1 << (7 - bit)
    return result


def vnc_response(password: str, challenge: bytes) -> bytes:
    key = bytes(_reverse_bits(b) for b in password.encode()[:8].ljust(8, b"\0"))
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()  # noqa: S305
    return encryptor.update(challenge) + encryptor.finalize()


class RfbSession:
    """Drives an RFB session over a websockets (sync) connection."""

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection
        self._buffer = bytearray()
        self.width = self.height = 0
        self.name = b""

    def _read(self, count: int) -> bytes:
        while len(self._buffer) < count:
            message = self._connection.recv(timeout=10)
            self._buffer.extend(message if isinstance(message, bytes) else message.encode())
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    def handshake(self, password: str) -> int:
        """Run version, security and init; return the SecurityResult (0 = OK)."""
        assert self._read(12) == b"RFB 003.008\n"
        self._connection.send(b"RFB 003.008\n")
        count = self._read(1)[0]
        types = self._read(count)
        assert 2 in types
        self._connection.send(bytes([2]))
        challenge = self._read(16)
        self._connection.send(vnc_response(password, challenge))
        (result,) = struct.unpack(">I", self._read(4))
        if result != 0:
            return result
        self._connection.send(bytes([1]))
        self.width, self.height = struct.unpack(">HH", self._read(4))
        self._read(16)
        (length,) = struct.unpack(">I", self._read(4))
        self.name = self._read(length)
        return result

    def request_frame(self, *, incremental: bool) -> None:
        message = struct.pack(">BBHHHH", 3, int(incremental), 0, 0, self.width, self.height)
        self._connection.send(message)

    def press_key(self, keysym: int) -> None:
        self._connection.send(struct.pack(">BBxxI", 4, 1, keysym))
        self._connection.send(struct.pack(">BBxxI", 4, 0, keysym))

    def read_frame(self) -> bytes:
        kind, rects = struct.unpack(">BxH", self._read(4))
        assert kind == 0
        pixels = b""
        for _ in range(rects):
            _x, _y, width, height, encoding = struct.unpack(">HHHHi", self._read(12))
            assert encoding == 0
            pixels += self._read(width * height * 4)
        return pixels
