"""Domain logic, data access and settings shared by the intake, routing and reporting services."""
