"""Chat with the real bot in a terminal: same Application, handlers and storage.

Only the transport differs: :class:`~bot.telegram.localapi.LocalBotApi` answers the Bot API calls
and this module renders them. Script syntax (one line each):
plain text → a message; ``/cmd args`` → a command; ``#loc LAT LON`` → a location;
``#contact PHONE`` → your own contact; ``#tap N`` / ``#tap TEXT`` → press a button of the
newest message that has buttons; ``#as USER_ID [LANG]`` → act as another user;
``#doc PATH`` → send a file; ``#inline QUERY`` → an inline query; ``#sticker``,
``#photo``, ``#voice`` → those kinds of message; ``#help``; ``#quit``.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import re
import shlex
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qs, urlparse

from telegram import Update

from bot.app import Backend, BotApplication, Services, build_application, running
from bot.config import Settings
from bot.services.demo import seed_demo
from bot.telegram.html import html_to_text
from bot.telegram.localapi import Call, LocalBotApi, StoredMessage

HELP = """\
Console syntax:
  text                 send a message            /cmd args       send a command
  #loc LAT LON         share a location          #contact PHONE  share your own contact
  #tap N | #tap TEXT   press a button of the newest message that has buttons
  #as USER_ID [LANG]   act as another user       #doc PATH       send a file (e.g. a CSV)
  #inline QUERY        an inline query           #sticker #voice  other messages
  #photo [PATH] [CAPTION]  a photo (a real one from PATH)
  #help                this help                 #quit           leave (or end of input)"""

_TAGS = re.compile(
    r"</?(b|strong|i|em|u|ins|s|strike|del|code|pre|blockquote|a|span|tg-spoiler)"
    r"(\s[^>]*)?>"
)


class ConsoleInputError(ValueError):
    """A script line the console cannot turn into an update."""


def _buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not markup:
        return []
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    flat = []
    for row in rows:
        for button in row:
            flat.append(button if isinstance(button, dict) else {"text": str(button)})
    return flat


@dataclass
class Renderer:
    """Prints what the bot sends, for people (or as JSON lines with ``json_mode``)."""

    out: TextIO
    files_dir: Path
    json_mode: bool = False
    color: bool = False
    printed: list[str] = field(default_factory=list)

    def on_call(self, call: Call) -> None:
        if self.json_mode:
            self.out.write(json.dumps(call.to_json(), ensure_ascii=False, default=str) + "\n")
            self.out.flush()
            return
        text = self.describe(call)
        if text:
            self.out.write(text + "\n")
            self.out.flush()

    def _html(self, markup: str) -> str:
        if self.color:
            markup = re.sub(r"<(b|strong)>", "\x1b[1m", markup)
            markup = re.sub(r"<(i|em)>", "\x1b[3m", markup)
            markup = re.sub(r"</(b|strong|i|em)>", "\x1b[0m", markup)
        try:
            return html_to_text(markup) if "<" in markup or "&" in markup else markup
        except ValueError:
            return _TAGS.sub("", markup)

    def _keyboard(self, markup: dict[str, Any] | None) -> list[str]:
        if not markup:
            return []
        lines = []
        n = 0
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        reply = "keyboard" in markup
        for row in rows:
            cells = []
            for button in row:
                n += 1
                label = button["text"] if isinstance(button, dict) else str(button)
                cells.append(f"[{n}] {label}")
            lines.append(("   ⌨ " if reply else "     ") + "   ".join(cells))
        if markup.get("remove_keyboard"):
            lines.append("   (keyboard removed)")
        return lines

    def _save(self, call: Call, kind: str) -> str:
        self.files_dir.mkdir(parents=True, exist_ok=True)
        for name, (filename, content) in call.files.items():
            if name == kind or len(call.files) == 1:
                target = (
                    self.files_dir / f"{len(list(self.files_dir.iterdir())) + 1:04d}-"
                    f"{Path(filename).name}"
                )
                target.write_bytes(content)
                return str(target)
        return "(file sent by id)"

    def describe(self, call: Call) -> str:
        p = call.params
        m = call.method
        if call.error:
            return f"bot ✗ {m} refused by Telegram: {call.error}"
        if m == "sendMessage":
            lines = ["bot › " + self._html(p.get("text", "")).replace("\n", "\n      ")]
            lines += self._keyboard(p.get("reply_markup"))
            return "\n".join(lines)
        if m in ("editMessageText", "editMessageCaption", "editMessageReplyMarkup"):
            body = p.get("text") or p.get("caption")
            head = f"bot ✎ (message {p.get('message_id')} edited)"
            lines = [head + (" " + self._html(body).replace("\n", "\n      ") if body else "")]
            lines += self._keyboard(p.get("reply_markup"))
            return "\n".join(lines)
        if m == "editMessageMedia":
            media = p.get("media") or {}
            path = self._save(call, "photo") if call.files else "(same image, sent by id)"
            caption = self._html(media["caption"]) if media.get("caption") else ""
            lines = [
                f"bot ✎ (message {p.get('message_id')} edited) 🖼 photo {path}"
                + (f"\n      {caption}".replace("\n", "\n      ") if caption else "")
            ]
            lines += self._keyboard(p.get("reply_markup"))
            return "\n".join(lines)
        if m == "sendVenue":
            return (
                f"bot 📍 {p.get('title')} — {p.get('address')} "
                f"({p.get('latitude')}, {p.get('longitude')})"
            )
        if m == "sendLocation":
            return f"bot 📍 location ({p.get('latitude')}, {p.get('longitude')})"
        if m in ("sendPhoto", "sendDocument"):
            kind = "photo" if m == "sendPhoto" else "document"
            path = self._save(call, kind)
            caption = self._html(p["caption"]) if p.get("caption") else ""
            icon = "🖼" if kind == "photo" else "📄"
            caption = caption.replace("\n", "\n      ")
            lines = [
                f"bot {icon} {kind} saved to {path}" + (f"\n      {caption}" if caption else "")
            ]
            lines += self._keyboard(p.get("reply_markup"))
            return "\n".join(lines)
        if m == "answerCallbackQuery" and p.get("text"):
            return f"bot 🔔 {p['text']}"
        if m == "answerInlineQuery":
            results = p.get("results") or []
            lines = [f"bot ⤷ {len(results)} inline result(s)"]
            for r in results[:10]:
                lines.append(f"      • {r.get('title')} — {r.get('address') or ''}")
            button = p.get("button")
            if isinstance(button, dict) and button.get("text"):
                lines.append(f"      [{button['text']}]")
            return "\n".join(lines)
        return ""


class Console:
    """Turns script lines into updates and feeds them to the Application."""

    def __init__(
        self,
        app: BotApplication,
        api: LocalBotApi,
        *,
        user_id: int,
        lang: str | None,
        err: TextIO,
    ) -> None:
        self.app = app
        self.api = api
        self.user = LocalBotApi.user(user_id, lang, "Demo")
        self.err = err

    def note(self, text: str) -> None:
        print(text, file=self.err)

    async def feed(self, line: str) -> bool:
        """Handle one line; False when the console should stop."""
        line = line.rstrip("\r\n")
        if not line.strip():
            return True
        try:
            update = self.parse(line)
        except ConsoleInputError as exc:
            self.note(f"console: {exc}")
            return True
        if isinstance(update, str):  # "quit"
            return False
        if update is None:
            return True
        await self.app.process_update(Update.de_json(update, self.app.bot))
        return True

    def parse(self, line: str) -> dict[str, Any] | str | None:
        if not line.startswith("#"):
            return self.api.message_update(self.user, text=line)
        command, _, rest = line[1:].partition(" ")
        rest = rest.strip()
        command = command.lower()
        if command in ("quit", "exit"):
            return "quit"
        if command == "help":
            self.note(HELP)
            return None
        if command == "loc":
            parts = rest.replace(",", " ").split()
            if len(parts) != 2:
                raise ConsoleInputError("usage: #loc LAT LON")
            try:
                lat, lon = float(parts[0]), float(parts[1])
            except ValueError as exc:
                raise ConsoleInputError("usage: #loc LAT LON (numbers)") from exc
            return self.api.message_update(self.user, location={"latitude": lat, "longitude": lon})
        if command == "contact":
            if not rest:
                raise ConsoleInputError("usage: #contact PHONE")
            contact = {
                "phone_number": rest,
                "first_name": self.user["first_name"],
                "user_id": self.user["id"],
            }
            return self.api.message_update(self.user, contact=contact)
        if command == "as":
            parts = rest.split()
            if not parts or not parts[0].lstrip("-").isdigit():
                raise ConsoleInputError("usage: #as USER_ID [LANG]")
            lang = parts[1] if len(parts) > 1 else self.user.get("language_code")
            self.user = LocalBotApi.user(int(parts[0]), lang, f"User{parts[0]}")
            self.note(f"console: now acting as user {parts[0]} ({lang or 'no language'})")
            return None
        if command == "doc":
            if not rest:
                raise ConsoleInputError("usage: #doc PATH")
            path = Path(shlex.split(rest)[0]).expanduser()
            try:
                content = path.read_bytes()
            except OSError as exc:
                raise ConsoleInputError(f"cannot read {path}: {exc.strerror}") from exc
            mime = (
                "text/csv"
                if path.suffix.lower() == ".csv"
                else mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            )
            return self.api.document_update(self.user, path.name, content, mime)
        if command == "inline":
            return self.api.inline_update(self.user, rest)
        if command == "sticker":
            return self.api.message_update(
                self.user,
                sticker={
                    "file_id": "S1",
                    "file_unique_id": "S1",
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "emoji": "😀",
                },
            )
        if command == "photo":
            # "#photo" alone, or "#photo PATH [caption]" to send a real picture.
            parts = rest.split(maxsplit=1) if rest else []
            file_id, caption = "P1", rest or None
            if parts and Path(parts[0]).expanduser().is_file():
                path = Path(parts[0]).expanduser()
                file_id = self.api.register_file(path.name, path.read_bytes())
                caption = parts[1] if len(parts) > 1 else None
            extra: dict[str, Any] = {"caption": caption} if caption else {}
            return self.api.message_update(
                self.user,
                photo=[
                    {
                        "file_id": file_id,
                        "file_unique_id": "U" + file_id,
                        "width": 100,
                        "height": 100,
                    }
                ],
                **extra,
            )
        if command == "voice":
            return self.api.message_update(
                self.user, voice={"file_id": "V1", "file_unique_id": "V1", "duration": 2}
            )
        if command == "tap":
            return self.tap(rest)
        raise ConsoleInputError(f"unknown console command #{command}; #help lists them")

    def tap(self, which: str) -> dict[str, Any] | None:
        message = self.api.last_with_buttons(self.user["id"])
        if message is None:
            raise ConsoleInputError("no message with buttons to tap")
        buttons = _buttons(message.markup)
        button = None
        if which.isdigit():
            index = int(which) - 1
            if not 0 <= index < len(buttons):
                raise ConsoleInputError(f"there is no button {which} (1-{len(buttons)})")
            button = buttons[index]
        else:
            needle = which.casefold()
            for candidate in buttons:
                if needle and needle in candidate.get("text", "").casefold():
                    button = candidate
                    break
            if button is None:
                raise ConsoleInputError(f"no button contains “{which}”")
        return self._press(message, button)

    def _press(self, message: StoredMessage, button: dict[str, Any]) -> dict[str, Any] | None:
        if "callback_data" in button:
            return self.api.callback_update(self.user, message, button["callback_data"])
        if "url" in button:
            url = urlparse(button["url"])
            username = self.api.bot_user["username"]
            if url.netloc == "t.me" and url.path.strip("/") == username:
                start = parse_qs(url.query).get("start", [""])[0]
                return self.api.message_update(self.user, text=f"/start {start}".strip())
            self.note(f"console: the button opens {button['url']}")
            return None
        if "copy_text" in button:
            self.note(f"console: copied to the clipboard: {button['copy_text']['text']}")
            return None
        if "switch_inline_query_current_chat" in button:
            return self.api.inline_update(self.user, button["switch_inline_query_current_chat"])
        if button.get("request_location"):
            self.note("console: share a location with #loc LAT LON")
            return None
        if button.get("request_contact"):
            self.note("console: share your contact with #contact PHONE")
            return None
        return self.api.message_update(self.user, text=button["text"])


async def _read_lines(stdin: TextIO, interactive: bool):  # type: ignore[no-untyped-def]
    if interactive:
        while True:
            try:
                line = await asyncio.to_thread(input, "you › ")
            except EOFError:
                return
            yield line
    else:
        for line in stdin:
            yield line


async def run_console(
    app: BotApplication,
    api: LocalBotApi,
    *,
    user_id: int,
    lang: str | None,
    json_mode: bool,
    files_dir: Path,
    stdin: TextIO,
    stdout: TextIO,
    stderr: TextIO,
    before: Callable[[Services], Awaitable[None]] | None = None,
) -> None:
    """Run the console on ``app`` until end of input or ``#quit``."""
    interactive = stdin.isatty() and not json_mode
    renderer = Renderer(
        stdout, files_dir, json_mode=json_mode, color=interactive and stdout.isatty()
    )
    api.listeners.append(renderer.on_call)
    console = Console(app, api, user_id=user_id, lang=lang, err=stderr)
    async with running(app):
        services = app.bot_data.services
        assert services is not None
        if before is not None:
            await before(services)
        if interactive:
            print(
                "Gerbang Koperasi — console chat (no Telegram needed). Try /start, "
                "share a location with #loc 3.5952 98.6722, or type “ksp di Medan "
                "Baru”. #help lists the syntax, Ctrl-D leaves.",
                file=stdout,
            )
        async for line in _read_lines(stdin, interactive):
            if not await console.feed(line):
                break
        engine = services.broadcast.engine
        if engine is not None and not interactive:
            await engine.idle(timeout=120)  # a script ends after its announcements went out


async def console_session(
    settings: Settings,
    mongodb_uri: str,
    *,
    user_id: int = 10001,
    lang: str | None = "id",
    json_mode: bool = False,
    demo: bool = True,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> None:
    """``python -m bot console`` on the database at ``mongodb_uri`` (tests call it as is,
    with a script as ``stdin``). With ``demo``, an empty directory first gets the synthetic
    demo cooperatives. The streams default to the process's (read when called).
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    err = stderr or sys.stderr
    api = LocalBotApi()
    app = build_application(settings, Backend.connect(settings, mongodb_uri), request=api)

    async def seed_if_empty(services: Services) -> None:
        if not demo or await services.directory.count() > 0:
            return
        result = await seed_demo(
            services.importer, services.directory.coops, services.gazetteer, board=services.board
        )
        print(
            f"Loaded demo data: {result.report.imported} synthetic cooperatives (names end in "
            "“(Demo)”) in Medan, Sleman, Jakarta, Makassar and Kupang.",
            file=err,
        )

    await run_console(
        app,
        api,
        user_id=user_id,
        lang=lang,
        json_mode=json_mode,
        files_dir=settings.data_dir / "console",
        stdin=stdin,
        stdout=stdout,
        stderr=err,
        before=seed_if_empty,
    )
