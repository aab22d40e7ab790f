"""Worked examples that the command line can run (``rnnlens example NAME``)."""
