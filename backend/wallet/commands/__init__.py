"""The one front door of money commands: who acts (`Actor`) and the runner that
validates, claims the idempotency key, checks policy before any write, runs the
domain's change, remembers the response and emits its events (`run`)."""
