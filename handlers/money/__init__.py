"""Members' money: bills (/tagihan), the board's ledger, proofs of payment, receipts and
reminders. ``receipts.py`` is shared: every confirmed payment sends one."""
