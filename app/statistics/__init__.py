"""Indicators for leaders, with disclosure control (contract: "Follow-up for leaders").

- `disclosure`: which cells of one month's table are published (primary and complementary
  suppression, checked by exact linear algebra).
- `release`: how a query over a period is answered from published month tables only, so that
  no query can reveal more than the month tables already do.
- `indicators`: the registry of indicators and the SQL that counts them.
"""
