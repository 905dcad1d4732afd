# SPDX-License-Identifier: Apache-2.0
"""Tests of bench/harness.py's bookkeeping (bench/rows.py, and W2's recipe choice), on hand-made
figures (no benchmark runs): errors summed over runs, req/s of 2xx answers only, quality
targets checked and marked in the row, and recording refused from a tree with uncommitted
changes (in a throwaway git repository).
Run by ctest (tests/bench) or by hand: `python3 -m unittest -v harness_test` in bench/."""
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import rows  # noqa: E402
import w14  # noqa: E402

BENCH = os.path.dirname(os.path.abspath(__file__))


class ErrorsAreSummed(unittest.TestCase):
    def test_errors_summed_other_figures_median(self):
        runs = [{"req_per_s": 100.0, "p99_ms": 5.0, "errors": 0, "json_errors": 0},
                {"req_per_s": 300.0, "p99_ms": 9.0, "errors": 7, "json_errors": 2},
                {"req_per_s": 200.0, "p99_ms": 1.0, "errors": 0, "json_errors": 1}]
        self.assertEqual(rows.medians(runs), {"req_per_s": 200.0, "p99_ms": 5.0,
                                                 "errors": 7, "json_errors": 3})

    def test_only_error_counts_are_summed(self):
        self.assertTrue(rows.is_error_count("errors"))
        self.assertTrue(rows.is_error_count("unattacked_errors"))
        self.assertFalse(rows.is_error_count("error_rate"))
        self.assertFalse(rows.is_error_count("errors_per_s"))
        runs = [{"error_rate": 0.5}, {"error_rate": 0.1}, {"error_rate": 0.2}]
        self.assertEqual(rows.medians(runs), {"error_rate": 0.2})


class ReqPerSecondCountsOnly2xx(unittest.TestCase):
    def test_non_2xx_answers_are_not_counted(self):
        raw = {"requests": 1000, "non_2xx": 250, "seconds": 2.0, "req_per_s": 500.0,
               "p50_ms": 1.5, "p99_ms": 4.0, "errors": 251}
        figures = rows.wrk_figures(raw, "test")
        self.assertEqual(figures["req_per_s"], 375.0)  # (1000 - 250) / 2
        self.assertEqual(figures["non_2xx"], 250)
        self.assertEqual(figures["errors"], 251)

    def test_all_2xx(self):
        raw = {"requests": 30, "non_2xx": 0, "seconds": 3.0, "p50_ms": 1, "p99_ms": 2,
               "errors": 0}
        self.assertEqual(rows.wrk_figures(raw, "test")["req_per_s"], 10.0)

    def test_inconsistent_or_missing_counts_are_errors(self):
        base = {"requests": 10, "non_2xx": 0, "seconds": 1.0, "p50_ms": 1, "p99_ms": 2,
                "errors": 0}
        with self.assertRaisesRegex(rows.BenchError, "non_2xx"):
            rows.wrk_figures({k: v for k, v in base.items() if k != "non_2xx"}, "test")
        with self.assertRaisesRegex(rows.BenchError, "11 non-2xx answers"):
            rows.wrk_figures(dict(base, non_2xx=11, errors=11), "test")
        with self.assertRaisesRegex(rows.BenchError, "3 non-2xx answers"):
            rows.wrk_figures(dict(base, non_2xx=3, errors=2), "test")


class HalfFailingHandler(http.server.BaseHTTPRequestHandler):
    """Answers POSTs alternately 200 and 503 (a server under test that fails half the time)."""
    protocol_version = "HTTP/1.1"
    count = 0
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with HalfFailingHandler.lock:
            HalfFailingHandler.count += 1
            status = 200 if HalfFailingHandler.count % 2 else 503
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


@unittest.skipUnless(shutil.which("wrk"), "wrk is not installed (bench/install-peers.sh)")
class WrkScriptCountsNon2xx(unittest.TestCase):
    def test_lua_script_reports_non_2xx(self):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HalfFailingHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with tempfile.TemporaryDirectory() as folder:
                body = os.path.join(folder, "body.json")
                with open(body, "w") as f:
                    f.write("{}")
                done = subprocess.run(
                    ["wrk", "-t1", "-c1", "-d1s", "--latency", "-s", harness.WRK_SCRIPT,
                     f"http://127.0.0.1:{server.server_address[1]}/", "--", body,
                     "application/json"], capture_output=True, text=True, timeout=60)
        finally:
            server.shutdown()
            server.server_close()
        raw = harness.last_json_line(done.stdout, "wrk")
        self.assertGreater(raw["requests"], 10)
        # One connection, answers alternating 200 and 503: half are not 2xx (+-1 at the end).
        self.assertLessEqual(abs(2 * raw["non_2xx"] - raw["requests"]), 2)
        self.assertGreaterEqual(raw["errors"], raw["non_2xx"])
        figures = rows.wrk_figures(raw, "wrk")
        self.assertAlmostEqual(figures["req_per_s"],
                               (raw["requests"] - raw["non_2xx"]) / raw["seconds"], delta=0.1)
        self.assertAlmostEqual(raw["req_per_s"], figures["req_per_s"], delta=0.1)


class QualityTargets(unittest.TestCase):
    def test_w1_accuracy_met_and_missed(self):
        met = rows.check_targets("W1", {"s_per_epoch": 0.3, "test_accuracy": 0.8739}, {})
        self.assertEqual([c["met"] for c in met], [True])
        missed = rows.check_targets("W1", {"s_per_epoch": 0.2, "test_accuracy": 0.861}, {})
        self.assertEqual([c["met"] for c in missed], [False])
        self.assertEqual(rows.targets_text(missed),
                         "**MISSED**: test_accuracy >= 0.870: 0.861 vs 0.87")

    def test_w2_needs_the_peers_accuracy_too(self):
        peer = {"seconds": 10.0, "test_accuracy": 0.8443}
        checks = rows.check_targets("W2", {"seconds": 1.0, "test_accuracy": 0.8441}, peer)
        self.assertEqual([c["met"] for c in checks], [True, False])
        self.assertIn("test_accuracy >= the peer's: 0.8441 vs 0.8443",
                      rows.targets_text(checks))
        checks = rows.check_targets("W2", {"seconds": 1.0, "test_accuracy": 0.8457}, peer)
        self.assertTrue(all(c["met"] for c in checks))
        self.assertTrue(rows.targets_text(checks).startswith("met ("))

    def test_w3_inertia_within_a_hundredth_of_a_percent(self):
        peer = {"s_per_iter": 0.03, "inertia": 1000000.0}
        inside = rows.check_targets("W3", {"inertia": 1000099.0}, peer)
        self.assertTrue(all(c["met"] for c in inside))
        above = rows.check_targets("W3", {"inertia": 1000101.0}, peer)
        self.assertEqual([c["met"] for c in above], [False, True])
        below = rows.check_targets("W3", {"inertia": 999899.0}, peer)
        self.assertEqual([c["met"] for c in below], [True, False])

    def test_w4_w5_w7_bounds(self):
        self.assertFalse(rows.check_targets("W4", {"test_rmse": 0.6142}, {})[0]["met"])
        self.assertTrue(rows.check_targets("W4", {"test_rmse": 0.5861}, {})[0]["met"])
        self.assertFalse(rows.check_targets("W5", {"final_loss": 1.6822}, {})[0]["met"])
        w7 = rows.check_targets("W7", {"branin_best_value": 0.4371,
                                          "hartmann6_best_value": -2.85}, {})
        self.assertEqual([c["met"] for c in w7], [True, False])

    def test_w11_against_the_better_peer(self):
        peers = {"median": {"best_val_accuracy": 0.8741},
                 "successive_halving": {"best_val_accuracy": 0.8686}}
        self.assertTrue(rows.check_targets("W11", {"best_val_accuracy": 0.8711}, peers)[0]
                        ["met"])
        self.assertFalse(rows.check_targets("W11", {"best_val_accuracy": 0.8710}, peers)[0]
                         ["met"])

    def test_w14_needs_random_plus_one_and_a_half_points(self):
        peer = {"test_accuracy_1000": 0.7012}
        met = rows.check_targets("W14", {"test_accuracy_1000": 0.7162}, peer)
        self.assertEqual([c["met"] for c in met], [True])
        missed = rows.check_targets("W14", {"test_accuracy_1000": 0.7161}, peer)
        self.assertEqual(rows.targets_text(missed),
                         "**MISSED**: test_accuracy_1000 >= random's + 0.015: 0.7161 vs 0.7162")

    def test_missing_figure_is_a_miss(self):
        checks = rows.check_targets("W1", {"s_per_epoch": 0.3}, {})
        self.assertEqual(checks[0]["value"], None)
        self.assertFalse(checks[0]["met"])
        checks = rows.check_targets("W2", {"test_accuracy": 0.85}, {})
        self.assertEqual([c["met"] for c in checks], [True, False])

    def test_workload_without_targets(self):
        self.assertEqual(rows.check_targets("W9", {"seconds": 0.04}, {"seconds": 1.4}), [])
        self.assertEqual(rows.targets_text([]), "-")

    def test_row_carries_ceiling_and_mark(self):
        checks = rows.check_targets("W1", {"test_accuracy": 0.861}, {})
        row = rows.results_row("2026-12-06 20:00", "abc1234", "W1", 3,
                                  {"s_per_epoch": 0.2, "test_accuracy": 0.861},
                                  {"s_per_epoch": 0.5, "test_accuracy": 0.876}, 2.5, 301.25,
                                  checks)
        self.assertEqual(row, "| 2026-12-06 20:00 | abc1234 | W1 | 3 | s_per_epoch 0.2, "
                              "test_accuracy 0.861 | s_per_epoch 0.5, test_accuracy 0.876 | "
                              "2.50 | 301.2 | **MISSED**: test_accuracy >= 0.870: 0.861 vs "
                              "0.87 |\n")
        cells = row.strip().strip("|").split("|")
        header = [line for line in rows.RESULTS_HEADER.splitlines() if line.startswith("|")]
        self.assertEqual(len(cells), header[0].count("|") - 1)
        self.assertIn("W0 GFLOP/s", header[0])


class W2RecipeChoice(unittest.TestCase):
    GRID = [{"epochs": 3, "learning_rate": 0.002, "val_accuracy": 0.840},
            {"epochs": 4, "learning_rate": 0.001, "val_accuracy": 0.846},
            {"epochs": 4, "learning_rate": 0.002, "val_accuracy": 0.848},
            {"epochs": 8, "learning_rate": 0.002, "val_accuracy": 0.852}]

    def test_fewest_epochs_reaching_the_peer_then_most_accurate(self):
        chosen, reached = harness.choose_w2_recipe(self.GRID, 0.845)
        self.assertTrue(reached)
        self.assertEqual((chosen["epochs"], chosen["learning_rate"]), (4, 0.002))

    def test_none_reaching_gives_the_most_accurate(self):
        chosen, reached = harness.choose_w2_recipe(self.GRID, 0.86)
        self.assertFalse(reached)
        self.assertEqual(chosen["epochs"], 8)

    def test_empty_grid(self):
        with self.assertRaises(rows.BenchError):
            harness.choose_w2_recipe([], 0.8)


class W14Strategy(unittest.TestCase):
    def test_best_model_driven_strategy_at_1000_labels_never_random(self):
        figures = {"least_confidence": {"val_accuracy_1000": 0.741, "val_accuracy_2000": 0.80},
                   "margin": {"val_accuracy_1000": 0.752, "val_accuracy_2000": 0.79},
                   "entropy": {"val_accuracy_1000": 0.752, "val_accuracy_2000": 0.81},
                   "diversity": {"val_accuracy_1000": 0.740, "val_accuracy_2000": 0.82},
                   "random": {"val_accuracy_1000": 0.790, "val_accuracy_2000": 0.78}}
        # margin and entropy tie at 1,000 labels: the earlier in W14_UNCERTAINTY; random (the
        # peer) is measured but never chosen, even when it is the best.
        self.assertEqual(w14.choose_w14_strategy(figures), "margin")
        figures["entropy"]["val_accuracy_1000"] = 0.7521
        self.assertEqual(w14.choose_w14_strategy(figures), "entropy")
        figures["diversity"]["val_accuracy_1000"] = 0.7522
        self.assertEqual(w14.choose_w14_strategy(figures), "diversity")

    def test_start_by_the_random_orders_accuracy_ties_to_scratch(self):
        self.assertEqual(w14.choose_w14_start({"scratch": {"val_accuracy_1000": 0.75},
                                               "warm": {"val_accuracy_1000": 0.79}}), "warm")
        self.assertEqual(w14.choose_w14_start({"scratch": {"val_accuracy_1000": 0.79},
                                               "warm": {"val_accuracy_1000": 0.79}}), "scratch")

    def test_nothing_to_choose_from(self):
        with self.assertRaises(rows.BenchError):
            w14.choose_w14_strategy({"random": {"val_accuracy_1000": 0.7}})
        with self.assertRaises(rows.BenchError):
            w14.choose_w14_start({})


def git(folder, *words):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *words],
                          cwd=folder, capture_output=True, text=True, check=True).stdout


@unittest.skipUnless(shutil.which("git"), "git is not installed")
class RecordsOnlyFromCleanTrees(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="harness-test-")
        self.addCleanup(shutil.rmtree, self.folder)
        os.makedirs(os.path.join(self.folder, "bench"))
        for name in ("run.sh", "harness.py", "rows.py"):
            shutil.copy(os.path.join(BENCH, name), os.path.join(self.folder, "bench", name))
        self.write("bench/RESULTS.md", "# rows\n")
        self.write("src.cc", "int x;\n")
        self.write(".gitignore", "/build/\n__pycache__/\n")
        git(self.folder, "init", "-q")
        git(self.folder, "add", "-A")
        git(self.folder, "commit", "-q", "-m", "start")

    def write(self, path, text, mode="w"):
        with open(os.path.join(self.folder, path), mode) as f:
            f.write(text)

    def changes(self):
        return rows.tree_changes(self.folder)

    def test_clean_and_results_only_trees_may_record(self):
        self.assertEqual(self.changes(), [])
        self.write("bench/RESULTS.md", "| a row |\n", "a")
        self.assertEqual(self.changes(), [])
        os.makedirs(os.path.join(self.folder, "build"))
        self.write("build/ignored.o", "x")
        self.assertEqual(self.changes(), [])
        rows.require_clean_tree(self.folder)

    def test_modified_staged_deleted_and_untracked_files_refuse(self):
        self.write("src.cc", "int y;\n")
        self.assertEqual(self.changes(), [" M src.cc"])
        git(self.folder, "add", "src.cc")
        self.assertEqual(self.changes(), ["M  src.cc"])
        git(self.folder, "checkout", "-q", "HEAD", "--", "src.cc")
        os.remove(os.path.join(self.folder, "src.cc"))
        self.assertEqual(self.changes(), [" D src.cc"])
        git(self.folder, "checkout", "-q", "--", "src.cc")
        self.write("new.cc", "int z;\n")
        self.assertEqual(self.changes(), ["?? new.cc"])
        with self.assertRaisesRegex(rows.BenchError, "refusing to record.*\n  \\?\\? new.cc"):
            rows.require_clean_tree(self.folder)

    def test_not_a_repository_refuses(self):
        with tempfile.TemporaryDirectory() as plain:
            with self.assertRaisesRegex(rows.BenchError, "cannot tell"):
                rows.tree_changes(plain)

    def run_script(self, *command):
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        return subprocess.run(list(command), cwd=self.folder, capture_output=True, text=True,
                              env=env, timeout=120)

    def test_run_sh_and_harness_refuse_a_dirty_tree(self):
        self.write("src.cc", "int y;\n")
        done = self.run_script("bash", "bench/run.sh", "W1")
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertIn("uncommitted changes", done.stderr)
        self.assertIn("src.cc", done.stderr)
        self.assertNotIn("building", done.stderr)
        # The harness itself refuses too, before running anything (there is no build here).
        done = self.run_script(sys.executable, "bench/harness.py", "--build", "nowhere", "W1")
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertIn("refusing to record", done.stderr)
        done = self.run_script(sys.executable, "bench/harness.py", "--check-clean")
        self.assertEqual(done.returncode, 2)
        self.assertIn("src.cc", done.stderr)

    def test_clean_tree_passes_the_check_and_no_record_skips_it(self):
        done = self.run_script(sys.executable, "bench/harness.py", "--check-clean")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.write("src.cc", "int y;\n")
        # --no-record goes past the check (and stops later: this tree has no build).
        done = self.run_script(sys.executable, "bench/harness.py", "--build", "nowhere",
                               "--no-record", "--runs", "1", "W9")
        self.assertNotIn("refusing", done.stderr)
        self.assertIn("aimass validate failed", done.stderr)


if __name__ == "__main__":
    unittest.main()
