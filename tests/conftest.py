"""Shared fixtures live in their own modules, one per real service they start."""

pytest_plugins = ["tests.fixtures_db", "tests.fixtures_http", "tests.web_fixtures", "tests.browser_fixtures"]
