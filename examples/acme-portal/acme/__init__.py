"""acme-portal: web login, token API, admin CLI and audit reports for ACME staff."""
