"""Analyses built on scoring (they sit after ``api``: they score through a :class:`~mpeil.api.Scorer`)."""
