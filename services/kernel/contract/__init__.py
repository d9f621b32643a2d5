"""Public contract v1 (docs/CONTRACT.md) and the vocabulary every service shares.

A report's way in: jsontext.py reads raw JSON (`parse_json`); vocabulary.py (report types,
owners, closed value lists, limits), payloads.py (the typed payload of each report type) and
characters.py (which characters text may hold) are standard library only; messages.py words
each rule in both languages; bounds.py checks a report's size and depth before anything reads
it; lookups.py, fields.py and schemas.py say what a report must look like (marshmallow);
report.py holds `Report` and `validate_report`. The other modules (errors, ids, calendar,
jurisdiction, wire, ...) say what they are for in their docstrings.

Nothing is re-exported here, so importing a standard-library module of this package never loads
marshmallow.
"""
