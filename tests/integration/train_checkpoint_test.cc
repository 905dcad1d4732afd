// SPDX-License-Identifier: Apache-2.0
// job.train as users run it (`aimass run`, a real process) on a storage.fs store: checkpoints
// written as training goes, SIGKILL and SIGINT part-way and a rerun that resumes and ends with
// the same model bytes as an uninterrupted run, seeded runs reproducible bit for bit, a
// diverging run that keeps its last good checkpoint, and bad input that fails clearly without
// writing anything to the store.
#include "train_checkpoint.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "aimass_process.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using aimass::testing::AimassProcess;
using aimass::testing::kHangLimit;
using aimass::testing::readFile;
using aimass::testing::writeFile;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

using Result = aimass::testing::AimassResult;

/// Deterministic CSV of `rows` rows: 16 features in [-1, 1) and one of three classes, a
/// noisy function of them, so an MLP has something to learn for several epochs.
std::string classificationCsv(int rows) {
  std::string text;
  for (int f = 0; f < 16; ++f) {
    text += "f" + std::to_string(f) + ",";
  }
  text += "label\n";
  std::uint64_t state = 12345;
  auto uniform = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<double>(state >> 11) / 9007199254740992.0 * 2 - 1;
  };
  char buffer[32];
  for (int r = 0; r < rows; ++r) {
    double score[3] = {0, 0, 0};
    for (int f = 0; f < 16; ++f) {
      const double x = uniform();
      score[f % 3] += x * (1 + f % 4);
      std::snprintf(buffer, sizeof buffer, "%.5f,", x);
      text += buffer;
    }
    score[r % 3] += 0.5 * uniform();
    int label = score[0] > score[1] ? 0 : 1;
    label = score[2] > score[label] ? 2 : label;
    text += std::string(label == 0 ? "red" : label == 1 ? "green" : "blue") + "\n";
  }
  return text;
}

/// A folder with training data, configurations and a storage.fs store at `store/`.
class Workspace {
 public:
  Workspace() { writeFile(dir() / "data.csv", classificationCsv(3000)); }

  const fs::path& dir() const { return temp_.path(); }
  fs::path store() const { return dir() / "store"; }
  /// storage.fs keeps key "checkpoints/train" in this file (see its README).
  fs::path checkpointFile() const { return store() / "data" / "checkpoints" / "train.val"; }
  fs::path artifactFile() const { return store() / "data" / "models" / "final.val"; }

  /// An MLP with dropout trained by Adam on data.csv with shuffling and a validation split;
  /// `job_extra` is appended to the job.train node's parameters; `optimizer_extra` replaces
  /// Adam's ", learning_rate: 0.002"; with `preprocess` the MLP standardises its inputs first;
  /// `net_extra` is appended to the (unpreprocessed) MLP's parameters.
  std::string config(const std::string& name, const std::string& job_extra = "",
                     const std::string& optimizer_extra = "", bool preprocess = false,
                     const std::string& net_extra = "") const {
    const fs::path file = dir() / name;
    writeFile(
        file,
        "nodes:\n"
        "  store: {type: storage.fs, path: store, fsync: false}\n"
        "  data: {type: dataset.csv, path: data.csv, label: label}\n" +
            std::string(preprocess ? "  scale: {type: transform.standardize}\n"
                                     "  net: {type: model.mlp, hidden: [64, 32], dropout: 0.2, "
                                     "preprocess: [scale]}\n"
                                   : "  net: {type: model.mlp, hidden: [64, 32], dropout: 0.2" +
                                         net_extra + "}\n") +
            "  adam: {type: optimizer.adam" +
            (optimizer_extra.empty() ? std::string(", learning_rate: 0.002") : optimizer_extra) +
            "}\n"
            "  train: {type: job.train, model: net, dataset: data, optimizer: adam, "
            "epochs: 6, batch_size: 16, seed: 42, validation_fraction: 0.2, "
            "storage: store, artifact: models/final, register: false" +
            job_extra + "}\n");
    return file.string();
  }

  Result run(const std::string& config) const {
    return aimass::testing::runAimass(dir(), {"run", config});
  }

  /// Starts `aimass run`, waits until the first checkpoint is in the store and sends `sig`.
  /// Returns the exit code (128 + signal when it died of it).
  Result interrupt(const std::string& config, int sig) const {
    AimassProcess process(dir(), {"run", config});
    const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
    while (!fs::exists(checkpointFile()) && process.running() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    EXPECT_TRUE(process.running()) << "the run ended before its first checkpoint:\n"
                                   << process.err();
    process.signal(sig);
    Result r;
    r.code = process.wait();
    r.err = process.err();
    return r;
  }

  std::optional<aimass::core::TrainCheckpoint> checkpoint() const {
    if (!fs::exists(checkpointFile())) {
      return std::nullopt;
    }
    auto decoded = aimass::core::decodeTrainCheckpoint(readFile(checkpointFile()));
    EXPECT_TRUE(decoded.ok()) << decoded.status().toString();
    if (!decoded.ok()) {
      return std::nullopt;
    }
    return *decoded;
  }

  /// Every file under the store's data folder, relative to it.
  std::vector<std::string> storedFiles() const {
    std::vector<std::string> files;
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(store() / "data", ec)) {
      if (entry.is_regular_file()) {
        files.push_back(fs::relative(entry.path(), store() / "data").string());
      }
    }
    return files;
  }

 private:
  aimass::testing::TempDir temp_{"aimass-train"};
};

/// The artifact of one uninterrupted run of Workspace::config(), made once for the suite.
class TrainCheckpointTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    reference_ = new std::string;
    Workspace workspace;
    Result r = workspace.run(workspace.config("train.yaml"));
    ASSERT_EQ(r.code, 0) << r.err;
    *reference_ = readFile(workspace.artifactFile());
    reference_log_ = new std::string(r.err);
  }
  static void TearDownTestSuite() {
    delete reference_;
    delete reference_log_;
    reference_ = nullptr;
    reference_log_ = nullptr;
  }
  static const std::string& reference() { return *reference_; }
  static const std::string& referenceLog() { return *reference_log_; }

  Workspace workspace_;

 private:
  static std::string* reference_;
  static std::string* reference_log_;
};

std::string* TrainCheckpointTest::reference_ = nullptr;
std::string* TrainCheckpointTest::reference_log_ = nullptr;

TEST_F(TrainCheckpointTest, SeededRunsSaveTheSameBytesAndLeaveNoCheckpoint) {
  ASSERT_FALSE(reference().empty());
  Result r = workspace_.run(workspace_.config("train.yaml"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(readFile(workspace_.artifactFile()) == reference())
      << "two runs with seed 42 saved different models";
  EXPECT_THAT(r.err, Not(HasSubstr("resuming")));
  // A finished run removes its checkpoint, so the next run starts over.
  EXPECT_FALSE(fs::exists(workspace_.checkpointFile()));
  Result again = workspace_.run(workspace_.config("train.yaml"));
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.err, Not(HasSubstr("resuming")));
  EXPECT_TRUE(readFile(workspace_.artifactFile()) == reference());
}

TEST_F(TrainCheckpointTest, PlainLogShowsEveryEpochWithLossAndSamplesPerSecond) {
  // stderr is a file here, so progress comes as plain lines, one per epoch at least.
  for (int epoch = 1; epoch <= 6; ++epoch) {
    EXPECT_THAT(referenceLog(), AllOf(HasSubstr("epoch " + std::to_string(epoch) + "/6: loss="),
                                      HasSubstr("samples/s="), HasSubstr("val_accuracy=")));
  }
  EXPECT_THAT(referenceLog(), Not(HasSubstr("\x1b[K"))) << "a terminal bar in a log file";
}

TEST_F(TrainCheckpointTest, SigkillAfterACheckpointResumesToTheSameModel) {
  const std::string config = workspace_.config("train.yaml");
  Result killed = workspace_.interrupt(config, SIGKILL);
  EXPECT_EQ(killed.code, 128 + SIGKILL) << killed.err;
  EXPECT_FALSE(fs::exists(workspace_.artifactFile()));
  auto checkpoint = workspace_.checkpoint();
  ASSERT_TRUE(checkpoint);
  // Epoch checkpoints sit at an epoch boundary, never after the last epoch.
  EXPECT_GE(checkpoint->epoch, 1u);
  EXPECT_LT(checkpoint->epoch, 6u);
  EXPECT_EQ(checkpoint->step, 0u);
  EXPECT_EQ(checkpoint->model_type, "model.mlp");
  EXPECT_FALSE(checkpoint->optimizer_state.empty());

  Result resumed = workspace_.run(config);
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_THAT(resumed.err, HasSubstr("resuming from checkpoint 'checkpoints/train' in fs:"));
  EXPECT_THAT(resumed.err, HasSubstr(": epoch " + std::to_string(checkpoint->epoch + 1) + "/6"));
  // Only the epochs after the checkpoint ran again.
  EXPECT_THAT(resumed.err, Not(HasSubstr("epoch 1/6: loss=")));
  EXPECT_THAT(resumed.err, HasSubstr("epoch 6/6: loss="));
  EXPECT_TRUE(readFile(workspace_.artifactFile()) == reference())
      << "the resumed run saved a different model than the uninterrupted one";
  EXPECT_FALSE(fs::exists(workspace_.checkpointFile()));
}

// A model with preprocessing checkpoints its fitted transforms with its weights: killed and
// resumed, it saves the bytes of an uninterrupted run.
TEST_F(TrainCheckpointTest, APreprocessedModelResumesToTheSameModel) {
  Workspace uninterrupted;
  Result whole = uninterrupted.run(uninterrupted.config("train.yaml", "", "", true));
  ASSERT_EQ(whole.code, 0) << whole.err;
  const std::string expected = readFile(uninterrupted.artifactFile());

  const std::string config = workspace_.config("train.yaml", "", "", true);
  Result killed = workspace_.interrupt(config, SIGKILL);
  EXPECT_EQ(killed.code, 128 + SIGKILL) << killed.err;
  auto checkpoint = workspace_.checkpoint();
  ASSERT_TRUE(checkpoint);
  EXPECT_EQ(checkpoint->model_type, "model.pipeline");
  Result resumed = workspace_.run(config);
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_THAT(resumed.err, HasSubstr("resuming from checkpoint 'checkpoints/train'"));
  EXPECT_TRUE(readFile(workspace_.artifactFile()) == expected)
      << "the resumed pipeline saved a different model than the uninterrupted one";
  EXPECT_FALSE(readFile(workspace_.artifactFile()) == reference())
      << "the standardised inputs train another model than the raw ones";
}

// bf16 mixed precision resumes bit for bit too: the bf16 weight copies are made afresh from the
// FP32 weights the checkpoint holds at every step.
TEST_F(TrainCheckpointTest, ABf16ModelResumesToTheSameModel) {
  Workspace uninterrupted;
  Result whole =
      uninterrupted.run(uninterrupted.config("train.yaml", "", "", false, ", precision: bf16"));
  if (whole.code != 0 && whole.err.find("needs a CPU with AVX512-BF16") != std::string::npos) {
    GTEST_SKIP() << "this CPU has no AVX512-BF16";
  }
  ASSERT_EQ(whole.code, 0) << whole.err;
  const std::string expected = readFile(uninterrupted.artifactFile());

  const std::string config = workspace_.config("train.yaml", "", "", false, ", precision: bf16");
  Result killed = workspace_.interrupt(config, SIGKILL);
  EXPECT_EQ(killed.code, 128 + SIGKILL) << killed.err;
  ASSERT_TRUE(workspace_.checkpoint());
  Result resumed = workspace_.run(config);
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_THAT(resumed.err, HasSubstr("resuming from checkpoint 'checkpoints/train'"));
  EXPECT_TRUE(readFile(workspace_.artifactFile()) == expected)
      << "the resumed bf16 run saved a different model than the uninterrupted one";
  EXPECT_FALSE(readFile(workspace_.artifactFile()) == reference())
      << "the bf16 run saved the FP32 run's model";
}

TEST_F(TrainCheckpointTest, SigintWritesACheckpointAndTheRerunEndsWithTheSameModel) {
  const std::string config = workspace_.config("train.yaml");
  Result stopped = workspace_.interrupt(config, SIGINT);
  EXPECT_EQ(stopped.code, 1) << stopped.err;
  EXPECT_THAT(stopped.err, HasSubstr("received SIGINT"));
  EXPECT_THAT(stopped.err, HasSubstr("checkpoint 'checkpoints/train' in fs:"));
  EXPECT_THAT(stopped.err, HasSubstr("written, run again to resume"));
  EXPECT_FALSE(fs::exists(workspace_.artifactFile()));
  auto checkpoint = workspace_.checkpoint();
  ASSERT_TRUE(checkpoint);
  EXPECT_GE(checkpoint->epoch, 1u);
  EXPECT_LT(checkpoint->epoch, 6u);

  Result resumed = workspace_.run(config);
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_THAT(resumed.err, HasSubstr("resuming from checkpoint 'checkpoints/train'"));
  EXPECT_TRUE(readFile(workspace_.artifactFile()) == reference())
      << "the run resumed after SIGINT saved a different model than the uninterrupted one";
  EXPECT_FALSE(fs::exists(workspace_.checkpointFile()));
}

TEST_F(TrainCheckpointTest, SigtermAlsoWritesACheckpoint) {
  Result stopped = workspace_.interrupt(workspace_.config("train.yaml"), SIGTERM);
  EXPECT_EQ(stopped.code, 1) << stopped.err;
  EXPECT_THAT(stopped.err, HasSubstr("received SIGTERM"));
  EXPECT_THAT(stopped.err, HasSubstr("written, run again to resume"));
  EXPECT_TRUE(workspace_.checkpoint());
}

TEST_F(TrainCheckpointTest, ACheckpointOfAnotherConfigurationIsReportedAndNotUsed) {
  Result killed = workspace_.interrupt(workspace_.config("train.yaml"), SIGKILL);
  ASSERT_EQ(killed.code, 128 + SIGKILL) << killed.err;
  const std::string before = readFile(workspace_.checkpointFile());
  ASSERT_FALSE(before.empty());

  // resume: require refuses to start over, and leaves the checkpoint alone.
  Result refused =
      workspace_.run(workspace_.config("other.yaml", ", resume: require, clip_grad_norm: 5"));
  EXPECT_EQ(refused.code, 1) << refused.err;
  EXPECT_THAT(refused.err,
              AllOf(HasSubstr("checkpoint 'checkpoints/train' in fs:"),
                    HasSubstr("was written by a run with another configuration (fingerprint "),
                    HasSubstr("resume: require does not start over")));
  EXPECT_EQ(readFile(workspace_.checkpointFile()), before);

  // auto warns and trains from the start.
  Result fresh = workspace_.run(workspace_.config("other.yaml", "", ", learning_rate: 0.003"));
  ASSERT_EQ(fresh.code, 0) << fresh.err;
  EXPECT_THAT(fresh.err, HasSubstr("was written by a run with another configuration"));
  EXPECT_THAT(fresh.err, HasSubstr("not resuming from it: training starts over"));
  EXPECT_THAT(fresh.err, Not(HasSubstr("resuming from checkpoint")));
  EXPECT_THAT(fresh.err, HasSubstr("epoch 1/6: loss="));
}

TEST_F(TrainCheckpointTest, ResumeRequireWithoutACheckpointFails) {
  Result r = workspace_.run(workspace_.config("train.yaml", ", resume: require"));
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("resume: require, but there is no checkpoint 'checkpoints/train'"));
  EXPECT_FALSE(fs::exists(workspace_.artifactFile()));
}

TEST_F(TrainCheckpointTest, ResumeNeverStartsOver) {
  Result killed = workspace_.interrupt(workspace_.config("train.yaml"), SIGKILL);
  ASSERT_EQ(killed.code, 128 + SIGKILL) << killed.err;
  Result r = workspace_.run(workspace_.config("never.yaml", ", resume: never"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("resume: never: starting over"));
  EXPECT_THAT(r.err, HasSubstr("epoch 1/6: loss="));
  // resume is not part of the fingerprint: the model is the reference one.
  EXPECT_TRUE(readFile(workspace_.artifactFile()) == reference());
}

TEST_F(TrainCheckpointTest, CorruptCheckpointIsAnErrorNamingIt) {
  Result killed = workspace_.interrupt(workspace_.config("train.yaml"), SIGKILL);
  ASSERT_EQ(killed.code, 128 + SIGKILL) << killed.err;
  std::string bytes = readFile(workspace_.checkpointFile());
  bytes[bytes.size() / 2] ^= 0x01;
  writeFile(workspace_.checkpointFile(), bytes);
  Result r = workspace_.run(workspace_.config("train.yaml"));
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.err, AllOf(HasSubstr("reading checkpoint 'checkpoints/train'"),
                           HasSubstr("checksum mismatch"), HasSubstr("set resume: never")));
  EXPECT_FALSE(fs::exists(workspace_.artifactFile()));
}

// A learning rate far too large makes the loss overflow after a few epochs: the run stops
// naming the epoch and step, saves no model, and leaves the last good checkpoint, from which a
// rerun continues and diverges at the same step again.
TEST(TrainCheckpointDivergence, NonFiniteLossKeepsTheLastGoodCheckpoint) {
  Workspace workspace;
  std::string rows = "x,y\n";
  for (int i = 0; i < 64; ++i) {
    rows += std::to_string(i % 8) + "," + std::to_string(3 * (i % 8) + 1) + "\n";
  }
  writeFile(workspace.dir() / "line.csv", rows);
  const fs::path config = workspace.dir() / "diverge.yaml";
  writeFile(config,
            "nodes:\n"
            "  store: {type: storage.fs, path: store, fsync: false}\n"
            "  line: {type: dataset.csv, path: line.csv, label: y, label_type: value}\n"
            "  net: {type: model.mlp, hidden: [4], activation: tanh}\n"
            "  sgd: {type: optimizer.sgd, learning_rate: 1.0}\n"
            "  train: {type: job.train, model: net, dataset: line, optimizer: sgd, epochs: 40, "
            "batch_size: 8, shuffle: false, storage: store, artifact: models/final, "
            "register: false}\n");
  Result first = workspace.run(config.string());
  ASSERT_EQ(first.code, 1) << first.err;
  // "loss became infinite at epoch E step S" (or NaN): find E and S.
  const auto at = first.err.find("loss became ");
  ASSERT_NE(at, std::string::npos) << first.err;
  const std::string failure = first.err.substr(at, first.err.find('\n', at) - at);
  unsigned epoch = 0, step = 0;
  const auto where = failure.find(" at epoch ");
  ASSERT_NE(where, std::string::npos) << failure;
  ASSERT_EQ(std::sscanf(failure.c_str() + where, " at epoch %u step %u", &epoch, &step), 2)
      << failure;
  ASSERT_GE(epoch, 2u) << "the run must diverge after its first checkpoint: " << failure;
  EXPECT_FALSE(fs::exists(workspace.artifactFile()));

  auto checkpoint = workspace.checkpoint();
  ASSERT_TRUE(checkpoint) << "the last good checkpoint is gone";
  EXPECT_EQ(checkpoint->epoch, epoch - 1) << "the checkpoint is not the last good epoch's";
  EXPECT_EQ(checkpoint->step, 0u);
  const std::string kept = readFile(workspace.checkpointFile());

  Result second = workspace.run(config.string());
  ASSERT_EQ(second.code, 1) << second.err;
  EXPECT_THAT(second.err, HasSubstr("resuming from checkpoint 'checkpoints/train'"));
  EXPECT_THAT(second.err, HasSubstr(failure));
  EXPECT_EQ(readFile(workspace.checkpointFile()), kept);
}

// ---- bad input: a clear error naming what is wrong, and nothing written to the store ----

class BadTrainingInput : public ::testing::Test {
 protected:
  /// Runs job.train (softmax, sgd, a store) on the dataset node `dataset_node`.
  Result train(const std::string& dataset_node) {
    const fs::path config = workspace_.dir() / "bad.yaml";
    writeFile(config,
              "nodes:\n"
              "  store: {type: storage.fs, path: store}\n"
              "  data: " +
                  dataset_node +
                  "\n"
                  "  clf: {type: model.softmax}\n"
                  "  sgd: {type: optimizer.sgd, learning_rate: 0.1}\n"
                  "  train: {type: job.train, model: clf, dataset: data, optimizer: sgd, "
                  "epochs: 2, storage: store}\n");
    return workspace_.run(config.string());
  }
  void expectNothingStored() { EXPECT_THAT(workspace_.storedFiles(), ::testing::IsEmpty()); }
  fs::path file(const std::string& name, const std::string& bytes) {
    writeFile(workspace_.dir() / name, bytes);
    return workspace_.dir() / name;
  }
  /// `bytes` gzip-compressed into `name`.
  fs::path gzipFile(const std::string& name, const std::string& bytes) {
    const fs::path path = workspace_.dir() / name;
    gzFile out = gzopen(path.c_str(), "wb");
    EXPECT_NE(out, nullptr);
    EXPECT_EQ(gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
    gzclose(out);
    return path;
  }
  /// IDX bytes: a big-endian header of `type` (0x08 u8, 0x0D f32) and `dims`, then `body`.
  static std::string idx(std::uint8_t type, std::vector<std::uint32_t> dims,
                         const std::string& body) {
    std::string out = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
    for (std::uint32_t d : dims) {
      for (int shift = 24; shift >= 0; shift -= 8) {
        out += static_cast<char>((d >> shift) & 0xff);
      }
    }
    return out + body;
  }

  Workspace workspace_;
};

TEST_F(BadTrainingInput, MissingCsvFileIsNamed) {
  Result r = train("{type: dataset.csv, path: absent.csv, label: label}");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("absent.csv"));
  expectNothingStored();
}

TEST_F(BadTrainingInput, CsvCutOffMidRowNamesTheLine) {
  file("cut.csv", "a,b,label\n1,2,x\n3,4,y\n5,");
  Result r = train("{type: dataset.csv, path: cut.csv, label: label}");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.err, AllOf(HasSubstr("cut.csv:4:")));
  expectNothingStored();
}

TEST_F(BadTrainingInput, NanAndInfInCsvAreRefused) {
  file("nan.csv", "a,b,label\n1,2,x\n3,nan,y\n");
  // "nan" is a missing value by default (dataset.csv's missing_values); without markers it is
  // a number that is not finite.
  Result nan = train("{type: dataset.csv, path: nan.csv, label: label, missing_values: []}");
  EXPECT_EQ(nan.code, 1) << nan.err;
  EXPECT_THAT(nan.err, AllOf(HasSubstr("nan.csv:3:"), HasSubstr("not finite")));
  file("inf.csv", "a,b,label\n1,-inf,x\n3,4,y\n");
  Result inf = train("{type: dataset.csv, path: inf.csv, label: label}");
  EXPECT_EQ(inf.code, 1) << inf.err;
  EXPECT_THAT(inf.err, AllOf(HasSubstr("inf.csv:2:"), HasSubstr("not finite")));
  expectNothingStored();
}

TEST_F(BadTrainingInput, CsvWithoutRowsIsRefused) {
  file("empty.csv", "a,b,label\n");
  Result r = train("{type: dataset.csv, path: empty.csv, label: label}");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.err, AllOf(HasSubstr("empty.csv"), HasSubstr("no data rows")));
  expectNothingStored();
}

TEST_F(BadTrainingInput, NanInIdxFloatImagesIsRefused) {
  std::string body;
  const float values[4] = {0.5f, NAN, 1.0f, 2.0f};
  for (float v : values) {
    std::uint32_t bits;
    std::memcpy(&bits, &v, 4);
    for (int shift = 24; shift >= 0; shift -= 8) {
      body += static_cast<char>((bits >> shift) & 0xff);
    }
  }
  file("images.idx", idx(0x0D, {2, 2}, body));
  file("labels.idx", idx(0x08, {2}, std::string("\x00\x01", 2)));
  Result r = train("{type: dataset.idx, images: images.idx, labels: labels.idx, normalize: none}");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.err, AllOf(HasSubstr("images.idx"), HasSubstr("not a finite 32-bit float")));
  expectNothingStored();
}

TEST_F(BadTrainingInput, IdxGzipCutOffMidStreamIsTruncated) {
  std::string pixels;
  for (int i = 0; i < 200 * 64; ++i) {
    pixels += static_cast<char>((i * 37) % 251);
  }
  gzipFile("full.gz", idx(0x08, {200, 8, 8}, pixels));
  const std::string gz = readFile(workspace_.dir() / "full.gz");
  file("cut-images.gz", gz.substr(0, gz.size() / 2));
  std::string labels;
  for (int i = 0; i < 200; ++i) {
    labels += static_cast<char>(i % 3);
  }
  gzipFile("labels.gz", idx(0x08, {200}, labels));
  Result r = train("{type: dataset.idx, images: cut-images.gz, labels: labels.gz}");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.err, AllOf(HasSubstr("cut-images.gz"), HasSubstr("truncated")));
  expectNothingStored();
}

TEST_F(BadTrainingInput, MissingIdxFileIsNamed) {
  Result r = train("{type: dataset.idx, images: absent-images.gz}");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("absent-images.gz"));
  expectNothingStored();
}

// A model trained on 4 features and then fed 5 (an evaluation on other data) names both.
TEST_F(BadTrainingInput, DataOfTheWrongWidthForATrainedModelIsRefused) {
  file("four.csv", "a,b,c,d,label\n1,2,3,4,x\n2,3,4,5,y\n3,4,5,6,x\n4,5,6,7,y\n");
  file("five.csv", "a,b,c,d,e,label\n1,2,3,4,5,x\n2,3,4,5,6,y\n");
  const fs::path config = workspace_.dir() / "width.yaml";
  writeFile(config,
            "nodes:\n"
            "  four: {type: dataset.csv, path: four.csv, label: label}\n"
            "  five: {type: dataset.csv, path: five.csv, label: label}\n"
            "  clf: {type: model.softmax}\n"
            "  sgd: {type: optimizer.sgd, learning_rate: 0.1}\n"
            "  train: {type: job.train, model: clf, dataset: four, optimizer: sgd, epochs: 1}\n"
            "  check: {type: job.evaluate, model: clf, dataset: five, after: train}\n");
  Result r = workspace_.run(config.string());
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.err, AllOf(HasSubstr("[-1, 4]"), HasSubstr("5]")));
}

}  // namespace
