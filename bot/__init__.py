"""Gerbang Koperasi: the Telegram gateway to Indonesia's cooperatives."""
