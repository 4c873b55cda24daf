"""Domain rules and queries, one module per resource (concerns, consents, teams, plans, …).

A service takes a session and a caller, applies the access rule (app/security) and writes the
events (app/events) and log facts a change needs; it knows nothing of HTTP.
"""
