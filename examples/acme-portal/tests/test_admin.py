import unittest

from acme import directory
from acme.admin.cli import grant
from acme.reports.audit import group_members


class GrantTest(unittest.TestCase):
    def test_admin_grants_a_group(self) -> None:
        grant("alice", "wonderland", "bob", "finance")
        self.assertIn("bob", group_members("finance"))
        name, groups, digest = directory.STAFF["bob"]
        directory.STAFF["bob"] = (name, groups - {"finance"}, digest)

    def test_non_admin_is_refused(self) -> None:
        with self.assertRaises(PermissionError):
            grant("bob", "builder", "bob", "admins")
