"""Many open event streams at once, for the harness (case 11): what they cost everyone else.

:class:`StreamCrowd` holds N Server-Sent-Events streams open against a server from a background
event loop (raw asyncio sockets: 1,000 httpx clients would cost the shared cores more than the
server under test). A worker caps the streams of one client (``GRIDGOV_STREAMS_PER_CLIENT``, at
most 100, keyed by address when anonymous), so the crowd spreads its connections over several
loopback source addresses (127.0.0.2, 127.0.0.3, …): Linux routes all of 127.0.0.0/8 to loopback.
"""

from __future__ import annotations

import asyncio
import threading
import time
from urllib.parse import urlsplit

PER_ADDRESS = 100
STREAM_PATH = "/api/v1/incidents/stream?timeout=900&heartbeat=30"


class StreamCrowd:
    """``count`` open incident streams; counts the ``incident`` events each has received."""

    def __init__(self, base_url: str, count: int) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.count = count
        self.opened = 0
        self.refused: list[str] = []
        self.received = [0] * count
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: list[asyncio.Task[None]] = []

    def __enter__(self) -> StreamCrowd:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open_all(), self._loop).result(timeout=300)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._close_all(), self._loop).result(timeout=60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    def delivered(self, events: int) -> int:
        """How many streams have received at least ``events`` incident events."""
        return sum(1 for n in self.received if n >= events)

    def wait_delivered(self, events: int, timeout: float) -> float | None:
        """Seconds until every stream has ``events`` events, or None if not within ``timeout``."""
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if self.delivered(events) == self.count:
                return time.perf_counter() - t0
            time.sleep(0.005)
        return None

    async def _open_all(self) -> None:
        opened = await asyncio.gather(*(self._open(i) for i in range(self.count)))
        self.opened = sum(opened)

    async def _open(self, index: int) -> bool:
        source = f"127.0.0.{2 + index // PER_ADDRESS}"
        try:
            reader, writer = await asyncio.open_connection(
                self.host, self.port, local_addr=(source, 0)
            )
            writer.write(
                f"GET {STREAM_PATH} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                "Accept: text/event-stream\r\n\r\n".encode()
            )
            await writer.drain()
            status = await asyncio.wait_for(reader.readline(), 120)
            if b" 200 " not in status:
                self.refused.append(status.decode(errors="replace").strip())
                writer.close()
                return False
            # The stream's first message ("retry: …") says the server has subscribed it.
            while (line := await asyncio.wait_for(reader.readline(), 120)) and not line.startswith(
                b"retry:"
            ):
                pass
        except (OSError, TimeoutError) as exc:
            self.refused.append(f"{type(exc).__name__}: {exc}")
            return False
        self._writers.append(writer)
        self._tasks.append(asyncio.create_task(self._read(index, reader)))
        return True

    async def _read(self, index: int, reader: asyncio.StreamReader) -> None:
        # Each SSE message is one HTTP chunk, so its lines arrive whole.
        while line := await reader.readline():
            if line == b"event: incident\n":
                self.received[index] += 1

    async def _close_all(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._writers:
            writer.close()
