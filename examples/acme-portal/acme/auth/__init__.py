"""Authentication: the legacy LDAP helper (being retired) and the new SSO module."""
