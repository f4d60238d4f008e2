"""Suite ad: model, data and golden artifacts (see suites/README.md)."""
