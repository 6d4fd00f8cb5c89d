"""Domain services: no Telegram types, no Update; storage below, handlers above."""
