"""Benchmarks of Gerbang Koperasi (see bench/README.md).

Each benchmark is one command, ``python -m bench.<name>``, that prints a table and writes
``bench/results/<name>.json``; ``python -m bench`` runs them all with their defaults.
Nothing here is imported by the bot or the tests.
"""
