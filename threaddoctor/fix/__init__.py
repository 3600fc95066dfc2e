"""Repairs: plan (dry run), apply in one transaction with a backup and a journal, undo."""
