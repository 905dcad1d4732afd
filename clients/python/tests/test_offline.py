# SPDX-License-Identifier: Apache-2.0
"""Encoding, decoding, retries, timeouts and auth headers, against tiny local servers."""

from __future__ import annotations

import json
import struct
import time
import unittest

from aimass_client import (AimassError, AimassTimeoutError, Client, Job, JobQueue, RetryPolicy,
                           Tensor, tensors)
from aimass_client.jobs import job_request
from aimass_client.types import Run
from aimass_client.transport import Response

from .live_server import LocalServer, answer

FAST = RetryPolicy(retries=3, backoff=0.001)


class Encoding(unittest.TestCase):
    def test_binary_fp32_request_is_the_documented_bytes(self) -> None:
        # docs/rest-api.md's example: FP32 [1, 2] of 5.1 and 3.5, 8 bytes after the JSON header.
        body, headers = Client("http://h", use_numpy=False).build_request(
            [Tensor("input", [[5.1, 3.5]], "FP32")], outputs=None)
        n = int(headers["Inference-Header-Content-Length"])
        self.assertEqual(headers["Content-Type"], "application/octet-stream")
        self.assertEqual(json.loads(body[:n]), {
            "inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 2],
                        "parameters": {"binary_data_size": 8}}],
            "parameters": {"binary_data_output": True}})
        self.assertEqual(body[n:], struct.pack("<2f", 5.1, 3.5))

    def test_json_request_with_bytes_outputs_and_id(self) -> None:
        body, headers = Client("http://h", use_numpy=False).build_request(
            [Tensor("text", ["a", b"b"]), Tensor("n", [1, 2], "INT32")], outputs=["class"],
            request_id="r7", binary=False)
        self.assertNotIn("Inference-Header-Content-Length", headers)
        self.assertEqual(json.loads(body), {
            "id": "r7",
            "inputs": [{"name": "text", "datatype": "BYTES", "shape": [2], "data": ["a", "b"]},
                       {"name": "n", "datatype": "INT32", "shape": [2], "data": [1, 2]}],
            "outputs": [{"name": "class", "parameters": {"binary_data": False}}]})

    def test_json_nan_is_null_and_what_json_cannot_carry_is_refused(self) -> None:
        client = Client("http://h", use_numpy=False)
        body, _ = client.build_request([Tensor("x", [1.5, float("nan")], "FP32")], binary=False)
        self.assertEqual(json.loads(body)["inputs"][0]["data"], [1.5, None])
        with self.assertRaisesRegex(AimassError, "input 'x': BYTES element 1 is not UTF-8"):
            client.build_request([Tensor("x", [b"a", b"\xff"])], binary=False)
        with self.assertRaisesRegex(AimassError, "infinite value"):
            client.build_request([Tensor("x", [float("inf")], "FP32")], binary=False)

    def test_guessed_datatypes_and_shapes(self) -> None:
        self.assertEqual(tensors.normalize(Tensor("x", [[1, 2], [3, 4]]))[:2], ("INT64", [2, 2]))
        self.assertEqual(tensors.normalize(Tensor("x", [1.5, 2]))[:2], ("FP32", [2]))
        self.assertEqual(tensors.normalize(Tensor("x", [True, False]))[:2], ("BOOL", [2]))

    def test_bad_inputs_name_the_input(self) -> None:
        with self.assertRaisesRegex(AimassError, "input 'x': ragged nested list"):
            tensors.normalize(Tensor("x", [[1, 2], [3]]))
        with self.assertRaisesRegex(AimassError, r"input 'x': shape \[3\] needs 3 elements"):
            tensors.normalize(Tensor("x", [1, 2], shape=[3]))
        with self.assertRaisesRegex(AimassError, "input 'x': unknown datatype 'FP8'"):
            tensors.normalize(Tensor("x", [1], "FP8"))
        with self.assertRaisesRegex(AimassError, "input 'x': a value is not INT8"):
            tensors.encode_input(Tensor("x", [300], "INT8"), binary=True)

    def test_binary_answer_decodes_every_kind(self) -> None:
        header = {"model_name": "m", "model_version": "2", "id": "q", "outputs": [
            {"name": "a", "datatype": "INT32", "shape": [2], "parameters": {"binary_data_size": 8}},
            {"name": "b", "datatype": "BYTES", "shape": [2],
             "parameters": {"binary_data_size": 11}},
            {"name": "c", "datatype": "FP64", "shape": [1], "data": [0.25]},
            {"name": "d", "datatype": "BF16", "shape": [1], "parameters": {"binary_data_size": 2}},
            {"name": "e", "datatype": "BOOL", "shape": [2], "parameters": {"binary_data_size": 2}}]}
        head = json.dumps(header).encode()
        # BF16 0x3FC0 is 1.5 (the high half of FP32 0x3FC00000).
        tail = (struct.pack("<2i", -3, 7) + struct.pack("<I", 2) + b"hi" + struct.pack("<I", 1)
                + b"\xff" + b"\xc0\x3f" + b"\x01\x00")
        response = Response(200, {"inference-header-content-length": str(len(head))}, head + tail)
        result = Client("http://h", use_numpy=False).parse_response(response)
        self.assertEqual((result.model_name, result.model_version, result.id), ("m", "2", "q"))
        self.assertEqual(result["a"], [-3, 7])
        self.assertEqual(result["b"], ["hi", b"\xff"])  # invalid UTF-8 stays bytes
        self.assertEqual(result["c"], [0.25])
        self.assertEqual(result["d"], [1.5])
        self.assertEqual(result["e"], [True, False])
        self.assertTrue(result.outputs["a"].binary)
        self.assertFalse(result.outputs["c"].binary)
        with self.assertRaisesRegex(KeyError, "no output 'z'"):
            result["z"]

    def test_truncated_binary_answer_is_an_error(self) -> None:
        head = json.dumps({"outputs": [{"name": "a", "datatype": "FP32", "shape": [2],
                                        "parameters": {"binary_data_size": 8}}]}).encode()
        response = Response(200, {"inference-header-content-length": str(len(head))},
                            head + b"\0" * 4)
        with self.assertRaisesRegex(AimassError, "output 'a': binary_data_size 8 runs past"):
            Client("http://h", use_numpy=False).parse_response(response)

    def test_bad_options(self) -> None:
        with self.assertRaisesRegex(AimassError, "scheme must be http or https"):
            Client("ftp://h")
        with self.assertRaisesRegex(AimassError, "api_key or token, not both"):
            Client("http://h", api_key="k", token="t")
        with self.assertRaisesRegex(AimassError, "need an https:// base_url"):
            Client("http://h", ca_file="/ca.pem")


class Records(unittest.TestCase):
    def test_a_running_run_has_no_end(self) -> None:
        running = Run.of({"id": 3, "experiment": "e", "status": "running", "start_unix_ms": 5,
                          "end_unix_ms": None, "params": {}, "metrics": {}})
        self.assertIsNone(running.end_unix_ms)
        ended = Run.of({"id": 4, "status": "finished", "start_unix_ms": 5, "end_unix_ms": 9})
        self.assertEqual(ended.end_unix_ms, 9)


class Retries(unittest.TestCase):
    def setUp(self) -> None:
        self.calls = 0

        def handle(handler) -> None:
            self.calls += 1
            if self.calls <= 2:
                answer(handler, 503, b'{"error": "model \'m\' is not ready"}')
            else:
                answer(handler, 200, b'{"name": "aimass", "version": "x", "extensions": []}')

        self.server = LocalServer(handle)

    def tearDown(self) -> None:
        self.server.close()

    def test_get_is_retried_on_503_then_succeeds(self) -> None:
        with Client(self.server.url, retry=FAST) as client:
            self.assertEqual(client.server_metadata()["name"], "aimass")
        self.assertEqual(self.calls, 3)

    def test_too_few_retries_give_the_503(self) -> None:
        with Client(self.server.url, retry=RetryPolicy(retries=1, backoff=0.001)) as client:
            with self.assertRaises(AimassError) as caught:
                client.server_metadata()
        self.assertEqual(caught.exception.status, 503)
        self.assertEqual(caught.exception.message, "model 'm' is not ready")
        self.assertEqual(caught.exception.body, {"error": "model 'm' is not ready"})
        self.assertEqual(self.calls, 2)

    def test_infer_is_not_retried(self) -> None:
        with Client(self.server.url, retry=FAST, use_numpy=False) as client:
            with self.assertRaises(AimassError) as caught:
                client.infer("m", [Tensor("x", [1.0])])
        self.assertEqual(caught.exception.status, 503)
        self.assertEqual(self.calls, 1)

    def test_health_probes_are_not_retried(self) -> None:
        with Client(self.server.url, retry=FAST) as client:
            self.assertFalse(client.ready())
        self.assertEqual(self.calls, 1)

    def test_keep_alive_reuses_one_connection(self) -> None:
        with Client(self.server.url, retry=FAST) as client:
            client.server_metadata()
            sock = client._transport._conn.sock
            client.server_metadata()
            self.assertIs(client._transport._conn.sock, sock)
            client.close()  # a closed connection is opened again on the next call
            client.server_metadata()


class Reconnect(unittest.TestCase):
    def test_a_connection_the_server_dropped_is_reopened_once(self) -> None:
        def handle(handler) -> None:
            answer(handler, 200, b'{"name": "aimass"}')
            handler.close_connection = True  # drops it without saying Connection: close

        server = LocalServer(handle)
        try:
            with Client(server.url, use_numpy=False) as client:
                for _ in range(3):
                    self.assertEqual(client.server_metadata()["name"], "aimass")
                    time.sleep(0.05)  # lets the server close the socket first
            self.assertEqual(len(server.requests), 3)  # each sent once, on a new connection
        finally:
            server.close()


class TimeoutsAndAuth(unittest.TestCase):
    def test_timeout(self) -> None:
        server = LocalServer(lambda h: answer(h, 200, b"{}", delay_s=1.0))
        try:
            with Client(server.url, timeout=0.2) as client:
                with self.assertRaises(AimassTimeoutError) as caught:
                    client.server_metadata()
            self.assertIsNone(caught.exception.status)
        finally:
            server.close()

    def test_credentials_are_sent(self) -> None:
        server = LocalServer(lambda h: answer(h, 200, b"{}"))
        try:
            with Client(server.url, api_key="k1") as client:
                client.server_metadata()
            with Client(server.url, token="jwt.x.y") as client:
                client.server_metadata()
            self.assertEqual(server.requests[0][2].get("X-API-Key"), "k1")
            self.assertNotIn("Authorization", server.requests[0][2])
            self.assertEqual(server.requests[1][2].get("Authorization"), "Bearer jwt.x.y")
        finally:
            server.close()

    def test_connection_refused_is_an_aimass_error(self) -> None:
        server = LocalServer(lambda h: answer(h, 200, b"{}"))
        url = server.url
        server.close()
        with self.assertRaises(AimassError) as caught:
            Client(url).live()
        self.assertIsNone(caught.exception.status)
        self.assertIn("cannot reach 127.0.0.1", caught.exception.message)


if __name__ == "__main__":
    unittest.main()


class JobTypes(unittest.TestCase):
    QUEUED = {"id": 4, "state": "queued", "queue": "a", "owner": "ann", "priority": 2,
              "resources": {"threads": 1, "memory_bytes": 1024, "gpus": 0},
              "preemptible": True, "config_name": "j.yaml", "reason": "", "attempts": 0,
              "submitted_unix_ms": 1700000000000, "started_unix_ms": None,
              "finished_unix_ms": None, "cancel_requested": False, "worker_pid": 0, "runs": []}

    def test_a_queued_job_has_no_start_or_end(self) -> None:
        job = Job.of(self.QUEUED)
        self.assertEqual((job.id, job.owner, job.resources.memory_bytes), (4, "ann", 1024))
        self.assertEqual(job.submitted_unix_ms, 1700000000000)
        self.assertIsNone(job.started_unix_ms)
        self.assertFalse(job.ended)
        self.assertIs(job.raw, self.QUEUED)
        # An answer without the later members reads as a job of one rank, submitted directly.
        self.assertEqual((job.ranks, job.external_id, job.schedule_id), (1, "", None))
        slurm = Job.of({**self.QUEUED, "ranks": 2, "external_id": "4242", "schedule_id": 7})
        self.assertEqual((slurm.ranks, slurm.external_id, slurm.schedule_id), (2, "4242", 7))

    def test_a_queue_without_a_borrowing_limit(self) -> None:
        r = {"threads": 1, "memory_bytes": 2, "gpus": 0}
        queue = JobQueue.of({"name": "a", "cohort": "lab", "ordering": "priority", "nominal": r,
                             "borrowing_limit": None, "max_running": 0, "used": r,
                             "waiting": 3, "running": 1})
        self.assertIsNone(queue.borrowing_limit)
        self.assertEqual((queue.cohort, queue.waiting, queue.nominal.memory_bytes), ("lab", 3, 2))

    def test_job_request_sends_only_what_is_given_and_checks_types(self) -> None:
        self.assertEqual(job_request("nodes: {}\n", queue="a", memory=512, preemptible=False),
                         {"config": "nodes: {}\n", "queue": "a", "memory": 512,
                          "preemptible": False})
        self.assertEqual(job_request("nodes: {}\n", ranks=2), {"config": "nodes: {}\n", "ranks": 2})
        for bad in ({"priority": True}, {"memory": 1.5}, {"queue": 3}, {"gpus": "1"},
                    {"ranks": True}):
            with self.assertRaises(AimassError) as error:
                job_request("nodes: {}\n", **bad)  # type: ignore[arg-type]
            self.assertIsNone(error.exception.status)
            self.assertIn(next(iter(bad)), error.exception.message)
        with self.assertRaises(AimassError):
            job_request(b"nodes: {}")  # type: ignore[arg-type]
