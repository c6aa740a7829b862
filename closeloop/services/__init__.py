"""Domain services: take the session first and keyword-only arguments after it; never commit."""
