"""The access log: every read, write and denial, hash-chained, in a Merkle tree, signed and provable.

- entries, journal, group_commit: the entries a request writes, committed with its transaction.
- sequencer, chain: their place in the hash chain (`seq`, `prev_hash`, `hash`).
- merkle, tree_store, tree_heads, tree_verify, proofs: the RFC 9162 tree, its signed heads, and
  inclusion and consistency proofs.
- checkpoints, verify, witness: signed checkpoints, verifying the whole chain, an outside witness.
- queries, log_filters, reports: reading the log (auditors' filters, a child's access report).
- extract: the family's signed extract. purpose: the coded purpose of use.
- review, reviews: the log review (a reproducible sample and its rules) and documented reviews.
- aggregation: repeated identical anonymous denials as one entry with a count.
"""
