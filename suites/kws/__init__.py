"""Suite kws: model, data and golden artifacts (see suites/README.md)."""
