// SPDX-License-Identifier: Apache-2.0
#include "file_whole.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

namespace aimass::core {

Status writeFileWhole(const std::filesystem::path& path, std::string_view text) {
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  std::error_code ignored;
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) {
      const std::string reason = std::strerror(errno);
      std::filesystem::remove(temporary, ignored);
      return unavailable("writing " + temporary.string() + ": " + reason);
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::filesystem::remove(temporary, ignored);
    return unavailable("renaming " + temporary.string() + " to " + path.string() + ": " +
                       error.message());
  }
  return okStatus();
}

}  // namespace aimass::core
