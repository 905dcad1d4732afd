# SPDX-License-Identifier: Apache-2.0
"""TLS with a private CA and a client certificate (mutual TLS) against a real `aimass run`."""

from __future__ import annotations

import os
import shutil
import unittest

from aimass_client import AimassError, Client

from .live_server import TRAIN, AimassServer, make_certificates

SERVE_TLS = TRAIN + """  web:
    type: frontend.http
    host: 127.0.0.1
    port: 0
    tls_certificate: server.crt
    tls_private_key: server.key
    tls_client_ca: ca.crt
"""


# scripts/install-deps.sh installs openssl: under AIMASS_REQUIRE_ALL=1 (scripts/test.sh) a missing
# one fails the suite instead of skipping it.
@unittest.skipIf(
    shutil.which("openssl") is None and os.environ.get("AIMASS_REQUIRE_ALL") != "1",
    "no openssl command to make certificates",
)
class MutualTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.server = AimassServer(SERVE_TLS, "https", make_certificates)
        cls.dir = cls.server.dir

    @classmethod
    def tearDownClass(cls) -> None:
        code = cls.server.stop()
        assert code == 0, f"aimass exited {code}: {''.join(cls.server.log)}"

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def test_client_certificate_and_ca(self) -> None:
        with Client(self.server.url, ca_file=self.path("ca.crt"), cert_file=self.path("client.crt"),
                    key_file=self.path("client.key"), use_numpy=False) as client:
            self.assertTrue(client.ready())
            result = client.infer("pump_state", {"input": [[0.5, 0.1, -0.2, 1.0]]})
            self.assertEqual(result.outputs["probabilities"].shape, [1, 3])
            self.assertEqual([m.model for m in client.list_models()], ["pump_state"])

    def test_without_a_client_certificate_the_handshake_fails(self) -> None:
        with Client(self.server.url, ca_file=self.path("ca.crt")) as client:
            with self.assertRaises(AimassError) as caught:
                client.server_metadata()
        self.assertIsNone(caught.exception.status)

    def test_an_unknown_ca_is_refused(self) -> None:
        with Client(self.server.url, cert_file=self.path("client.crt"),
                    key_file=self.path("client.key")) as client:
            with self.assertRaises(AimassError) as caught:
                client.live()
        self.assertIsNone(caught.exception.status)
        self.assertIn("CERTIFICATE_VERIFY_FAILED", caught.exception.message)


if __name__ == "__main__":
    unittest.main()
