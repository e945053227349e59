"""Line input for the terminal program, with a deadline (plain file descriptors, so it works over SSH and ptys)."""
from __future__ import annotations

import codecs
import os
import select
import sys
import time


class LineReader:
    """Reads lines from a file descriptor; ``readline(timeout)`` returns None when the time runs out."""

    def __init__(self, fd: int | None = None):
        self.fd = sys.stdin.fileno() if fd is None else fd
        self.buffer = ""
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.eof = False

    def readline(self, timeout: float | None = None) -> str | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while "\n" not in self.buffer:
            if self.eof:
                if self.buffer:
                    line, self.buffer = self.buffer, ""
                    return line
                raise EOFError
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.fd], [], [], wait)
            if not ready:
                return None
            chunk = os.read(self.fd, 4096)
            self.eof = not chunk
            self.buffer += self.decoder.decode(chunk, final=self.eof)
        line, self.buffer = self.buffer.split("\n", 1)
        return line.rstrip("\r")

    def read_answer(self, limit: float | None) -> tuple[str, float, bool]:
        """Lines until an empty one (or end of input, or the limit): (text, seconds, timed_out). When the limit
        ends the answer, what was typed but not yet entered is dropped, so it cannot begin the next answer."""
        start, lines = time.monotonic(), []
        while True:
            left = None if limit is None else limit - (time.monotonic() - start)
            if left is not None and left <= 0:
                self.discard_pending()
                return "\n".join(lines), time.monotonic() - start, True
            try:
                line = self.readline(left)
            except EOFError:
                break
            if line is None:
                self.discard_pending()
                return "\n".join(lines), time.monotonic() - start, True
            if line == "":
                break
            lines.append(line)
        return "\n".join(lines), time.monotonic() - start, False

    def discard_pending(self) -> None:
        """Forget input typed so far and not yet read: a terminal's unfinished line and anything buffered."""
        self.buffer = ""
        if os.isatty(self.fd):
            import termios  # POSIX terminals only

            termios.tcflush(self.fd, termios.TCIFLUSH)

    def ask(self, prompt: str, valid: dict[str, object], retry: str):
        """Prompt until the reply is one of ``valid`` (case-insensitive); returns the mapped value."""
        while True:
            sys.stdout.write(prompt)
            sys.stdout.flush()
            reply = self.readline()
            key = (reply or "").strip().lower()
            if key in valid:
                return valid[key]
            sys.stdout.write(retry + "\n")
