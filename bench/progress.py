"""A plain-text progress bar on stderr, without any dependency.

On a terminal the bar is redrawn in place (`reports   [#####.....] 512,000/1,000,000  41 s`);
in a log (not a terminal) a line is written at every tenth of the way instead.
"""

import sys
import time
from typing import TextIO

WIDTH = 30
REDRAW_SECONDS = 0.2


class Progress:
    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = max(total, 0)
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.perf_counter()
        self._drawn_at = 0.0
        self._tenth = -1
        self._tty = self.stream.isatty()
        self._closed = False
        self._draw(force=True)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def advance(self, count: int = 1) -> None:
        self.done += count
        self._draw()

    def close(self) -> None:
        """Draw the final state and end the line."""
        if self._closed:
            return
        self._closed = True
        self.done = max(self.done, self.total) if self.total else self.done
        self._draw(force=True)
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def line(self) -> str:
        share = min(self.done / self.total, 1.0) if self.total else 1.0
        filled = int(share * WIDTH)
        bar = "#" * filled + "." * (WIDTH - filled)
        return f"{self.label:<13} [{bar}] {self.done:,}/{self.total:,}  {self.elapsed:,.0f} s"

    def _draw(self, force: bool = False) -> None:
        if self._tty:
            now = time.perf_counter()
            if not force and now - self._drawn_at < REDRAW_SECONDS:
                return
            self._drawn_at = now
            self.stream.write("\r" + self.line())
            self.stream.flush()
            return
        tenth = int(10 * self.done / self.total) if self.total else 10
        if tenth > self._tenth:
            self._tenth = tenth
            self.stream.write(self.line() + "\n")
            self.stream.flush()
