"""What more than one service needs: settings, AWS clients, data access (`dal/`), models, messages, errors,
observability, text and identity checks, HTTP helpers, batches, reference data, staff tokens, filing a complaint,
quarantine, uploads, rate limits, the campaign, pages, SMS wording and notice requests, published typical cases,
the classifier, and one way to change a case. It imports no service package."""
