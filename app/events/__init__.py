"""Events: the outbox written with every change, the pull feed, and signed webhooks."""
