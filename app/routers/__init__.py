"""The JSON API's routes, one module per resource: thin HTTP around app/services and app/audit.

A route declares what it needs (caller and scopes, loaders, named dependencies from
app/http/deps.py), calls a service, and shapes the response; it builds no SQL. `responses`
holds the shared router and problem declarations, `strict_query` refuses unknown query parameters.
"""
