import unittest

from acme.api.tokens import issue_token, token_owner


class TokenTest(unittest.TestCase):
    def test_token_for_valid_credentials(self) -> None:
        self.assertEqual(token_owner(issue_token("carol", "singing")), "carol")

    def test_bad_credentials(self) -> None:
        with self.assertRaises(PermissionError):
            issue_token("carol", "wrong")
