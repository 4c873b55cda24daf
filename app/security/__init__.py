"""Who the caller is and what it may do.

- keys, tokens, secrets, scopes, caller, client_status, admin: signing keys, access tokens,
  client secrets, scopes and the authenticated caller.
- access: the access rule, as SQL inside every read and list; records: loading a record through
  it and "may the caller change this?"; reasons: reasons that stay with their writer.
- rate_limit (in the process), rate_limit_store (in the database, across processes and hosts),
  login_throttle, anonymous: limits on callers, token requests and anonymous floods.
- identifiers: Swedish personal identity and organisation numbers (Luhn-checked).
"""
