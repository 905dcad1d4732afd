// SPDX-License-Identifier: Apache-2.0
// dataset.images: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "aimass/host.h"
#include "images.h"

namespace {

using aimass::ParamSpec;
using aimass::plugins::dataset::ImageFolderOptions;

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("dataset.images registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "dataset.images";
    type.kind = aimass::NodeKind::kDataset;
    type.summary =
        "A folder of PNG and JPEG images (told apart by content), scaled to one size, with a "
        "class per subfolder or unlabelled";
    // No examples: no image folder is installed with the plugin, so `aimass plugin check`
    // reports this type as skipped rather than testing a made-up folder.
    type.params.push_back(ParamSpec::path(
        "path",
        "Folder of the images. Every file under it (at any depth) must be a PNG or a JPEG, "
        "whatever its name says; hidden files and folders (names starting with '.') are "
        "skipped."));
    type.params.push_back(
        ParamSpec::string("labels",
                          "'none': unlabelled, every image under the folder. 'folders': one "
                          "class per subfolder, named after it and numbered in name order; "
                          "every image must be in one.")
            .withDefault(std::string("none"))
            .oneOf({"none", "folders"}));
    type.params.push_back(
        ParamSpec::integer("width",
                           "Width every image is scaled to (area averaging); 0 with height 0: "
                           "every image must have the first image's size.")
            .withDefault(std::int64_t{0})
            .range(0, 65535));
    type.params.push_back(
        ParamSpec::integer("height", "Height every image is scaled to; 0 with width 0 (see width).")
            .withDefault(std::int64_t{0})
            .range(0, 65535));
    type.params.push_back(
        ParamSpec::integer("channels",
                           "1: gray (color as BT.601 luma); 3: RGB, a pixel's three values "
                           "together. Transparency is composited over white.")
            .withDefault(std::int64_t{1})
            .range(1, 3));
    type.params.push_back(ParamSpec::string("normalize", "'scale': value/255; 'none': 0 to 255.")
                              .withDefault(std::string("scale"))
                              .oneOf({"scale", "none"}));
    type.params.push_back(
        ParamSpec::integer("max_pixels",
                           "An image whose header declares more pixels (width x height) is "
                           "refused before it is decoded: the decompression-bomb guard.")
            .withDefault(std::int64_t{40'000'000})
            .atLeast(1));
    type.params.push_back(
        ParamSpec::integer("max_file_bytes", "A file larger than this is refused unread.")
            .withDefault(std::int64_t{50 << 20})
            .atLeast(1));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      ImageFolderOptions options;
      options.folder = config.getPath("path");
      options.labels = config.getString("labels") == "folders"
                           ? aimass::plugins::dataset::ImageLabels::kFolders
                           : aimass::plugins::dataset::ImageLabels::kNone;
      options.width = static_cast<std::uint32_t>(config.getInt("width"));
      options.height = static_cast<std::uint32_t>(config.getInt("height"));
      options.channels = static_cast<int>(config.getInt("channels"));
      options.normalize = config.getString("normalize") == "none"
                              ? aimass::plugins::dataset::ImageNormalize::kNone
                              : aimass::plugins::dataset::ImageNormalize::kScale;
      options.max_pixels = static_cast<std::uint64_t>(config.getInt("max_pixels"));
      options.max_file_bytes = static_cast<std::uint64_t>(config.getInt("max_file_bytes"));
      auto data = aimass::plugins::dataset::ImageFolderDataset::open(options);
      if (!data.ok()) {
        return data.status();
      }
      return std::unique_ptr<aimass::Node>(std::move(data).value());
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("dataset.images", "1.0.0", "Folders of PNG and JPEG images", &registerTypes)
