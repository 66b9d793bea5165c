"""The bad-input corpus (issue 8): malformed files of every feed, each with its outcome.

``cases.py`` declares the cases; ``make.py`` builds their bytes (generated, never
committed); ``tests/test_corpus.py`` runs every case through the real ingest path.
"""
