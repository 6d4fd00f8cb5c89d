"""The Bot API stand-in refuses what Telegram refuses, so tests catch it."""

from __future__ import annotations

import pytest

from bot.telegram.html import TelegramLimitError, html_to_text
from bot.telegram.limits import check_markup, check_text


class TestHtml:
    @pytest.mark.parametrize(
        "markup",
        [
            "<b>x</b>",
            "a &amp; b &lt;c&gt;",
            "<i><b>x</b></i>",
            '<a href="https://t.me/x">x</a>',
            "it&#x27;s",
            "<code>1 &lt; 2</code>",
            "<tg-spoiler>s</tg-spoiler>",
        ],
    )
    def test_valid(self, markup: str) -> None:
        html_to_text(markup)

    @pytest.mark.parametrize(
        "markup",
        [
            "<b>x",
            "x</b>",
            "<b><i>x</b></i>",
            "a & b",
            "<script>",
            "1 < 2",
            "<foo>x</foo>",
            "a > b",
            "&nbsp;",
        ],
    )
    def test_invalid(self, markup: str) -> None:
        with pytest.raises(TelegramLimitError):
            html_to_text(markup)

    def test_length_counts_visible_utf16(self) -> None:
        check_text("<b>" + "a" * 4096 + "</b>", "HTML", limit=4096, what="text")
        with pytest.raises(TelegramLimitError):
            check_text("😀" * 2049, None, limit=4096, what="text")
        with pytest.raises(TelegramLimitError):
            check_text("<b> </b>", "HTML", limit=4096, what="text")


class TestMarkup:
    def test_callback_data_limits(self) -> None:
        check_markup({"inline_keyboard": [[{"text": "a", "callback_data": "x" * 64}]]})
        for data in ("", "x" * 65, "é" * 33):
            with pytest.raises(TelegramLimitError):
                check_markup({"inline_keyboard": [[{"text": "a", "callback_data": data}]]})

    def test_one_action_and_text(self) -> None:
        with pytest.raises(TelegramLimitError):
            check_markup({"inline_keyboard": [[{"text": "a"}]]})
        with pytest.raises(TelegramLimitError):
            check_markup({"inline_keyboard": [[{"text": " ", "callback_data": "x"}]]})
        with pytest.raises(TelegramLimitError):
            check_markup({"inline_keyboard": [[{"text": "a", "url": "javascript:alert(1)"}]]})
