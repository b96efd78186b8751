"""Europarl v7: prepare.py (the script) and pairs.py (its pairs with English, and their join on English)."""
