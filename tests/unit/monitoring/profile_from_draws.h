// SPDX-License-Identifier: Apache-2.0
#pragma once

// Training-data profiles of generated rows, built by the real DataProfileBuilder, for the
// monitoring tests.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data_profile.h"

namespace aimass::core::testing {

/// The profile of `rows` rows: `numbers` row-major (numberNames.size() values a row) and
/// `texts` row-major (textNames.size() values a row), added in batches of 1000 rows.
inline DataProfile profileOf(const std::vector<std::string>& number_names,
                             const std::vector<float>& numbers,
                             const std::vector<std::string>& text_names = {},
                             const std::vector<std::string>& texts = {}) {
  DatasetSchema schema;
  schema.feature_names = number_names;
  schema.row_shape = {static_cast<std::int64_t>(number_names.size())};
  schema.string_feature_names = text_names;
  auto builder = DataProfileBuilder::forSchema(schema);
  EXPECT_TRUE(builder.ok()) << builder.status().toString();
  const std::size_t width = number_names.size(), text_width = text_names.size();
  const std::size_t rows = width > 0 ? numbers.size() / width : texts.size() / text_width;
  constexpr std::size_t kBatch = 1000;
  for (std::size_t begin = 0; begin < rows; begin += kBatch) {
    const std::size_t end = std::min(rows, begin + kBatch);
    const auto n = static_cast<std::int64_t>(end - begin);
    Batch batch;
    batch.features = Tensor::fromVector(
        std::vector<float>(numbers.begin() + static_cast<std::ptrdiff_t>(begin * width),
                           numbers.begin() + static_cast<std::ptrdiff_t>(end * width)),
        {n, static_cast<std::int64_t>(width)});
    if (text_width > 0) {
      batch.strings =
          Tensor::fromStrings(std::vector<std::string>(
                                  texts.begin() + static_cast<std::ptrdiff_t>(begin * text_width),
                                  texts.begin() + static_cast<std::ptrdiff_t>(end * text_width)))
              .reshaped({n, static_cast<std::int64_t>(text_width)});
    }
    EXPECT_TRUE(builder->add(batch).ok());
  }
  return builder->finish();
}

}  // namespace aimass::core::testing
