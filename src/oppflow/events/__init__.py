"""Events and webhooks: the transactional outbox, the feed, subscriptions and their delivery."""
