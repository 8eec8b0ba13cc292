"""Hostile-input suites (issue 6): the web corpus and the authentication behaviour figures."""
