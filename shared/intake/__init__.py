"""The intake service (services/intake): complaints in by the JSON API, the citizen pages, SMS webhooks and mail,
archived raw and filed (shared/core/filing.py), with tracking numbers and progress for the complainant."""
