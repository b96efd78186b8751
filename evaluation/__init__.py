"""Evaluating checkpoints: perplexity, the cloze test, their statistics and the tables, charts and JSON of several checkpoints."""
