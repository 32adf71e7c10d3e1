import unittest

from acme.web.views import confirm_password, login


class LoginTest(unittest.TestCase):
    def test_valid_credentials_start_a_session(self) -> None:
        session = login({"username": "alice", "password": "wonderland"})
        self.assertIsNotNone(session)
        assert session is not None
        self.assertEqual(session.user.display_name, "Alice Martin")

    def test_wrong_password_is_refused(self) -> None:
        self.assertIsNone(login({"username": "alice", "password": "nope"}))

    def test_confirm_password(self) -> None:
        session = login({"username": "bob", "password": "builder"})
        assert session is not None
        self.assertTrue(confirm_password(session, "builder"))
        self.assertFalse(confirm_password(session, "hammer"))
