"""The hostile-input corpus of issue 10 (see corpus.py)."""
