"""The routing service (services/routing): routing complaints to departments, the case workflow under legal
deadlines and its staff API and console, staff accounts, confidentiality, operator entry, reminders and
escalation, notifications by SMS and mail, the outbox, and publication of typical cases."""
