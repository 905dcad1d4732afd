// SPDX-License-Identifier: Apache-2.0
#include "console_files.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <system_error>

#include "aimass/util/http_text.h"

namespace aimass::plugins::frontend {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPrefix = "/ui";

/// The media type by file extension; what a Vite build emits, and octet-stream otherwise (with
/// nosniff, a browser then never runs or renders it).
std::string contentTypeFor(const fs::path& file) {
  static const std::map<std::string, std::string, std::less<>> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".webp", "image/webp"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  };
  auto found = kTypes.find(file.extension().string());
  return found == kTypes.end() ? "application/octet-stream" : found->second;
}

bool compressible(std::string_view content_type) {
  return content_type.starts_with("text/") || content_type == "application/json" ||
         content_type == "image/svg+xml";
}

/// `content` in gzip format (RFC 1952) at zlib's best compression; empty when zlib fails.
std::string gzip(const std::string& content) {
  z_stream stream{};
  // 15 window bits + 16: a gzip header and trailer rather than zlib's.
  if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return {};
  }
  std::string out(deflateBound(&stream, content.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(content.data()));
  stream.avail_in = static_cast<uInt>(content.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return result == Z_STREAM_END ? out : std::string();
}

/// A strong ETag: the content's 64-bit FNV-1a hash and its length, quoted.
std::string etagOf(const std::string& content) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : content) {
    hash = (hash ^ c) * 0x100000001b3ull;
  }
  char text[48];
  std::snprintf(text, sizeof text, "\"%016llx-%zx\"", static_cast<unsigned long long>(hash),
                content.size());
  return text;
}

/// `text` without its leading and trailing spaces and tabs.
std::string_view trimmed(std::string_view text) {
  const std::size_t first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

/// Calls `item` with each element of a comma-separated header value, trimmed, until it
/// returns true; whether one did.
template <typename Item>
bool anyListItem(std::string_view header, Item item) {
  std::size_t start = 0;
  while (start < header.size()) {
    const std::size_t end = std::min(header.find(',', start), header.size());
    if (item(trimmed(header.substr(start, end - start)))) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

/// Whether an If-None-Match value lists `etag` (or is "*"); weak tags compare too (RFC 9110
/// 13.1.2 uses the weak comparison for If-None-Match).
bool matchesEtag(std::string_view header, std::string_view etag) {
  return anyListItem(header, [&](std::string_view tag) {
    if (tag.starts_with("W/")) {
      tag.remove_prefix(2);
    }
    return tag == "*" || tag == etag;
  });
}

/// The q= weight in a coding's parameters (";q=0.5"), 1 without one; 0 for a malformed one.
double qualityOf(std::string_view params) {
  const std::size_t q = params.find("q=");
  if (q == std::string_view::npos) {
    return 1;
  }
  std::string_view digits = params.substr(q + 2, 5);  // at most "0.xyz" or "1.000"
  digits = digits.substr(0, digits.find_first_not_of("0123456789."));
  if (digits.empty() || digits.front() == '.') {
    return 0;
  }
  return std::strtod(std::string(digits).c_str(), nullptr);
}

/// Whether an Accept-Encoding value accepts gzip: a "gzip" (or "*") coding without q=0.
bool acceptsGzip(std::string_view header) {
  bool accepted = false;
  anyListItem(header, [&](std::string_view coding) {
    const std::size_t semicolon = coding.find(';');
    const std::string_view name = trimmed(coding.substr(0, semicolon));
    if (name != "gzip" && name != "x-gzip" && name != "*") {
      return false;
    }
    accepted = semicolon == std::string_view::npos || qualityOf(coding.substr(semicolon)) > 0;
    return true;
  });
  return accepted;
}

void securityHeaders(HttpResponse& response) {
  response.headers.emplace_back("Content-Security-Policy", ConsoleFiles::kContentSecurityPolicy);
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.headers.emplace_back("X-Frame-Options", "DENY");
}

}  // namespace

ConsoleFiles ConsoleFiles::missing(std::string why) {
  ConsoleFiles console;
  console.why_missing_ = std::move(why);
  return console;
}

Expected<ConsoleFiles> ConsoleFiles::load(const fs::path& dir) {
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  if (ec || !fs::exists(status)) {
    return notFound("no web console at " + dir.string() + " (no such folder)");
  }
  if (!fs::is_directory(status)) {
    return invalidArgument("the web console folder " + dir.string() + " is not a folder");
  }
  if (!fs::is_regular_file(dir / "index.html", ec)) {
    return notFound("no web console at " + dir.string() + " (it has no index.html)");
  }
  ConsoleFiles console;
  std::size_t total = 0;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    if (entry.is_symlink(ec) || !entry.is_regular_file(ec)) {
      continue;
    }
    if (console.files_.size() >= kMaxFiles) {
      return invalidArgument("the web console folder " + dir.string() + " holds more than " +
                             std::to_string(kMaxFiles) + " files");
    }
    // The size is checked before anything is read, so a huge file costs no memory.
    const std::uintmax_t size = entry.file_size(ec);
    if (ec) {
      return unavailable("cannot read " + entry.path().string() + ": " + ec.message());
    }
    total += size;
    if (total > kMaxTotalBytes) {
      return invalidArgument("the web console folder " + dir.string() + " holds more than " +
                             std::to_string(kMaxTotalBytes >> 20) + " MiB");
    }
    File file;
    file.content.resize(size);
    std::ifstream in(entry.path(), std::ios::binary);
    in.read(file.content.data(), static_cast<std::streamsize>(size));
    if (!in || in.gcount() != static_cast<std::streamsize>(size)) {
      return unavailable("cannot read " + entry.path().string());
    }
    const std::string relative = entry.path().lexically_relative(dir).generic_string();
    file.content_type = contentTypeFor(entry.path());
    file.etag = etagOf(file.content);
    file.immutable = relative.starts_with("assets/");
    if (compressible(file.content_type) && file.content.size() >= 256) {
      std::string packed = gzip(file.content);
      if (!packed.empty() && packed.size() * 10 <= file.content.size() * 9) {
        file.gzipped = std::move(packed);
      }
    }
    console.files_.emplace(relative, std::move(file));
  }
  if (ec) {
    return unavailable("cannot list the web console folder " + dir.string() + ": " + ec.message());
  }
  return console;
}

bool ConsoleFiles::handles(std::string_view path) {
  return path == kPrefix ||
         (path.starts_with(kPrefix) && path.size() > kPrefix.size() && path[kPrefix.size()] == '/');
}

std::size_t ConsoleFiles::totalBytes() const {
  std::size_t total = 0;
  for (const auto& [name, file] : files_) {
    total += file.content.size();
  }
  return total;
}

void ConsoleFiles::serve(const HttpRequest& request, HttpResponse& response) const {
  securityHeaders(response);
  if (!available()) {
    jsonError(response, 404, "the web console is not available: " + why_missing_);
    return;
  }
  if (request.path == kPrefix) {
    // Relative, so that behind a proxy serving this server under /prefix/ the browser goes to
    // /prefix/ui/.
    response.status = 301;
    response.content_type = "text/plain; charset=utf-8";
    response.headers.emplace_back("Location", "ui/");
    response.body = "the console is at ui/\n";
    return;
  }
  std::string_view name = std::string_view(request.path).substr(kPrefix.size() + 1);
  if (name.empty()) {
    name = "index.html";
  }
  auto found = files_.find(name);
  if (found == files_.end()) {
    jsonError(response, 404, "the web console has no file " + std::string(name));
    return;
  }
  const File& file = found->second;
  response.headers.emplace_back("ETag", file.etag);
  response.headers.emplace_back(
      "Cache-Control", file.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  if (!file.gzipped.empty()) {
    response.headers.emplace_back("Vary", "Accept-Encoding");
  }
  auto if_none_match = request.headers.find("if-none-match");
  if (if_none_match != request.headers.end() && matchesEtag(if_none_match->second, file.etag)) {
    response.status = 304;
    response.content_type.clear();
    response.body.clear();
    return;
  }
  response.status = 200;
  response.content_type = file.content_type;
  auto accept = request.headers.find("accept-encoding");
  if (!file.gzipped.empty() && accept != request.headers.end() && acceptsGzip(accept->second)) {
    response.headers.emplace_back("Content-Encoding", "gzip");
    response.body = file.gzipped;
  } else {
    response.body = file.content;
  }
}

}  // namespace aimass::plugins::frontend
