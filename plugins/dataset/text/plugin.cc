// SPDX-License-Identifier: Apache-2.0
// dataset.text: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "text.h"

namespace {

using aimass::ParamSpec;
using aimass::plugins::dataset::TextDataset;
using aimass::plugins::dataset::TextOptions;
using aimass::plugins::dataset::TextPart;
using aimass::plugins::dataset::TextVocabulary;

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("dataset.text registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "dataset.text";
    type.kind = aimass::NodeKind::kDataset;
    type.summary =
        "Text as token ids (bytes or characters): contiguous streams for language modelling, "
        "or a CSV of (text, label) rows for sequence classification";
    type.params.push_back(ParamSpec::path(
        "path",
        "Language modelling: a text file, or a folder whose regular files (not links, not "
        "subfolders) are read in order of their names and concatenated. csv: the CSV file. "
        "Relative paths resolve against the config file's folder."));
    type.params.push_back(
        ParamSpec::string("format",
                          "'text': language modelling over the whole text; 'csv': one row per "
                          "CSV record, for sequence classification.")
            .withDefault(std::string("text"))
            .oneOf({"text", "csv"}));
    type.params.push_back(
        ParamSpec::string("vocabulary",
                          "'bytes': 256 ids, one per byte value; 'chars': the Unicode "
                          "characters the text uses, sorted by code point (the text must be "
                          "UTF-8).")
            .withDefault(std::string("bytes"))
            .oneOf({"bytes", "chars"}));
    type.params.push_back(
        ParamSpec::integer("sequence_length",
                           "Language modelling: tokens per row (each with the next token as "
                           "its label).")
            .withDefault(std::int64_t{64})
            .atLeast(1));
    type.params.push_back(
        ParamSpec::integer("streams",
                           "Language modelling: the text is cut into this many contiguous "
                           "streams; train with batch_size = streams and shuffle: false to "
                           "carry state from batch to batch.")
            .withDefault(std::int64_t{32})
            .atLeast(1));
    type.params.push_back(
        ParamSpec::number("validation_fraction",
                          "Language modelling: the tail fraction of every stream that is the "
                          "validation part.")
            .withDefault(0.0)
            .range(0.0, 0.99));
    type.params.push_back(
        ParamSpec::string("part",
                          "Language modelling: which rows to serve: 'train' (the head of every "
                          "stream), 'validation' (the tail) or 'all'.")
            .withDefault(std::string("all"))
            .oneOf({"train", "validation", "all"}));
    type.params.push_back(ParamSpec::string("text_column", "csv: the column holding the text.")
                              .withDefault(std::string("text")));
    type.params.push_back(ParamSpec::string("label_column", "csv: the column holding the class.")
                              .withDefault(std::string("label")));
    type.params.push_back(
        ParamSpec::integer("max_length", "csv: texts longer than this many tokens are truncated.")
            .withDefault(std::int64_t{512})
            .atLeast(1));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      TextOptions options;
      options.path = config.getPath("path");
      options.csv = config.getString("format") == "csv";
      options.vocabulary = config.getString("vocabulary") == "chars" ? TextVocabulary::kChars
                                                                     : TextVocabulary::kBytes;
      options.sequence_length = config.getInt("sequence_length");
      options.streams = config.getInt("streams");
      options.validation_fraction = config.getFloat("validation_fraction");
      const std::string& part = config.getString("part");
      options.part = part == "train"        ? TextPart::kTrain
                     : part == "validation" ? TextPart::kValidation
                                            : TextPart::kAll;
      options.text_column = config.getString("text_column");
      options.label_column = config.getString("label_column");
      options.max_length = config.getInt("max_length");
      auto data = TextDataset::open(options);
      if (!data.ok()) {
        return data.status();
      }
      return std::unique_ptr<aimass::Node>(std::move(data).value());
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("dataset.text", "1.0.0", "Text datasets: token streams and labelled texts",
              &registerTypes)
