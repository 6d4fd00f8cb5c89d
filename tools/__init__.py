"""Developer tools (not shipped with the bot)."""
