"""python-telegram-bot's network edge to the Bot API on aiohttp instead of httpx.

aiohttp is already the bot's web server. As the client of the Bot API it costs about a
third of httpx's CPU per call (bench/README.md §1: the echo bot spends 0.5–0.7 ms per
update with it, 1.5–2.5 ms with ``HTTPXRequest``; httpx's connection pool walks every
connection on every request). Same behaviour as ``HTTPXRequest``: the same default
timeouts (5 s to connect, read and write, 20 s to upload a file, 1 s to wait for a free
connection), files as multipart (the other parameters as one JSON body), a timeout raised as
``TimedOut`` and any other transport failure as ``NetworkError`` — python-telegram-bot
maps the HTTP status codes of the answer itself.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# HTTPXRequest's defaults, so switching the client changes no behaviour.
CONNECT_S = 5.0
READ_S = 5.0
WRITE_S = 5.0
MEDIA_WRITE_S = 20.0
POOL_S = 1.0


class AiohttpRequest(BaseRequest):
    """One aiohttp session with at most ``pool_size`` connections to the Bot API."""

    def __init__(
        self,
        pool_size: int = 256,
        *,
        connect_timeout: float | None = CONNECT_S,
        read_timeout: float | None = READ_S,
        write_timeout: float | None = WRITE_S,
        media_write_timeout: float | None = MEDIA_WRITE_S,
        pool_timeout: float | None = POOL_S,
    ) -> None:
        self._pool_size = pool_size
        self._connect_s = connect_timeout
        self._read_s = read_timeout
        self._write_s = write_timeout
        self._media_write_s = media_write_timeout
        self._pool_s = pool_timeout
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_s

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                timeout=aiohttp.ClientTimeout(total=None),
                headers={"User-Agent": self.USER_AGENT},
            )
            self._slots = asyncio.Semaphore(self._pool_size)

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See :meth:`BaseRequest.do_request`."""
        if self._session is None or self._session.closed or self._slots is None:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = bool(request_data and request_data.contains_files)
        read_s = self._read_s if isinstance(read_timeout, DefaultValue) else read_timeout
        connect_s = (
            self._connect_s if isinstance(connect_timeout, DefaultValue) else connect_timeout
        )
        pool_s = self._pool_s if isinstance(pool_timeout, DefaultValue) else pool_timeout
        write_s = (
            (self._media_write_s if files else self._write_s)
            if isinstance(write_timeout, DefaultValue)
            else write_timeout
        )
        # aiohttp has no write timeout of its own: the whole exchange is bounded by the
        # sum, and reading the answer by ``read_s`` between two chunks.
        parts = (connect_s, write_s, read_s)
        total = None if any(p is None for p in parts) else sum(p or 0.0 for p in parts)
        timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect_s, sock_read=read_s)
        try:
            async with asyncio.timeout(pool_s):  # waiting for a free connection
                await self._slots.acquire()
        except TimeoutError as exc:
            raise TimedOut(
                "Pool timeout: all connections to the Bot API are busy; the request was not sent."
            ) from exc
        try:
            async with self._session.request(
                method, url, data=_body(request_data), timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors too
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
        finally:
            self._slots.release()


def _body(request_data: RequestData | None) -> aiohttp.FormData | aiohttp.BytesPayload | None:
    """The parameters as one JSON document (the Bot API takes JSON for every method;
    encoding each field of a form costs more); with files, multipart as HTTPXRequest."""
    if request_data is None:
        return None
    if not request_data.contains_files:
        return aiohttp.BytesPayload(
            json.dumps(request_data.parameters).encode(), content_type="application/json"
        )
    fields = request_data.json_parameters
    form = aiohttp.FormData()
    for key, value in fields.items():
        form.add_field(key, value)
    for key, part in request_data.multipart_data.items():
        filename, content = part[0], part[1]
        content_type = part[2] if len(part) > 2 else None
        form.add_field(key, content, filename=filename, content_type=content_type)
    return form
