// SPDX-License-Identifier: Apache-2.0
#include "annotation/annotation_export.h"

#include <cmath>
#include <filesystem>

#include "aimass/core/dataset_registry.h"
#include "aimass/core/sha256.h"
#include "aimass/util/json_writer.h"
#include "aimass/util/number_text.h"
#include "annotation/annotation_node.h"
#include "file_whole.h"
#include "monitoring/labelled_rows.h"
#include "record_text.h"

namespace aimass::core::annotation {
namespace {

constexpr std::size_t kChunkRows = 512;

/// A number as a CSV field: empty (missing) when it is not finite.
std::string number(double x) { return std::isfinite(x) ? formatNumber(x) : std::string(); }

/// Calls `visit(row, batch_of_that_row, label)` for every accepted task, reading rows in chunks.
template <typename Visit>
Status forEachAccepted(const AnnotationNode& node, const std::map<std::uint64_t, Label>& labels,
                       Visit visit) {
  std::vector<std::uint64_t> rows;
  std::vector<const Label*> chunk_labels;
  Batch batch, one;
  auto flush = [&]() -> Status {
    if (rows.empty()) return Status();
    AIMASS_RETURN_IF_ERROR(node.data().read(rows, batch));
    const std::int64_t features = batch.features.numel() / static_cast<std::int64_t>(rows.size());
    const std::size_t strings =
        batch.strings.dtype() == DType::kBytes ? batch.strings.strings().size() / rows.size() : 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      std::vector<float> x;
      if (batch.features.dtype() == DType::kFloat32) {
        x.assign(batch.features.data<float>() + static_cast<std::int64_t>(i) * features,
                 batch.features.data<float>() + static_cast<std::int64_t>(i + 1) * features);
      }
      one.features = Tensor::fromVector(x, {1, features});
      std::vector<std::string> s;
      for (std::size_t k = 0; k < strings; ++k)
        s.push_back(batch.strings.strings()[i * strings + k]);
      one.strings = strings ? Tensor::fromStrings(std::move(s)) : Tensor();
      visit(rows[i], one, *chunk_labels[i]);
    }
    rows.clear();
    chunk_labels.clear();
    return Status();
  };
  for (const auto& [row, label] : labels) {
    rows.push_back(row);
    chunk_labels.push_back(&label);
    if (rows.size() == kChunkRows) AIMASS_RETURN_IF_ERROR(flush());
  }
  return flush();
}

std::string csvHeader(const AnnotationNode& node) {
  const DatasetSchema& schema = node.data().schema();
  const LabelConfig& labels = node.settings().labels;
  std::string header;
  auto column = [&](const std::string& name) {
    header += (header.empty() ? "" : ",") + csvField(name);
  };
  if (labels.task == LabelTask::kBoxes || labels.task == LabelTask::kSpans) {
    column("task");
    if (labels.task == LabelTask::kSpans) column("text");
    if (labels.task == LabelTask::kBoxes) {
      for (const char* f : {"x", "y", "w", "h"}) column(f);
    } else {
      for (const char* f : {"start", "end"}) column(f);
    }
    column("label");
    return header + "\n";
  }
  std::int64_t features = 1;
  for (auto d : schema.row_shape) features *= d;
  for (std::int64_t i = 0; i < features; ++i) {
    column(static_cast<std::size_t>(i) < schema.feature_names.size()
               ? schema.feature_names[static_cast<std::size_t>(i)]
               : "x" + std::to_string(i));
  }
  for (const auto& name : schema.string_feature_names) column(name);
  if (labels.task == LabelTask::kClass) column("label");
  if (labels.task == LabelTask::kValue) column("value");
  if (labels.task == LabelTask::kClasses) {
    for (const auto& choice : labels.choices) column(choice);
  }
  return header + "\n";
}

void csvLines(const AnnotationNode& node, std::uint64_t row, const Batch& one, const Label& label,
              std::string& out) {
  const LabelConfig& labels = node.settings().labels;
  if (labels.task == LabelTask::kBoxes) {
    for (const auto& b : label.boxes) {
      out += std::to_string(row) + "," + number(b.x) + "," + number(b.y) + "," + number(b.w) + "," +
             number(b.h) + "," + csvField(labels.choices[static_cast<std::size_t>(b.label)]) + "\n";
    }
    return;
  }
  if (labels.task == LabelTask::kSpans) {
    const std::string text = contentText(node.layout(), one);
    for (const auto& s : label.spans) {
      out += std::to_string(row) + "," + csvField(text) + "," + std::to_string(s.start) + "," +
             std::to_string(s.end) + "," +
             csvField(labels.choices[static_cast<std::size_t>(s.label)]) + "\n";
    }
    return;
  }
  std::string line;
  auto field = [&](const std::string& text) { line += (line.empty() ? "" : ",") + text; };
  if (one.features.dtype() == DType::kFloat32) {
    for (std::int64_t i = 0; i < one.features.numel(); ++i) {
      field(number(static_cast<double>(one.features.data<float>()[i])));
    }
  }
  if (one.strings.dtype() == DType::kBytes) {
    for (const auto& s : one.strings.strings()) field(csvField(s));
  }
  if (labels.task == LabelTask::kClass) {
    field(csvField(labels.choices[static_cast<std::size_t>(label.classes.at(0))]));
  } else if (labels.task == LabelTask::kValue) {
    field(number(label.value));
  } else {
    for (std::size_t c = 0; c < labels.choices.size(); ++c) {
      const bool on = std::find(label.classes.begin(), label.classes.end(), static_cast<int>(c)) !=
                      label.classes.end();
      field(on ? "1" : "0");
    }
  }
  out += line + "\n";
}

std::string cocoJson(const AnnotationNode& node, const std::map<std::uint64_t, Label>& accepted) {
  const LabelConfig& labels = node.settings().labels;
  const ContentLayout& layout = node.layout();
  JsonWriter json;
  json.beginObject()
      .key("info")
      .beginObject()
      .key("description")
      .value("aimass annotation project " + node.settings().name);
  json.endObject().key("images").beginArray();
  for (const auto& [row, label] : accepted) {
    json.beginObject().key("id").value(row).key("width").value(layout.width);
    json.key("height").value(layout.height);
    json.key("file_name").value("row-" + std::to_string(row) + ".png").endObject();
  }
  json.endArray().key("annotations").beginArray();
  std::uint64_t id = 1;
  for (const auto& [row, label] : accepted) {
    for (const auto& b : label.boxes) {
      json.beginObject().key("id").value(id++).key("image_id").value(row);
      json.key("category_id").value(static_cast<std::int64_t>(b.label + 1));
      json.key("bbox").beginArray().value(b.x).value(b.y).value(b.w).value(b.h).endArray();
      json.key("area").value(b.w * b.h).key("iscrowd").value(std::int64_t{0}).endObject();
    }
  }
  json.endArray().key("categories").beginArray();
  for (std::size_t c = 0; c < labels.choices.size(); ++c) {
    json.beginObject().key("id").value(static_cast<std::uint64_t>(c + 1));
    json.key("name").value(labels.choices[c]).endObject();
  }
  json.endArray().endObject();
  return json.str();
}

std::string labelConfigJson(const LabelConfig& labels) {
  JsonWriter json;
  json.beginObject().key("task").value(labelTaskName(labels.task));
  if (labels.task == LabelTask::kValue) {
    json.key("min").value(labels.min).key("max").value(labels.max);
  } else {
    json.key("choices").beginArray();
    for (const auto& c : labels.choices) json.value(c);
    json.endArray();
  }
  json.endObject();
  return json.str();
}

Status registerExport(const AnnotationNode& node, const std::string& actor, ExportResult& out) {
  const ProjectSettings& s = node.settings();
  const bool coco = out.content_type == "application/json";
  std::filesystem::create_directories(s.export_dir);
  const std::filesystem::path path =
      s.export_dir / (s.dataset_name + "-" + out.sha256.substr(0, 12) + (coco ? ".json" : ".csv"));
  AIMASS_RETURN_IF_ERROR(writeFileWhole(path, out.body).withContext("the export"));
  // The newest export also under a name that stays put, for a retrain graph to read.
  const std::filesystem::path latest = s.export_dir / (s.dataset_name + (coco ? ".json" : ".csv"));
  AIMASS_RETURN_IF_ERROR(writeFileWhole(latest, out.body).withContext("the export"));
  const std::string config = labelConfigJson(s.labels);
  NewDatasetVersion version;
  version.type = coco ? "coco" : "dataset.csv";
  version.source = "annotation project '" + s.name + "' (" +
                   std::string(labelTaskName(s.labels.task)) + ", label configuration sha256 " +
                   Sha256::of(config).substr(0, 12) + ") at " + path.string();
  version.sha256 = out.sha256;
  version.rows = out.rows;
  version.fingerprint = node.data().fingerprint();
  AIMASS_ASSIGN_OR_RETURN(DatasetVersion registered,
                          DatasetRegistry(node.storage()).registerVersion(s.dataset_name, version));
  out.path = path.string();
  out.dataset = registered.name + "/" + std::to_string(registered.version);
  JsonWriter lineage;
  lineage.beginObject().key("dataset").value(registered.name);
  lineage.key("version").value(registered.version).key("path").value(out.path);
  lineage.key("rows").value(out.rows).key("sha256").value(out.sha256);
  lineage.key("project").value(s.name).key("label_config").json(config);
  lineage.key("source_fingerprint").value(version.fingerprint);
  lineage.key("exported_by").value(actor).key("unix_ms").value(record::nowUnixMs());
  lineage.endObject();
  return node.storage().put(
      "annotation/" + s.name + "/exports/" + record::versionSegment(registered.version),
      lineage.str());
}

}  // namespace

Expected<ExportFormat> parseExportFormat(std::string_view name) {
  if (name == "dataset") return ExportFormat::kDataset;
  if (name == "csv") return ExportFormat::kCsv;
  if (name == "coco") return ExportFormat::kCoco;
  return invalidArgument("export format '" + std::string(name.substr(0, 40)) +
                         "' is not dataset, csv or coco");
}

Expected<ExportResult> exportLabels(const AnnotationNode& node, ExportFormat format,
                                    const std::string& actor) {
  const LabelConfig& labels = node.settings().labels;
  const bool boxes = labels.task == LabelTask::kBoxes;
  if (format == ExportFormat::kCoco && !boxes) {
    return invalidArgument("COCO JSON holds boxes; this project labels " +
                           std::string(labelTaskName(labels.task)) + " (export csv)");
  }
  const auto accepted = node.book().acceptedLabels();
  if (accepted.empty()) {
    return aborted("project '" + node.settings().name + "' has no accepted task yet");
  }
  ExportResult out;
  out.rows = accepted.size();
  if (format == ExportFormat::kCoco || (format == ExportFormat::kDataset && boxes)) {
    out.body = cocoJson(node, accepted);
    out.content_type = "application/json";
  } else {
    out.body = csvHeader(node);
    AIMASS_RETURN_IF_ERROR(forEachAccepted(
        node, accepted, [&](std::uint64_t row, const Batch& one, const Label& label) {
          csvLines(node, row, one, label, out.body);
        }));
    out.content_type = "text/csv";
  }
  out.sha256 = Sha256::of(out.body);
  if (format == ExportFormat::kDataset) {
    AIMASS_RETURN_IF_ERROR(registerExport(node, actor, out));
  }
  return out;
}

}  // namespace aimass::core::annotation
