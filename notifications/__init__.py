"""Notification channels (email, webhook, in-app), delivery, and letter and message templates."""
