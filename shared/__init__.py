"""The logic of the three services, one package each (`intake`, `routing`, `reporting`, named as `services/<name>/`),
and the `core` they share: settings, AWS clients, data access, models, messages and the rules more than one of them
needs. The service packages never import each other; `core` imports none of them (import-linter, pyproject.toml).
The whole package is vendored into every Lambda function, with its data files (`data/`) and page templates
(`templates/`)."""
