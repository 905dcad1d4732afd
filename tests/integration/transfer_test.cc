// SPDX-License-Identifier: Apache-2.0
// Transfer learning as a user runs it (`aimass run`, then `aimass models show`) on
// Fashion-MNIST: a model.mlp pre-trained on 5000 training images and registered; then, on 500
// other labelled images, the same MLP fine-tuned from it (init_from), fine-tuned with the first
// layer frozen under Adam, and trained from scratch with the same seed, batches and epochs.
// Accuracy is measured on 2000 test images (job.train's `validation:`, recorded with each
// registered version). Skipped when Fashion-MNIST is not installed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "aimass/core/model_artifact.h"
#include "shell.h"
#include "skip_or_fail.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kFashionMnist = "/usr/share/datasets/fashion-mnist";

bool fashionMnistInstalled() {
  return fs::exists(kFashionMnist / "train-images-idx3-ubyte.gz") &&
         fs::exists(kFashionMnist / "train-labels-idx1-ubyte.gz") &&
         fs::exists(kFashionMnist / "t10k-images-idx3-ubyte.gz") &&
         fs::exists(kFashionMnist / "t10k-labels-idx1-ubyte.gz");
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// A dataset.idx node on Fashion-MNIST's `set` ("train" or "t10k") files.
std::string idx(const std::string& name, const std::string& set, int offset, int limit,
                const std::string& extra = {}) {
  const std::string dir = kFashionMnist.string() + "/" + set;
  return "  " + name + ": {type: dataset.idx, images: " + dir + "-images-idx3-ubyte.gz, labels: " +
         dir + "-labels-idx1-ubyte.gz, offset: " + std::to_string(offset) +
         ", limit: " + std::to_string(limit) + extra + "}\n";
}

/// A job.train of `model` on `data`, scored on the test images after every epoch.
std::string train(const std::string& job, const std::string& model, const std::string& data,
                  int epochs, const std::string& extra = {}) {
  return "  " + job + ": {type: job.train, model: " + model + ", dataset: " + data +
         ", validation: test_images, optimizer: adam, epochs: " + std::to_string(epochs) +
         ", batch_size: 32, seed: 2, storage: store, track: false, checkpoint_every: 0" + extra +
         "}\n";
}

const std::string kCommon =
    "nodes:\n"
    "  store: {type: storage.fs, path: store}\n"
    "  adam: {type: optimizer.adam, learning_rate: 0.001}\n" +
    idx("test_images", "t10k", 0, 2000);

std::string mlp(const std::string& name) {
  return "  " + name + ": {type: model.mlp, hidden: [64]}\n";
}

class Transfer : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fashionMnistInstalled()) {
      AIMASS_SKIP_OR_FAIL(aimass::testing::kFashionMnistMissing);
    }
    ASSERT_FALSE(dir_.path().empty());
  }

  aimass::testing::ShellResult aimass(const std::string& args) const {
    return aimass::testing::runShell(dir_.path(),
                                     "env -u AIMASS_PLUGIN_PATH " + std::string(AIMASS_EXECUTABLE) +
                                         " " + args);
  }
  void write(const std::string& file, const std::string& text) const {
    std::ofstream(dir_.path() / file) << text;
  }
  /// The val_accuracy `aimass models show MODEL/1` reports.
  double accuracy(const std::string& model) const {
    auto shown = aimass("models show " + model + "/1 --config pretrain.yaml");
    EXPECT_EQ(shown.code, 0) << shown.output;
    std::smatch match;
    const std::regex figure("val_accuracy=([0-9.]+)");
    EXPECT_TRUE(std::regex_search(shown.output, match, figure)) << shown.output;
    return match.empty() ? 0 : std::stod(match[1]);
  }
  /// The FP32 parameter bytes at the end of the one artifact saved for `model` (a model.mlp,
  /// hidden [64]): fc1 (784 x 64 weights, 64 biases) then fc2 (64 x 10, 10). storage.fs keeps
  /// the artifacts of models/<model>/artifacts/ in that folder under data/, beside their
  /// training-data profiles ("<artifact>.profile").
  std::string parameterBytes(const std::string& model) const {
    std::vector<fs::path> files;
    for (const auto& entry :
         fs::directory_iterator(dir_.path() / "store" / "data" / "models" / model / "artifacts")) {
      if (entry.path().filename().string().find("profile") == std::string::npos) {
        files.push_back(entry.path());
      }
    }
    EXPECT_EQ(files.size(), 1u) << model;
    const std::string bytes = files.empty() ? std::string() : readFile(files.front());
    std::string_view payload;
    auto header = aimass::core::decodeModelArtifact(bytes, payload);
    EXPECT_TRUE(header.ok()) << header.status().toString();
    const std::size_t size = (784 * 64 + 64 + 64 * 10 + 10) * 4;
    EXPECT_GT(payload.size(), size);
    return payload.size() > size ? std::string(payload.substr(payload.size() - size))
                                 : std::string();
  }

  aimass::testing::TempDir dir_{"aimass-transfer"};
};

TEST_F(Transfer, FineTuningOn500ImagesBeatsTrainingFromScratch) {
  // Pre-training: 5000 images (rows 10000-14999), 2 epochs.
  write("pretrain.yaml", kCommon + idx("pretrain_images", "train", 10000, 5000) + mlp("base") +
                             train("pretrain", "base", "pretrain_images", 2));
  auto pretrained = aimass("run pretrain.yaml");
  ASSERT_EQ(pretrained.code, 0) << pretrained.output;
  ASSERT_THAT(pretrained.output, HasSubstr("registered base version 1"));

  // 500 other labelled images (rows 0-499), 3 epochs each, seed 2 for all.
  write("finetune.yaml",
        kCommon + idx("few_images", "train", 0, 500) + mlp("tuned") + mlp("frozen") +
            mlp("scratch") + train("fine_tune", "tuned", "few_images", 3, ", init_from: base") +
            train("fine_tune_frozen", "frozen", "few_images", 3,
                  ", init_from: base@prod, freeze: [fc1]") +
            train("from_scratch", "scratch", "few_images", 3));
  auto promoted = aimass("models promote base 1 --alias prod --config pretrain.yaml");
  ASSERT_EQ(promoted.code, 0) << promoted.output;
  auto tuned = aimass("run finetune.yaml");
  ASSERT_EQ(tuned.code, 0) << tuned.output;
  EXPECT_THAT(tuned.output, HasSubstr("model 'tuned' starts from base/1: 4 parameters copied"));
  EXPECT_THAT(tuned.output, HasSubstr("frozen (not trained): fc1.weight, fc1.bias"));

  const double fine_tuned = accuracy("tuned");
  const double scratch = accuracy("scratch");
  // Measured on this build: fine-tuned 0.7980, from scratch 0.7085 (2000 test images).
  EXPECT_GE(fine_tuned, scratch + 0.05) << "fine-tuned " << fine_tuned << ", scratch " << scratch;
  EXPECT_GT(scratch, 0.5) << "the baseline trained at all";

  // Lineage: the fine-tuned versions name their parent; the one from scratch has none.
  auto shown = aimass("models show tuned/1 --config pretrain.yaml");
  EXPECT_THAT(shown.output, HasSubstr("parent    base/1\n"));
  EXPECT_THAT(aimass("models show frozen/1 --json --config pretrain.yaml").output,
              HasSubstr("\"parent\": \"base/1\""));
  EXPECT_THAT(aimass("models show scratch/1 --config pretrain.yaml").output,
              HasSubstr("parent    -\n"));
  EXPECT_THAT(aimass("models show scratch/1 --json --config pretrain.yaml").output,
              ::testing::Not(HasSubstr("\"parent\"")));
  EXPECT_THAT(aimass("models show tuned --json --config pretrain.yaml").output,
              HasSubstr("\"parent\": \"base/1\""));
  EXPECT_THAT(aimass("models show tuned --config pretrain.yaml").output,
              ::testing::ContainsRegex("PARENT\n1 .* base/1\n"));

  // Under Adam the frozen first layer keeps the parent's bytes exactly; the rest moved. The
  // layer fine-tuned without freeze moved too.
  const std::size_t fc1_bytes = (784 * 64 + 64) * 4;
  const std::string base = parameterBytes("base");
  const std::string frozen = parameterBytes("frozen");
  const std::string moved = parameterBytes("tuned");
  ASSERT_EQ(base.size(), frozen.size());
  EXPECT_TRUE(base.compare(0, fc1_bytes, frozen, 0, fc1_bytes) == 0) << "fc1 bit-identical";
  EXPECT_FALSE(base.compare(fc1_bytes, std::string::npos, frozen, fc1_bytes) == 0);
  EXPECT_FALSE(base.compare(0, fc1_bytes, moved, 0, fc1_bytes) == 0);
}

TEST_F(Transfer, ReinitHeadFineTunesOntoAnotherClassList) {
  write("pretrain.yaml", kCommon + idx("pretrain_images", "train", 10000, 2000) + mlp("base") +
                             train("pretrain", "base", "pretrain_images", 1));
  ASSERT_EQ(aimass("run pretrain.yaml").code, 0);
  // The new task: classes 5-9 only (sandal ... ankle boot), so five outputs instead of ten.
  const std::string subset = ", classes: [5, 6, 7, 8, 9]";
  const std::string nodes = "nodes:\n"
                            "  store: {type: storage.fs, path: store}\n"
                            "  adam: {type: optimizer.adam, learning_rate: 0.003}\n" +
                            idx("test_images", "t10k", 0, 2000, subset) +
                            idx("few_images", "train", 0, 1000, subset) + mlp("shoes");
  write("keep.yaml", nodes + train("fine_tune", "shoes", "few_images", 3, ", init_from: base"));
  auto refused = aimass("run keep.yaml");
  EXPECT_NE(refused.code, 0);
  EXPECT_THAT(refused.output,
              HasSubstr("parameter 'fc2.weight' has shape [64, 10] in base/1 but [64, 5] in "
                        "model 'shoes': the output layer follows the new data"));
  EXPECT_THAT(refused.output, HasSubstr("set reinit_head: true"));

  write("reinit.yaml", nodes + train("fine_tune", "shoes", "few_images", 3,
                                     ", init_from: base, reinit_head: true"));
  auto tuned = aimass("run reinit.yaml");
  ASSERT_EQ(tuned.code, 0) << tuned.output;
  EXPECT_THAT(tuned.output, HasSubstr("model 'shoes' starts from base/1: 2 parameters copied; "
                                      "output layer kept fresh: fc2.weight, fc2.bias"));
  EXPECT_THAT(aimass("models show shoes/1 --config pretrain.yaml").output,
              HasSubstr("parent    base/1\n"));
  // Five classes, chance 0.2: the fresh head learned them.
  EXPECT_GT(accuracy("shoes"), 0.6);
}

TEST_F(Transfer, LayersThatDoNotFitAreNamedWithBothShapes) {
  write("pretrain.yaml", kCommon + idx("pretrain_images", "train", 10000, 500) + mlp("base") +
                             train("pretrain", "base", "pretrain_images", 1));
  ASSERT_EQ(aimass("run pretrain.yaml").code, 0);
  // Fine-tunes the model node `model` from `init_from`; the run must fail: its output.
  auto refusal = [&](const std::string& model, const std::string& node,
                     const std::string& init_from) {
    write("refused.yaml", kCommon + idx("few_images", "train", 0, 100) + "  " + model + ": " +
                              node + "\n" +
                              train("fine_tune", model, "few_images", 1,
                                    ", init_from: " + init_from));
    auto run = aimass("run refused.yaml");
    EXPECT_NE(run.code, 0) << model;
    return run.output;
  };
  EXPECT_THAT(refusal("wide", "{type: model.mlp, hidden: [32]}", "base"),
              HasSubstr("parameter 'fc1.weight' has shape [784, 64] in base/1 but [784, 32] in "
                        "model 'wide'"));
  EXPECT_THAT(refusal("linear", "{type: model.softmax}", "base"),
              HasSubstr("base/1, a model.mlp, but model 'linear' is a model.softmax"));
  const std::string missing = refusal("tuned", "{type: model.mlp, hidden: [64]}", "nope@prod");
  EXPECT_THAT(missing, HasSubstr("init_from 'nope@prod'"));
  EXPECT_THAT(missing, HasSubstr("model registry of fs:"));
}

}  // namespace
