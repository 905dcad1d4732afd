// SPDX-License-Identifier: Apache-2.0
// A project's accepted labels as files: a CSV (the rows' columns, then the labels), COCO JSON
// (boxes), and a registered dataset version of the registry (content-hashed; the project, its
// label configuration and its source dataset as lineage) that job.train reads with dataset.csv.
#pragma once

#include <cstdint>
#include <string>

#include "aimass/status.h"

namespace aimass::core::annotation {

class AnnotationNode;

enum class ExportFormat {
  kDataset,  ///< written under export_dir and registered (CSV; COCO JSON for boxes)
  kCsv,      ///< the CSV, returned
  kCoco,     ///< COCO JSON, returned (boxes only)
};
Expected<ExportFormat> parseExportFormat(std::string_view name);  ///< "dataset", "csv", "coco"

struct ExportResult {
  std::string body;          ///< the file
  std::string content_type;  ///< "text/csv" or "application/json"
  std::uint64_t rows = 0;    ///< accepted tasks exported
  std::string sha256;        ///< of body
  std::string path;          ///< kDataset: where it was written
  std::string dataset;       ///< kDataset: "<name>/<version>" registered
};

/// Exports every accepted task of `node` in `format`. CSV columns: the dataset's feature
/// columns (x0, x1, ... for unnamed ones) and text columns, then for class `label`, for
/// classes one 0/1 column per choice, for value `value`; boxes and spans become one line per
/// region (`task`, the region's fields, `label`). kDataset also writes the file whole under
/// export_dir (as <dataset_name>-<sha256 prefix>.csv, and as <dataset_name>.csv, the newest,
/// which a retrain graph reads), registers it as a version of the project's dataset (an unchanged
/// export is the same version) and records its lineage at "annotation/<project>/exports/<version>".
/// kInvalidArgument for COCO of a task that is not boxes; kAborted (409) when nothing is
/// accepted yet.
Expected<ExportResult> exportLabels(const AnnotationNode& node, ExportFormat format,
                                    const std::string& actor);

}  // namespace aimass::core::annotation
