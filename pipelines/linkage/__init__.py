"""Probabilistic record linkage (CONTRACT section 4, rule 2) with Splink on DuckDB.

``features`` turns people's details into the columns the model compares, ``model`` is
the one readable declaration of the model (comparisons, blocking rules) with its trained
parameters in ``model.json``, ``scoring`` scores records against a register, and
``training`` re-estimates the parameters (``iom-hub linkage-train``).
"""
