"""The termproxy websocket protocol (xterm.js) with a small line-oriented fake shell.

Client frames: first ``"<user>:<ticket>\\n"`` (answered ``OK``), then ``"0:<len>:<data>"``
input, ``"1:<cols>:<rows>:"`` resize and ``"2"`` keep-alive. Server frames are terminal bytes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

BANNER = "\r\nDebian GNU/Linux 12 {hostname} tty1\r\n\r\n"


@dataclass
class FakeShell:
    """Enough of a shell to show that keys reach the guest: echo, editing, a few commands."""

    hostname: str
    vmid: int
    ostype: str = "debian"
    cols: int = 80
    rows: int = 24
    _line: str = ""
    _history: list[str] = field(default_factory=list)

    @property
    def prompt(self) -> str:
        return f"root@{self.hostname}:~# "

    def greeting(self) -> str:
        return BANNER.format(hostname=self.hostname) + self.prompt

    def feed(self, data: str) -> tuple[str, bool]:
        """Process input; return (output to send, whether the session should end)."""
        output: list[str] = []
        for char in data:
            if char in "\r\n":
                command = self._line.strip()
                self._line = ""
                output.append("\r\n")
                if command in ("exit", "logout"):
                    output.append("logout\r\n")
                    return "".join(output), True
                if command:
                    self._history.append(command)
                    output.append(self._run(command))
                output.append(self.prompt)
            elif char in "\x7f\b":
                if self._line:
                    self._line = self._line[:-1]
                    output.append("\b \b")
            elif char == "\x03":
                self._line = ""
                output.append("^C\r\n" + self.prompt)
            elif char.isprintable():
                self._line += char
                output.append(char)
        return "".join(output), False

    def _run(self, command: str) -> str:
        name, _, argument = command.partition(" ")
        answers = {
            "hostname": self.hostname,
            "whoami": "root",
            "pwd": "/root",
            "ls": "",
            "uname": "Linux"
            if argument != "-a"
            else (f"Linux {self.hostname} 6.8.12-4-pve #1 SMP PREEMPT_DYNAMIC x86_64 GNU/Linux"),
            "date": time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime()),
            "echo": argument,
            "history": "\r\n".join(f"{n:5d}  {c}" for n, c in enumerate(self._history, 1)),
            "stty": f"speed 38400 baud; rows {self.rows}; columns {self.cols}; line = 0;",
        }
        if name not in answers:
            return f"-bash: {name}: command not found\r\n"
        text = answers[name]
        return f"{text}\r\n" if text else ""


def parse_client_frame(frame: str) -> tuple[str, str | tuple[int, int] | None]:
    """Decode one client frame into ("input", data), ("resize", (cols, rows)) or ("ping", None)."""
    if frame.startswith("0:"):
        length_text, _, data = frame[2:].partition(":")
        length = int(length_text)
        # The length counts UTF-8 bytes.
        return "input", data.encode()[:length].decode(errors="replace")
    if frame.startswith("1:"):
        cols, rows = frame[2:].split(":")[:2]
        return "resize", (int(cols), int(rows))
    if frame == "2":
        return "ping", None
    raise ValueError(f"unknown termproxy frame {frame[:20]!r}")
