"""Adapters to the Telegram Bot API: what the handlers and services need not know.

- ``html``: Telegram's HTML parse mode (visible text, the rules it enforces).
- ``processing``: per-user ordered concurrency and the flood guard for live delivery.
- ``sender``: the broadcast engine's senders and the one mapping of Bot API errors.
- ``limits``: what Telegram refuses (lengths, HTML, keyboards).
- ``localapi``: a local stand-in for the Bot API (console chat and tests only;
  production code never imports it); ``localserver`` serves it over HTTP.
"""
