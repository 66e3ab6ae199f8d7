"""Retention: crypto-shredding of residents, the retention policy, the shred ledger and
the data-minimisation report (issue 7, item 5)."""
