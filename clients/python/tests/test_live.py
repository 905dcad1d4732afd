# SPDX-License-Identifier: Apache-2.0
"""The client against a real `aimass run` (AIMASS_EXECUTABLE): pump_state, a softmax classifier
of 4 FP32 features into 3 classes, trained twice into a SQLite store (versions 1 and 2, runs 1
and 2, dataset pumps) and served by frontend.http."""

from __future__ import annotations

import asyncio
import os
import struct
import subprocess
import sys
import unittest
from typing import Optional

from aimass_client import AimassError, AsyncClient, Client, Tensor, tensors

from .live_server import AimassServer

ROWS = [[-1.76, -0.42, 1.65, -3.06], [2.31, -0.67, -0.05, 1.19]]  # pumps.csv rows 1 and 2
SERVER: Optional[AimassServer] = None


def setUpModule() -> None:
    global SERVER
    SERVER = AimassServer()


def tearDownModule() -> None:
    assert SERVER is not None
    code = SERVER.stop()
    assert code == 0, f"aimass exited {code}: {''.join(SERVER.log)}"


def fp32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


class Live(unittest.TestCase):
    def setUp(self) -> None:
        assert SERVER is not None
        self.client = Client(SERVER.url, use_numpy=False)

    def tearDown(self) -> None:
        self.client.close()

    def check_answer(self, result, rows: int = 2) -> None:
        """Each row's probabilities sum to 1, label is their argmax, class its name."""
        names = ["failing", "healthy", "worn"]
        probabilities = list(result["probabilities"])
        self.assertEqual(result.outputs["probabilities"].shape, [rows, 3])
        for r in range(rows):
            p = probabilities[3 * r:3 * r + 3]
            self.assertAlmostEqual(sum(p), 1.0, places=5)
            self.assertEqual(result["label"][r], p.index(max(p)))
            self.assertEqual(result["class"][r], names[result["label"][r]])

    def test_health_and_metadata(self) -> None:
        self.assertTrue(self.client.live())
        self.assertTrue(self.client.ready())
        self.assertTrue(self.client.model_ready("pump_state"))
        self.assertFalse(self.client.model_ready("nope"))
        self.assertIn("binary_tensor_data", self.client.server_metadata()["extensions"])
        meta = self.client.model_metadata("pump_state")
        self.assertEqual(meta["inputs"], [{"name": "input", "datatype": "FP32",
                                           "shape": [-1, 4]}])
        self.assertEqual(meta["parameters"]["class_names"], ["failing", "healthy", "worn"])

    def test_binary_and_json_infer_agree(self) -> None:
        binary = self.client.infer("pump_state", {"input": ROWS}, request_id="b1")
        self.assertEqual(binary.id, "b1")
        self.assertEqual(binary.model_name, "pump_state")
        self.assertEqual([o.binary for o in binary.outputs.values()], [True, True, True])
        self.check_answer(binary)
        plain = self.client.infer("pump_state", {"input": ROWS}, binary=False)
        self.assertIsNone(plain.id)
        self.assertEqual([o.binary for o in plain.outputs.values()], [False, False, False])
        self.assertEqual([fp32(v) for v in plain["probabilities"]], binary["probabilities"])
        self.assertEqual(plain["label"], binary["label"])
        self.assertEqual(plain["class"], binary["class"])

    def test_outputs_selection_and_order(self) -> None:
        for binary in (True, False):
            result = self.client.infer("pump_state", {"input": ROWS[:1]},
                                       outputs=["class", "label"], binary=binary)
            self.assertEqual(list(result.outputs), ["class", "label"])
            self.assertEqual(result.outputs["label"].binary, binary)
            self.assertEqual(result.outputs["label"].shape, [1])

    def test_integer_tensor_converts_exactly(self) -> None:
        result = self.client.infer("pump_state", [Tensor("input", [[1, 0, -2, 3]], "INT32")])
        self.assertEqual(len(result["label"]), 1)

    def test_numpy_in_and_out(self) -> None:
        if not tensors.HAVE_NUMPY:
            if os.environ.get("AIMASS_REQUIRE_ALL") == "1" and not os.environ.get(
                "AIMASS_CLIENT_NO_NUMPY"
            ):
                self.fail("numpy is not installed (python3-numpy; scripts/install-deps.sh installs it)")
            self.skipTest("numpy is not available (or AIMASS_CLIENT_NO_NUMPY is set)")
        np = tensors.np
        with Client(SERVER.url) as client:  # type: ignore[union-attr]
            for binary in (True, False):
                result = client.infer("pump_state", {"input": np.array(ROWS)}, binary=binary)
                self.assertIsInstance(result["probabilities"], np.ndarray)
                self.assertEqual(result["probabilities"].dtype, np.float32)
                self.assertEqual(result["probabilities"].shape, (2, 3))
                self.assertEqual(result["label"].dtype, np.int64)
                self.assertEqual(result["label"].tolist(),
                                 result["probabilities"].argmax(axis=1).tolist())
                self.assertEqual(result["label"].shape, (2,))
                lists = self.client.infer("pump_state", {"input": ROWS})
                self.assertEqual(result["probabilities"].reshape(-1).tolist(),
                                 lists["probabilities"])
                self.assertEqual(result["class"], lists["class"])

    def test_errors_carry_status_and_message(self) -> None:
        with self.assertRaises(AimassError) as caught:
            self.client.infer("nope", [Tensor("input", [[1.0, 2.0, 3.0, 4.0]])])
        self.assertEqual(caught.exception.status, 404)
        self.assertEqual(caught.exception.message, "unknown model 'nope'")
        self.assertEqual(caught.exception.body, {"error": "unknown model 'nope'"})
        with self.assertRaises(AimassError) as caught:
            self.client.infer("pump_state", [Tensor("input", [[1.0, 2.0, 3.0]], "FP32")])
        self.assertEqual(caught.exception.status, 400)
        self.assertIn("input", caught.exception.message)
        with self.assertRaises(AimassError) as caught:
            self.client.get_run(999)
        self.assertEqual(caught.exception.status, 404)

    def test_registry_reads(self) -> None:
        models = self.client.list_models()
        self.assertEqual([(m.model, m.versions, m.latest) for m in models],
                         [("pump_state", 2, 2)])
        model = self.client.get_model("pump_state")
        self.assertEqual([v.version for v in model.versions], [1, 2])
        version = self.client.get_model_version("pump_state", 1)
        self.assertEqual((version.model, version.version, version.type),
                         ("pump_state", 1, "model.softmax"))
        self.assertEqual(len(version.sha256), 64)
        self.assertIn("val_accuracy", version.metrics)
        datasets = self.client.list_datasets()
        self.assertEqual([(d.name, d.latest.rows) for d in datasets], [("pumps", 300)])
        self.assertEqual([v.version for v in self.client.get_dataset("pumps").versions], [1])
        runs = self.client.list_runs()
        self.assertEqual((runs.matched, sorted(r.id for r in runs.runs)), (2, [1, 2]))
        self.assertEqual(len(self.client.list_runs(limit=1, sort="id", desc=True).runs), 1)
        second = self.client.list_runs(limit=1, offset=1)  # newest first: run 2, then run 1
        self.assertEqual((second.matched, [r.id for r in second.runs]), (2, [1]))
        run = self.client.get_run(1)
        self.assertEqual((run.id, run.status), (1, "finished"))
        self.assertEqual(run.params["epochs"], "2")
        self.assertEqual(set(run.metrics["val_accuracy"]),
                         {"last", "last_step", "min", "max", "points"})
        accuracy = self.client.get_run_metric(1, "val_accuracy")
        self.assertEqual((accuracy.run, accuracy.metric, accuracy.total, accuracy.more),
                         (1, "val_accuracy", 2, False))
        self.assertEqual([p.step for p in accuracy.points], [1, 2])
        self.assertEqual(accuracy.points[-1].value, run.metrics["val_accuracy"]["last"])
        later = self.client.get_run_metric(1, "val_accuracy", after_step=1, limit=1)
        self.assertEqual([p.step for p in later.points], [2])

    def test_promote_rollback_and_tags(self) -> None:
        first = self.client.promote("pump_state", "champion", 1)
        self.assertEqual((first.alias, first.version), ("champion", 1))
        second = self.client.promote("pump_state", "champion", 2)
        self.assertEqual((second.version, second.history[-1]), (2, 1))
        self.assertEqual(self.client.get_model("pump_state").aliases, {"champion": 2})
        back = self.client.rollback("pump_state", "champion")
        self.assertEqual(back.version, 1)
        tagged = self.client.tag("pump_state", 2, set={"stage": "qa", "owner": "ops"})
        self.assertEqual(tagged.tags, {"stage": "qa", "owner": "ops"})
        tagged = self.client.tag("pump_state", 2, remove=["owner"])
        self.assertEqual(tagged.tags, {"stage": "qa"})
        self.assertEqual(self.client.set_tags("pump_state", 2, {"a": "b"}).tags, {"a": "b"})
        with self.assertRaises(AimassError) as caught:
            self.client.promote("pump_state", "champion", 9)
        self.assertEqual(caught.exception.status, 404)

    def test_async_client_runs_requests_concurrently(self) -> None:
        async def main():
            async with AsyncClient(SERVER.url, use_numpy=False) as client:  # type: ignore
                ready = await client.ready()
                models = await client.list_models()
                self.assertEqual(models[0].model, "pump_state")
                with self.assertRaises(AimassError) as caught:
                    await client.get_run(999)
                self.assertEqual(caught.exception.status, 404)
                answers = await asyncio.gather(*[
                    client.infer("pump_state", {"input": ROWS}, request_id=str(i))
                    for i in range(4)])
                return ready, answers

        ready, answers = asyncio.run(main())
        self.assertTrue(ready)
        self.assertEqual([a.id for a in answers], ["0", "1", "2", "3"])
        for a in answers:
            self.assertEqual(a["label"], answers[0]["label"])
            self.check_answer(a)

    def test_quickstart_example(self) -> None:
        example = os.path.join(os.path.dirname(__file__), "..", "examples", "quickstart.py")
        env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), ".."))
        ran = subprocess.run([sys.executable, example, "--url", SERVER.url,  # type: ignore
                              "--model", "pump_state"], env=env, capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(ran.returncode, 0, ran.stderr)
        self.assertIn("pump_state version 1 (request quickstart):", ran.stdout)
        self.assertIn("  probabilities FP32 [1, 3]: ", ran.stdout)
        failed = subprocess.run([sys.executable, example, "--url", SERVER.url,  # type: ignore
                                 "--model", "nope"], env=env, capture_output=True, text=True,
                                timeout=60)
        self.assertEqual(failed.returncode, 1)
        self.assertIn("HTTP 404: unknown model 'nope'", failed.stderr)


if __name__ == "__main__":
    unittest.main()
