// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>

#include "aimass/http.h"
#include "aimass/status.h"

namespace aimass::plugins::frontend {

/// The web console's files (ui/, built by `npm run build` into share/aimass/ui), served by
/// frontend.http under /ui/.
///
/// The whole folder is read into memory when the frontend starts, so a request never touches
/// the file system: a path is looked up in a map of the files found then, and "..", "%2e",
/// symbolic links or files added later can never be reached. Text files (HTML, JavaScript, CSS,
/// JSON, SVG, maps) are also kept gzip-compressed when that saves at least a tenth, and sent so
/// to clients that accept gzip.
///
/// Answers:
///   GET /ui               301 to "ui/" (relative, so it works under a reverse proxy's prefix)
///   GET /ui/              index.html
///   GET /ui/<file>        the file: Cache-Control "public, max-age=31536000, immutable" under
///                         assets/ (Vite names those by their content's hash), "no-cache" for
///                         the others; an ETag of the content, and 304 for a matching
///                         If-None-Match
/// Every answer carries a strict Content-Security-Policy (scripts, styles, images, fonts and
/// fetches from this origin only; no inline script, no framing), X-Content-Type-Options
/// nosniff, Referrer-Policy no-referrer and X-Frame-Options DENY. An unknown file is a JSON
/// 404; with no console (not built, or not installed), every /ui path is a JSON 404 saying why.
///
/// Threading: immutable after load(); serve() may be called from many threads at once.
class ConsoleFiles {
 public:
  /// Largest console accepted: a folder holding more is not the console build (or is broken).
  static constexpr std::size_t kMaxTotalBytes = 64u << 20;
  static constexpr std::size_t kMaxFiles = 4096;
  /// The policy every console answer carries.
  static constexpr const char* kContentSecurityPolicy =
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
      "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
      "frame-ancestors 'none'; form-action 'self'";

  /// No console: every /ui path answers 404 with `why` ("this aimass was built without
  /// Node.js", ...).
  static ConsoleFiles missing(std::string why);
  /// Reads `dir` (its regular files, recursively; symbolic links are skipped). kNotFound when
  /// `dir` or its index.html does not exist, kInvalidArgument when it is not a folder or holds
  /// more than kMaxFiles files or kMaxTotalBytes bytes, kUnavailable when a file cannot be read;
  /// each error names the path.
  static Expected<ConsoleFiles> load(const std::filesystem::path& dir);

  /// Whether `path` (decoded, without the query) is /ui or under /ui/.
  static bool handles(std::string_view path);
  /// Answers a GET of a path handles() accepted.
  void serve(const HttpRequest& request, HttpResponse& response) const;

  bool available() const { return !files_.empty(); }
  std::size_t fileCount() const { return files_.size(); }
  std::size_t totalBytes() const;
  /// Why there is no console (empty when available()).
  const std::string& missingReason() const { return why_missing_; }

 private:
  struct File {
    std::string content;
    std::string gzipped;  ///< empty: not worth sending compressed
    std::string content_type;
    std::string etag;  ///< quoted
    bool immutable = false;
  };

  std::map<std::string, File, std::less<>> files_;  ///< by path below the folder: "assets/x.js"
  std::string why_missing_;
};

}  // namespace aimass::plugins::frontend
