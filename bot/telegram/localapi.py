"""A local stand-in for the Telegram Bot API, behind python-telegram-bot's ``BaseRequest``.

Only the network edge is replaced: the real ``Application``, handlers and storage run
unchanged. Every call is recorded, answered the way Telegram answers it (message ids,
``Message`` objects, "message is not modified", file downloads) and checked against
Telegram's limits, so an over-long text, malformed HTML or a 65-byte callback data
fails here as it would in production. The console chat renders the recorded calls;
the tests assert on them.

The module is one piece: :class:`LocalBotApi` is one class whose methods mirror one API
surface (a call, its answer, the stored messages it changes); split, the rules for a
message would live apart from the answers that depend on them. Telegram's limits are in
``limits``, the HTTP front in ``localserver``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from telegram.request import BaseRequest, RequestData

from bot.telegram.html import TelegramLimitError, utf16_len
from bot.telegram.limits import SEND_METHODS, check_markup, check_text

BOT_USER = {
    "id": 7_000_000_001,
    "is_bot": True,
    "first_name": "Gerbang Koperasi",
    "username": "GerbangKoperasiBot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": True,
}


@dataclass
class Call:
    """One Bot API call the bot made."""

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    result: Any = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "params": self.params}


@dataclass
class StoredMessage:
    chat_id: int
    message_id: int
    payload: dict[str, Any]  # the Message object as Telegram returns it
    from_bot: bool
    keyboard: dict[str, Any] | None = None  # a reply keyboard sent with it (not in payload)

    @property
    def markup(self) -> dict[str, Any] | None:
        return self.payload.get("reply_markup") or self.keyboard


class LocalBotApi(BaseRequest):
    """Answers Bot API calls locally; records and validates them."""

    def __init__(self, bot_user: dict[str, Any] | None = None) -> None:
        self.bot_user = dict(bot_user or BOT_USER)
        self.calls: list[Call] = []
        self.errors: list[Call] = []
        self.messages: dict[tuple[int, int], StoredMessage] = {}
        self.files: dict[str, tuple[str, bytes]] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._answered: set[str] = set()  # callback queries answered (once each)
        self._file_ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self.listeners: list[Callable[[Call], None]] = []
        self.latency = 0.0  # seconds added to every call (tests of slow Telegram)
        self.chat_latency: dict[int, float] = {}  # extra seconds for calls to some chats
        self.fail_next: dict[str, tuple[int, dict[str, Any]]] = {}

    # --- BaseRequest ----------------------------------------------------------------------

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.chat_latency and request_data is not None:
            chat = request_data.parameters.get("chat_id")
            if isinstance(chat, int) and chat in self.chat_latency:
                await asyncio.sleep(self.chat_latency[chat])
        if "/file/bot" in url:
            file_id = url.rsplit("/", 1)[-1]
            if file_id in self.files:
                return HTTPStatus.OK, self.files[file_id][1]
            return HTTPStatus.NOT_FOUND, b""
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        files: dict[str, tuple[str, bytes]] = {}
        if request_data is not None and request_data.contains_files:
            for name, value in request_data.multipart_data.items():
                filename, content = value[0], value[1]
                if hasattr(content, "read"):
                    content = content.read()
                files[name] = (filename or name, bytes(content))
        for key, param in list(params.items()):
            if isinstance(param, str) and param.startswith("attach://"):
                part = param[len("attach://") :]
                if part in files:
                    params[key] = {"file": files[part][0], "size": len(files[part][1])}
        for key, (filename, content) in files.items():
            if (key in params and not isinstance(params[key], dict)) or key not in params:
                params[key] = {"file": filename, "size": len(content)}
        return self.handle(api_method, params, files)

    def handle(
        self,
        method: str,
        params: dict[str, Any],
        files: dict[str, tuple[str, bytes]] | None = None,
    ) -> tuple[int, bytes]:
        """Answer one Bot API call as Telegram would: (HTTP status, JSON body)."""
        call = Call(method, params, files or {})
        self.calls.append(call)
        if method in self.fail_next:
            status, body = self.fail_next.pop(method)
            call.error = body.get("description")
            self._notify(call)
            return status, json.dumps(body).encode()
        try:
            result = self._answer(call)
        except TelegramLimitError as exc:
            call.error = str(exc)
            self.errors.append(call)
            self._notify(call)
            return HTTPStatus.BAD_REQUEST, json.dumps(
                {"ok": False, "error_code": 400, "description": str(exc)}
            ).encode()
        call.result = result
        self._notify(call)
        return HTTPStatus.OK, json.dumps({"ok": True, "result": result}).encode()

    def _notify(self, call: Call) -> None:
        for listener in self.listeners:
            listener(call)

    # --- the emulated API -----------------------------------------------------------------

    def next_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def next_update_id(self) -> int:
        return next(self._update_ids)

    @staticmethod
    def chat(chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
        return {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}

    def _new_message(self, chat_id: int, body: dict[str, Any]) -> dict[str, Any]:
        message_id = self.next_message_id(chat_id)
        keyboard = None
        markup = body.get("reply_markup")
        if markup is not None and "inline_keyboard" not in markup:
            # Telegram returns only inline keyboards as part of a Message.
            keyboard = body.pop("reply_markup")
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": self.bot_user,
            **body,
        }
        self.messages[(chat_id, message_id)] = StoredMessage(
            chat_id, message_id, message, True, keyboard
        )
        return message

    def _file(self, call: Call, name: str) -> dict[str, Any]:
        file_id = f"F{next(self._file_ids):06d}"
        filename, content = call.files.get(name, (name, b""))
        if not call.files.get(name) and isinstance(call.params.get(name), str):
            file_id = call.params[name]  # re-sending a known file_id
            filename, content = self.files.get(file_id, (file_id, b""))
        self.files[file_id] = (filename, content)
        return {
            "file_id": file_id,
            "file_unique_id": "U" + file_id,
            "file_size": len(content),
            "file_name": filename,
        }

    def _answer(self, call: Call) -> Any:
        p = call.params
        m = call.method
        if m == "getMe":
            return self.bot_user
        if m in (
            "setMyCommands",
            "deleteMyCommands",
            "setWebhook",
            "deleteWebhook",
            "setMyDescription",
            "setMyShortDescription",
            "setChatMenuButton",
            "close",
            "logOut",
            "sendChatAction",
        ):
            if m == "setMyCommands":
                commands = p.get("commands") or []
                if len(commands) > 100:
                    raise TelegramLimitError("Bad Request: too many commands")
                for command in commands:
                    if not re.match(r"^[a-z0-9_]{1,32}$", command["command"]):
                        raise TelegramLimitError("Bad Request: BOT_COMMAND_INVALID")
                    if not 1 <= len(command["description"]) <= 256:
                        raise TelegramLimitError("Bad Request: command description length")
            return True
        if m == "getMyCommands":
            return []
        if m == "getWebhookInfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        if m == "getUpdates":
            return []
        if m == "getFile":
            file_id = p["file_id"]
            if file_id not in self.files:
                raise TelegramLimitError("Bad Request: invalid file_id")
            return {
                "file_id": file_id,
                "file_unique_id": "U" + file_id,
                "file_size": len(self.files[file_id][1]),
                "file_path": file_id,
            }
        if m == "answerCallbackQuery":
            text = p.get("text")
            if text is not None and len(text) > 200:
                raise TelegramLimitError("Bad Request: MESSAGE_TOO_LONG (callback answer)")
            query_id = str(p.get("callback_query_id"))
            if query_id in self._answered:  # Telegram takes one answer per query
                raise TelegramLimitError(
                    "Bad Request: query is too old and response timeout expired or query ID "
                    "is invalid"
                )
            self._answered.add(query_id)
            return True
        if m == "answerInlineQuery":
            results = p.get("results") or []
            if len(results) > 50:
                raise TelegramLimitError("Bad Request: RESULTS_TOO_MUCH")
            ids = [r["id"] for r in results]
            if len(set(ids)) != len(ids) or any(len(i.encode()) > 64 for i in ids):
                raise TelegramLimitError("Bad Request: RESULT_ID_INVALID")
            for result in results:
                check_markup(result.get("reply_markup"))
            return True
        chat_id = int(p.get("chat_id", 0)) if "chat_id" in p else None
        if m in SEND_METHODS:
            if chat_id is None:
                raise TelegramLimitError("Bad Request: chat_id is empty")
            check_markup(p.get("reply_markup"))
            if chat_id < 0 and _requests_private_data(p.get("reply_markup")):
                raise TelegramLimitError(
                    "Bad Request: location and contact can be requested in private chats only"
                )
            body: dict[str, Any] = {}
            if m == "sendMessage":
                check_text(p.get("text"), p.get("parse_mode"), limit=4096, what="message text")
                body["text"] = p["text"]
            elif m in (
                "sendPhoto",
                "sendDocument",
                "sendAnimation",
                "sendVideo",
                "sendAudio",
                "sendVoice",
            ):
                if p.get("caption") is not None:
                    check_text(p["caption"], p.get("parse_mode"), limit=1024, what="caption")
                    body["caption"] = p["caption"]
                kind = {"sendPhoto": "photo", "sendDocument": "document"}.get(m, m[4:].lower())
                info = self._file(call, kind)
                if kind == "photo":
                    body["photo"] = [{**info, "width": 1000, "height": 630}]
                else:
                    body[kind] = info
            elif m in ("sendVenue", "sendLocation"):
                lat, lon = float(p["latitude"]), float(p["longitude"])
                if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                    raise TelegramLimitError("Bad Request: wrong coordinates")
                body["location"] = {"latitude": lat, "longitude": lon}
                if m == "sendVenue":
                    if not p.get("title") or not p.get("address"):
                        raise TelegramLimitError("Bad Request: venue title and address needed")
                    body["venue"] = {
                        "location": body["location"],
                        "title": p["title"],
                        "address": p["address"],
                    }
            if "reply_markup" in p:
                body["reply_markup"] = p["reply_markup"]
            return self._new_message(chat_id, body)
        if m == "editMessageMedia":
            key = (int(p["chat_id"]), int(p["message_id"]))
            stored = self.messages.get(key)
            if stored is None or not stored.from_bot:
                raise TelegramLimitError("Bad Request: message to edit not found")
            media = p.get("media") or {}
            if media.get("type") != "photo" or not any(
                k in stored.payload for k in ("photo", "document", "video", "animation", "audio")
            ):
                raise TelegramLimitError("Bad Request: there is no media in the message to edit")
            check_markup(p.get("reply_markup"))
            if media.get("caption") is not None:
                check_text(media["caption"], media.get("parse_mode"), limit=1024, what="caption")
            source = str(media.get("media", ""))
            if source.startswith("attach://"):
                part = source[len("attach://") :]
                filename, content = call.files.get(part, (part, b""))
                file_id = f"F{next(self._file_ids):06d}"
                self.files[file_id] = (filename, content)
                media["media"] = {"file": filename, "size": len(content)}
            elif source in self.files:
                file_id = source
            else:
                raise TelegramLimitError("Bad Request: wrong file identifier")
            new = {
                k: v
                for k, v in stored.payload.items()
                if k not in ("photo", "caption", "reply_markup")
            }
            new["photo"] = [
                {"file_id": file_id, "file_unique_id": "U" + file_id, "width": 1000, "height": 630}
            ]
            if media.get("caption") is not None:
                new["caption"] = media["caption"]
            if p.get("reply_markup"):
                new["reply_markup"] = p["reply_markup"]
            new["edit_date"] = int(time.time())
            stored.payload = new
            return new
        if m in ("editMessageText", "editMessageReplyMarkup", "editMessageCaption"):
            if "inline_message_id" in p:
                return True
            key = (int(p["chat_id"]), int(p["message_id"]))
            stored = self.messages.get(key)
            if stored is None or not stored.from_bot:
                raise TelegramLimitError("Bad Request: message to edit not found")
            check_markup(p.get("reply_markup"))
            old = stored.payload
            new = dict(old)
            if m == "editMessageText":
                if "text" not in old:
                    raise TelegramLimitError(
                        "Bad Request: there is no text in the message to edit"
                    )
                check_text(p.get("text"), p.get("parse_mode"), limit=4096, what="message text")
                new["text"] = p["text"]
            elif m == "editMessageCaption":
                check_text(
                    p.get("caption"),
                    p.get("parse_mode"),
                    limit=1024,
                    what="caption",
                    allow_empty=True,
                )
                new["caption"] = p.get("caption")
            if "reply_markup" in p:
                new["reply_markup"] = p["reply_markup"]
            elif m != "editMessageReplyMarkup":
                new.pop("reply_markup", None)
            else:
                new.pop("reply_markup", None)
            if (
                new.get("text") == old.get("text")
                and new.get("caption") == old.get("caption")
                and new.get("reply_markup") == old.get("reply_markup")
            ):
                raise TelegramLimitError(
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message"
                )
            new["edit_date"] = int(time.time())
            stored.payload = new
            return new
        if m == "deleteMessage":
            key = (int(p["chat_id"]), int(p["message_id"]))
            if key not in self.messages:
                raise TelegramLimitError("Bad Request: message to delete not found")
            del self.messages[key]
            return True
        raise TelegramLimitError(f"Not Found: method {m} is not emulated")

    # --- building updates (what users send) -----------------------------------------------

    @staticmethod
    def user(
        user_id: int, language: str | None = "id", first_name: str | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name or f"User{user_id}",
        }
        if language:
            data["language_code"] = language
        return data

    def message_update(
        self, user: dict[str, Any], *, chat_id: int | None = None, **content: Any
    ) -> dict[str, Any]:
        """An update with a message the user sends (``text=``, ``location=``, …)."""
        chat_id = user["id"] if chat_id is None else chat_id
        message: dict[str, Any] = {
            "message_id": self.next_message_id(chat_id),
            "date": int(time.time()),
            "chat": self.chat(chat_id)
            if chat_id < 0
            else {"id": chat_id, "type": "private", "first_name": user["first_name"]},
            "from": user,
            **content,
        }
        text = content.get("text")
        if isinstance(text, str) and text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        self.messages[(chat_id, message["message_id"])] = StoredMessage(
            chat_id, message["message_id"], message, False
        )
        return {"update_id": self.next_update_id(), "message": message}

    def register_file(self, filename: str, content: bytes) -> str:
        """A file as if a user had uploaded it: returns its file id."""
        file_id = f"D{next(self._file_ids):06d}"
        self.files[file_id] = (filename, content)
        return file_id

    def document_update(
        self,
        user: dict[str, Any],
        filename: str,
        content: bytes,
        mime_type: str = "text/csv",
        caption: str | None = None,
    ) -> dict[str, Any]:
        file_id = f"D{next(self._file_ids):06d}"
        self.files[file_id] = (filename, content)
        document = {
            "file_id": file_id,
            "file_unique_id": "U" + file_id,
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": len(content),
        }
        extra: dict[str, Any] = {"caption": caption} if caption else {}
        return self.message_update(user, document=document, **extra)

    def callback_update(
        self, user: dict[str, Any], message: StoredMessage, data: str
    ) -> dict[str, Any]:
        return {
            "update_id": self.next_update_id(),
            "callback_query": {
                "id": str(self.next_update_id() * 1000 + 7),
                "from": user,
                "chat_instance": str(message.chat_id),
                "message": message.payload,
                "data": data,
            },
        }

    def inline_update(
        self, user: dict[str, Any], query: str, location: tuple[float, float] | None = None
    ) -> dict[str, Any]:
        inline: dict[str, Any] = {
            "id": str(self.next_update_id()),
            "from": user,
            "query": query,
            "offset": "",
        }
        if location is not None:
            inline["location"] = {"latitude": location[0], "longitude": location[1]}
        return {"update_id": self.next_update_id(), "inline_query": inline}

    # --- reading what the bot sent --------------------------------------------------------

    def last_with_buttons(self, chat_id: int) -> StoredMessage | None:
        """The newest bot message in the chat that has a keyboard."""
        candidates = [
            m for (c, _), m in self.messages.items() if c == chat_id and m.from_bot and m.markup
        ]
        return max(candidates, key=lambda m: m.message_id) if candidates else None

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def clear(self) -> None:
        self.calls.clear()


def _requests_private_data(markup: dict[str, Any] | None) -> bool:
    """A reply keyboard with a "share my location" or "share my contact" button."""
    rows = (markup or {}).get("keyboard") or []
    return any(
        isinstance(button, dict)
        and (button.get("request_location") or button.get("request_contact"))
        for row in rows
        for button in row
    )
