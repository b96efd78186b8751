"""Hugging Face datasets: prepare.py (the script) and corpus.py (rows -> raw files -> prepared data)."""
