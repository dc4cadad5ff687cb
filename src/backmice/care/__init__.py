"""Care: the diagnostic injection test, the stepped pathway, follow-up and outcomes."""
