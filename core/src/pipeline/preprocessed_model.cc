// SPDX-License-Identifier: Apache-2.0
#include "pipeline/preprocessed_model.h"

#include <cmath>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "aimass/byte_io.h"
#include "aimass/tensor_names.h"
#include "param_conversion.h"

namespace aimass::core {
namespace {

void putText(ByteWriter& out, std::string_view text) {
  out.u64(text.size());
  out.bytes(text);
}

/// Fails the reader (and gives "") when fewer bytes remain than the size says.
std::string getText(ByteReader& in) {
  const std::uint64_t size = in.u64();
  return in.bytes(size);
}

void putNames(ByteWriter& out, const std::vector<std::string>& names) {
  out.u32(static_cast<std::uint32_t>(names.size()));
  for (const auto& name : names) {
    putText(out, name);
  }
}

std::vector<std::string> getNames(ByteReader& in) {
  std::vector<std::string> names;
  const std::uint32_t count = in.u32();
  for (std::uint32_t i = 0; in.ok() && i < count; ++i) {
    names.push_back(getText(in));
  }
  return names;
}

/// A dataset seen through a pipeline's transforms: what a self-trained model fits on.
class PreprocessedDataset final : public Dataset {
 public:
  PreprocessedDataset(const Dataset& data, DatasetSchema schema,
                      std::function<Expected<Batch>(const Batch&)> transform)
      : data_(data), schema_(std::move(schema)), transform_(std::move(transform)) {}

  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return data_.size(); }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    Batch raw;
    AIMASS_RETURN_IF_ERROR(data_.read(rows, raw));
    AIMASS_ASSIGN_OR_RETURN(out, transform_(raw));
    return Status();
  }
  std::string fingerprint() const override { return data_.fingerprint(); }

 private:
  const Dataset& data_;
  DatasetSchema schema_;
  std::function<Expected<Batch>(const Batch&)> transform_;
};

/// The first column of `table`'s numbers holding a NaN, with the row: for the error that asks
/// for an imputer.
Status checkNoneMissing(const Table& table) {
  const auto width = static_cast<std::size_t>(table.columns.numeric.size());
  if (width == 0) {
    return Status();
  }
  const std::span<const float> values = table.numeric.span<float>();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) {
      return invalidArgument("column '" + table.columns.numeric[i % width] +
                             "' still has missing values after preprocess (the first in training "
                             "row " +
                             std::to_string(i / width) +
                             "): fill them with a transform.impute step before it");
    }
  }
  return Status();
}

}  // namespace

PreprocessedModel::PreprocessedModel(NodeMaker make) : make_(std::move(make)) {}

PreprocessedModel::PreprocessedModel(NodeMaker make, std::shared_ptr<Model> model,
                                     std::string model_type, std::vector<PreprocessStep> steps)
    : make_(std::move(make)),
      model_(std::move(model)),
      model_type_(std::move(model_type)),
      steps_(std::move(steps)) {}

Status PreprocessedModel::checkFitted(std::string_view what) const {
  if (!model_) {
    return failedPrecondition(std::string(what) + ": this " + kType +
                              " holds no model; it is what a model node with `preprocess:` "
                              "saves, so declare the model's own type with preprocess: [...] "
                              "instead");
  }
  if (!fitted_) {
    return failedPrecondition(std::string(what) +
                              ": the preprocessing is not fitted yet (job.train fits it on the "
                              "training rows)");
  }
  return Status();
}

Status PreprocessedModel::fitPreprocessing(const Dataset& data,
                                           std::span<const std::uint64_t> rows) {
  if (!model_) {
    return checkFitted("fitting the preprocessing");
  }
  fitted_ = false;
  AIMASS_ASSIGN_OR_RETURN(TableColumns raw, rawColumns(data.schema()));
  for (const auto& name : raw.strings) {
    if (name == tensor_names::kInput) {
      return invalidArgument("the data has a text column named 'input', which the served "
                             "model's block of numbers is called: rename the column");
    }
  }
  if (rows.empty()) {
    return invalidArgument("preprocess needs training rows to fit on, and there are none");
  }
  Batch batch;
  AIMASS_RETURN_IF_ERROR(data.read(rows, batch));
  AIMASS_ASSIGN_OR_RETURN(Table table, batchTable(batch, raw));
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    const PreprocessStep& step = steps_[i];
    const std::string where = "preprocess step " + std::to_string(i + 1) + " (" + step.type + ")";
    Expected<TableColumns> columns = invalidArgument("not fitted");
    Status status = guard(where, [&] {
      columns = step.transform->fit(table);
      return columns.ok() ? Status() : columns.status();
    });
    if (!status.ok()) {
      return status.withContext("fitting " + where);
    }
    Table out;
    status = guard(where, [&] { return step.transform->apply(table, out); });
    if (!status.ok()) {
      return status.withContext("applying " + where + " to the training rows");
    }
    if (out.columns != *columns || out.rows() != table.rows()) {
      return internalError(where + " gave other columns or rows than fit() announced");
    }
    table = std::move(out);
  }
  if (!table.columns.strings.empty()) {
    return invalidArgument("after preprocess the text columns [" +
                           joinNames(table.columns.strings) +
                           "] remain, but a model takes numbers: encode them with "
                           "transform.onehot or transform.ordinal (or drop them with "
                           "transform.select)");
  }
  if (table.columns.numeric.empty()) {
    return invalidArgument("preprocess left no columns for the model");
  }
  AIMASS_RETURN_IF_ERROR(checkNoneMissing(table));
  raw_ = std::move(raw);
  processed_ = table.columns;
  fitted_ = true;
  return Status();
}

ModelSchema PreprocessedModel::schema() const {
  if (!model_) {
    return ModelSchema{};
  }
  ModelSchema schema = model_->schema();
  schema.inputs = fitted_ ? rawInputSpecs(raw_) : std::vector<TensorSpec>{};
  return schema;
}

bool PreprocessedModel::ready() const { return model_ && fitted_ && model_->ready(); }

Status PreprocessedModel::predict(const TensorMap& inputs, TensorMap& outputs,
                                  const PredictOptions& options) const {
  AIMASS_RETURN_IF_ERROR(checkFitted("predict"));
  AIMASS_ASSIGN_OR_RETURN(Table raw, inputsTable(inputs, raw_));
  AIMASS_ASSIGN_OR_RETURN(Table processed, applySteps(steps_, std::move(raw)));
  TensorMap model_inputs;
  model_inputs.set(std::string(tensor_names::kInput), std::move(processed.numeric));
  return model_->predict(model_inputs, outputs, options);
}

GradientTraining* PreprocessedModel::gradientTraining() {
  return model_ && model_->gradientTraining() != nullptr ? this : nullptr;
}

SelfTraining* PreprocessedModel::selfTraining() {
  return model_ && model_->selfTraining() != nullptr ? this : nullptr;
}

Expected<Batch> PreprocessedModel::transformBatch(const Batch& batch) const {
  AIMASS_ASSIGN_OR_RETURN(Table raw, batchTable(batch, raw_));
  AIMASS_ASSIGN_OR_RETURN(Table processed, applySteps(steps_, std::move(raw)));
  Batch out;
  out.features = std::move(processed.numeric);
  out.labels = batch.labels;
  out.lengths = batch.lengths;
  return out;
}

Status PreprocessedModel::prepare(const DatasetSchema& schema, std::uint64_t seed) {
  AIMASS_RETURN_IF_ERROR(checkFitted("prepare"));
  AIMASS_ASSIGN_OR_RETURN(TableColumns raw, rawColumns(schema));
  if (raw != raw_) {
    return invalidArgument("the preprocessing was fitted on data with the columns [" +
                           joinNames(raw_.numeric) + "] and text [" +
                           joinNames(raw_.strings) + "], not [" + joinNames(raw.numeric) +
                           "] and text [" + joinNames(raw.strings) + "]");
  }
  return model_->gradientTraining()->prepare(preprocessedSchema(schema, processed_), seed);
}

std::vector<Parameter> PreprocessedModel::parameters() {
  return model_->gradientTraining()->parameters();
}

Expected<double> PreprocessedModel::forwardBackward(const Batch& batch, bool training) {
  AIMASS_ASSIGN_OR_RETURN(Batch processed, transformBatch(batch));
  return model_->gradientTraining()->forwardBackward(processed, training);
}

Expected<double> PreprocessedModel::evaluateLoss(const Batch& batch) const {
  AIMASS_ASSIGN_OR_RETURN(Batch processed, transformBatch(batch));
  return model_->gradientTraining()->evaluateLoss(processed);
}

void PreprocessedModel::resetState() { model_->gradientTraining()->resetState(); }

Status PreprocessedModel::fit(const Dataset& data, std::uint64_t seed, FitObserver& observer) {
  if (!fitted_) {
    std::vector<std::uint64_t> rows(data.size());
    std::iota(rows.begin(), rows.end(), std::uint64_t{0});
    AIMASS_RETURN_IF_ERROR(fitPreprocessing(data, rows));
  }
  PreprocessedDataset view(data, preprocessedSchema(data.schema(), processed_),
                           [this](const Batch& batch) { return transformBatch(batch); });
  return model_->selfTraining()->fit(view, seed, observer);
}

Status PreprocessedModel::save(std::string& payload) const {
  AIMASS_RETURN_IF_ERROR(checkFitted("save"));
  std::string out;
  ByteWriter writer(out);
  putNames(writer, raw_.numeric);
  putNames(writer, raw_.strings);
  writer.u32(static_cast<std::uint32_t>(steps_.size()));
  for (const auto& step : steps_) {
    std::string bytes;
    AIMASS_RETURN_IF_ERROR(guard("saving " + step.type, [&] { return step.transform->save(bytes); }));
    putText(writer, step.type);
    writer.u32(step.transform->formatVersion());
    putText(writer, bytes);
  }
  std::string bytes;
  AIMASS_RETURN_IF_ERROR(guard("saving " + model_type_, [&] { return model_->save(bytes); }));
  putText(writer, model_type_);
  writer.u32(model_->formatVersion());
  putText(writer, bytes);
  payload = std::move(out);
  return Status();
}

Status PreprocessedModel::load(std::string_view payload, std::uint32_t format_version) {
  if (format_version != 1) {
    return invalidArgument(std::string(kType) + " format version " +
                           std::to_string(format_version) + " is not one this host reads (1)");
  }
  if (!make_) {
    return failedPrecondition("this pipeline cannot make the nodes of a saved one");
  }
  ByteReader reader(payload);
  TableColumns raw;
  raw.numeric = getNames(reader);
  raw.strings = getNames(reader);
  const std::uint32_t count = reader.u32();
  if (!reader.ok() || count > reader.remaining()) {
    return invalidArgument("the saved pipeline is truncated");
  }
  std::vector<PreprocessStep> steps;
  TableColumns columns = raw;  // flows through the steps: each takes what the last gave
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::string type = getText(reader);
    const std::uint32_t version = reader.u32();
    const std::string bytes = getText(reader);
    if (!reader.ok()) {
      return invalidArgument("the saved pipeline is truncated in step " + std::to_string(i + 1));
    }
    AIMASS_ASSIGN_OR_RETURN(std::shared_ptr<Node> node, make_(type));
    if (node->kind() != NodeKind::kTransform) {
      return invalidArgument("the saved pipeline's step " + std::to_string(i + 1) + " is a " +
                             type + ", which is not a transform");
    }
    auto transform = std::static_pointer_cast<Transform>(std::move(node));
    Status loaded = guard("loading " + type, [&] { return transform->load(bytes, version); });
    if (!loaded.ok()) {
      return loaded.withContext("the saved pipeline's step " + std::to_string(i + 1));
    }
    if (transform->inputColumns() != columns) {
      return invalidArgument("the saved pipeline's step " + std::to_string(i + 1) + " (" + type +
                             ") takes other columns than the step before it gives");
    }
    columns = transform->outputColumns();
    steps.push_back({type, std::move(transform)});
  }
  const std::string model_type = getText(reader);
  const std::uint32_t model_version = reader.u32();
  const std::string bytes = getText(reader);
  if (!reader.ok() || !reader.atEnd()) {
    return invalidArgument("the saved pipeline's model is truncated or followed by extra bytes");
  }
  if (!columns.strings.empty() || columns.numeric.empty()) {
    return invalidArgument("the saved pipeline's steps do not end in numbers only");
  }
  // A pipeline that wraps a model of the saved type (a graph's node resuming from a checkpoint)
  // loads into it, keeping the settings the node was made with; else a fresh one is made.
  std::shared_ptr<Model> model = model_type == model_type_ ? model_ : nullptr;
  if (!model) {
    AIMASS_ASSIGN_OR_RETURN(std::shared_ptr<Node> node, make_(model_type));
    if (node->kind() != NodeKind::kModel) {
      return invalidArgument("the saved pipeline's model is a " + model_type +
                             ", which is not a model type");
    }
    model = std::static_pointer_cast<Model>(std::move(node));
  }
  Status loaded = guard("loading " + model_type, [&] { return model->load(bytes, model_version); });
  if (!loaded.ok()) {
    return loaded.withContext("the saved pipeline's model (" + model_type + ")");
  }
  model_ = std::move(model);
  model_type_ = model_type;
  steps_ = std::move(steps);
  raw_ = std::move(raw);
  processed_ = std::move(columns);
  fitted_ = true;
  return Status();
}

}  // namespace aimass::core
