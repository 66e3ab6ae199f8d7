"""The HTML pages' shared parts: languages, templates, CSRF, security headers, page sessions."""
