"""The HTML pages' shared parts: languages, templates, CSRF, security headers, cookies and
forms (`cookies`, `forms`: what every login and every form does the same way)."""
