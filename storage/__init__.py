"""Storage: repositories over PyMongo's async API. Never imports telegram, handlers or bot."""
