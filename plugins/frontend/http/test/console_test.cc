// SPDX-License-Identifier: Apache-2.0
// The web console's files (ConsoleFiles) and GET /api/v1/session: the files alone (caching,
// compression, what can and cannot be reached), then a real frontend on 127.0.0.1 serving
// them, with and without authentication.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/Timespan.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "aimass/core/host_services.h"
#include "aimass/util/http_text.h"
#include "authenticator.h"
#include "console_files.h"
#include "http_call.h"
#include "http_frontend.h"
#include "temp_dir.h"

namespace aimass::plugins::frontend {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* kIndex =
    "<!doctype html><html><head><title>aimass</title>"
    "<script type=\"module\" src=\"./assets/app-3f2a.js\"></script></head><body></body></html>";

/// A console as a Vite build leaves it: index.html, hashed assets, a favicon.
void writeConsole(const fs::path& dir) {
  fs::create_directories(dir / "assets");
  std::ofstream(dir / "index.html") << kIndex;
  std::string script;
  for (int i = 0; i < 200; ++i) {
    script += "export const value" + std::to_string(i) + " = " + std::to_string(i) + ";\n";
  }
  std::ofstream(dir / "assets" / "app-3f2a.js") << script;
  std::ofstream(dir / "assets" / "app-9c1d.css") << "body{margin:0}";
  std::ofstream(dir / "favicon.ico", std::ios::binary) << std::string("\0\0\1\0", 4);
}

std::string header(const HttpResponse& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) {
      return value;
    }
  }
  return {};
}

HttpResponse get(const ConsoleFiles& console, const std::string& path,
                 std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpRequest request;
  request.method = "GET";
  request.path = path;
  for (auto& [name, value] : headers) {
    request.headers[name] = value;
  }
  HttpResponse response;
  console.serve(request, response);
  return response;
}

std::string gunzip(const std::string& packed) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
  std::string out(1 << 20, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
  stream.avail_in = static_cast<uInt>(packed.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return out;
}

TEST(ConsoleFiles, ServesIndexAndAssetsWithTheirCachingAndPolicy) {
  testing::TempDir dir;
  writeConsole(dir.path());
  auto console = ConsoleFiles::load(dir.path());
  ASSERT_TRUE(console.ok()) << console.status().toString();
  EXPECT_EQ(console->fileCount(), 4u);

  HttpResponse index = get(*console, "/ui/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, kIndex);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(header(index, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(index, "Content-Security-Policy"), ConsoleFiles::kContentSecurityPolicy);
  EXPECT_THAT(header(index, "Content-Security-Policy"), HasSubstr("script-src 'self';"));
  EXPECT_EQ(header(index, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header(index, "X-Frame-Options"), "DENY");
  EXPECT_EQ(get(*console, "/ui/index.html").body, kIndex);

  HttpResponse script = get(*console, "/ui/assets/app-3f2a.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(header(script, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_THAT(script.body, HasSubstr("export const value199 = 199;"));
  EXPECT_EQ(get(*console, "/ui/assets/app-9c1d.css").content_type, "text/css; charset=utf-8");
  EXPECT_EQ(get(*console, "/ui/favicon.ico").content_type, "image/x-icon");
}

TEST(ConsoleFiles, AnswersAMatchingEtagWith304AndAnotherWithTheFile) {
  testing::TempDir dir;
  writeConsole(dir.path());
  auto console = ConsoleFiles::load(dir.path());
  ASSERT_TRUE(console.ok()) << console.status().toString();
  const std::string etag = header(get(*console, "/ui/"), "ETag");
  ASSERT_EQ(etag.front(), '"');
  EXPECT_NE(etag, header(get(*console, "/ui/assets/app-3f2a.js"), "ETag"));

  HttpResponse same = get(*console, "/ui/", {{"if-none-match", etag}});
  EXPECT_EQ(same.status, 304);
  EXPECT_TRUE(same.body.empty());
  EXPECT_EQ(header(same, "ETag"), etag);
  EXPECT_EQ(get(*console, "/ui/", {{"if-none-match", "\"other\", W/" + etag}}).status, 304);
  EXPECT_EQ(get(*console, "/ui/", {{"if-none-match", "*"}}).status, 304);
  HttpResponse other = get(*console, "/ui/", {{"if-none-match", "\"0000000000000000-1\""}});
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.body, kIndex);
}

TEST(ConsoleFiles, GzipsTextForClientsThatAcceptIt) {
  testing::TempDir dir;
  writeConsole(dir.path());
  auto console = ConsoleFiles::load(dir.path());
  ASSERT_TRUE(console.ok()) << console.status().toString();
  const std::string plain = get(*console, "/ui/assets/app-3f2a.js").body;

  HttpResponse packed =
      get(*console, "/ui/assets/app-3f2a.js", {{"accept-encoding", "br, gzip;q=0.8"}});
  EXPECT_EQ(header(packed, "Content-Encoding"), "gzip");
  EXPECT_EQ(header(packed, "Vary"), "Accept-Encoding");
  EXPECT_LT(packed.body.size(), plain.size() / 2);
  EXPECT_EQ(gunzip(packed.body), plain);

  for (const char* refused : {"gzip;q=0", "gzip; q=0.000", "identity", "deflate, br"}) {
    HttpResponse sent = get(*console, "/ui/assets/app-3f2a.js", {{"accept-encoding", refused}});
    EXPECT_EQ(header(sent, "Content-Encoding"), "") << refused;
    EXPECT_EQ(sent.body, plain) << refused;
  }
  // Too small to be worth it: never compressed.
  EXPECT_EQ(header(get(*console, "/ui/assets/app-9c1d.css", {{"accept-encoding", "gzip"}}),
                   "Content-Encoding"),
            "");
}

TEST(ConsoleFiles, ReachesOnlyTheFilesItLoaded) {
  testing::TempDir dir;
  writeConsole(dir.path() / "ui");
  std::ofstream(dir.path() / "secret.txt") << "not for the web";
  fs::create_symlink(dir.path() / "secret.txt", dir.path() / "ui" / "link.txt");
  auto console = ConsoleFiles::load(dir.path() / "ui");
  ASSERT_TRUE(console.ok()) << console.status().toString();
  // A file written after loading is never served either.
  std::ofstream(dir.path() / "ui" / "later.txt") << "too late";
  for (const char* path :
       {"/ui/../secret.txt", "/ui/assets/../../secret.txt", "/ui/link.txt", "/ui/later.txt",
        "/ui//index.html", "/ui/assets/", "/ui/ASSETS/app-3f2a.js", "/ui/index.html/"}) {
    HttpResponse response = get(*console, path);
    EXPECT_EQ(response.status, 404) << path;
    EXPECT_THAT(response.body, HasSubstr("\"error\"")) << path;
    EXPECT_EQ(response.content_type, "application/json") << path;
  }
  EXPECT_THAT(get(*console, "/ui/later.txt").body, HasSubstr("has no file later.txt"));
}

TEST(ConsoleFiles, RedirectsTheBarePrefixRelatively) {
  testing::TempDir dir;
  writeConsole(dir.path());
  auto console = ConsoleFiles::load(dir.path());
  ASSERT_TRUE(console.ok()) << console.status().toString();
  HttpResponse response = get(*console, "/ui");
  EXPECT_EQ(response.status, 301);
  EXPECT_EQ(header(response, "Location"), "ui/");
  EXPECT_TRUE(ConsoleFiles::handles("/ui"));
  EXPECT_TRUE(ConsoleFiles::handles("/ui/x"));
  EXPECT_FALSE(ConsoleFiles::handles("/uix"));
  EXPECT_FALSE(ConsoleFiles::handles("/v2/ui/"));
}

TEST(ConsoleFiles, NamesWhatIsWrongWithAFolder) {
  testing::TempDir dir;
  auto none = ConsoleFiles::load(dir.path() / "absent");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(none.status().message(), HasSubstr("absent"));

  fs::create_directories(dir.path() / "empty");
  auto no_index = ConsoleFiles::load(dir.path() / "empty");
  ASSERT_FALSE(no_index.ok());
  EXPECT_THAT(no_index.status().message(), HasSubstr("no index.html"));

  std::ofstream(dir.path() / "file") << "x";
  auto not_folder = ConsoleFiles::load(dir.path() / "file");
  ASSERT_FALSE(not_folder.ok());
  EXPECT_EQ(not_folder.status().code(), StatusCode::kInvalidArgument);

  // A huge file is refused by its size, before it is read.
  writeConsole(dir.path() / "big");
  {
    std::ofstream out(dir.path() / "big" / "huge.bin", std::ios::binary);
    out.seekp(static_cast<std::streamoff>(ConsoleFiles::kMaxTotalBytes));
    out.put('\0');
  }
  auto big = ConsoleFiles::load(dir.path() / "big");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(big.status().message(), HasSubstr("more than 64 MiB"));
}

TEST(ConsoleFiles, AMissingConsoleSaysWhyOnEveryPath) {
  ConsoleFiles console = ConsoleFiles::missing("this aimass was built without Node.js");
  EXPECT_FALSE(console.available());
  for (const char* path : {"/ui", "/ui/", "/ui/assets/app.js"}) {
    HttpResponse response = get(console, path);
    EXPECT_EQ(response.status, 404) << path;
    EXPECT_THAT(response.body, HasSubstr("built without Node.js")) << path;
  }
}

/// The HTTP answer with the headers the console tests read. Console paths are not in
/// docs/openapi.yaml (they are files, not API), so these exchanges are not recorded.
struct ConsoleReply {
  int status = 0;
  std::string body;
  std::string content_security_policy;
  std::string allow;
};

ConsoleReply fetch(std::uint16_t port, const std::string& method, const std::string& path) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  session.setTimeout(Poco::Timespan(20, 0));
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  request.setContentLength(0);
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  ConsoleReply reply;
  reply.status = static_cast<int>(response.getStatus());
  reply.content_security_policy = response.get("Content-Security-Policy", "");
  reply.allow = response.get("Allow", "");
  Poco::StreamCopier::copyToString(in, reply.body);
  return reply;
}

class ConsoleServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.setLogLevel(LogLevel::kError);
    writeConsole(dir_.path() / "ui");
  }
  void TearDown() override {
    if (frontend_) {
      frontend_->stop();
    }
  }

  Status start(HttpFrontendOptions options) {
    options.port = 0;
    frontend_ = std::make_unique<HttpFrontend>("web", std::move(options));
    AIMASS_RETURN_IF_ERROR(frontend_->start(host_));
    const std::string endpoint = frontend_->endpoint();
    port_ = static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
    return Status();
  }

  HttpFrontendOptions withConsole() const {
    HttpFrontendOptions options;
    options.console_dir = dir_.path() / "ui";
    return options;
  }

  testing::TempDir dir_;
  core::HostServices host_{".", 1};
  std::unique_ptr<HttpFrontend> frontend_;
  std::uint16_t port_ = 0;
};

TEST_F(ConsoleServerTest, ServesTheConsoleAndSaysWhoCallsWithoutAuthentication) {
  ASSERT_TRUE(start(withConsole()).ok());
  ConsoleReply index = fetch(port_, "GET", "/ui/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, kIndex);
  EXPECT_EQ(index.content_security_policy, ConsoleFiles::kContentSecurityPolicy);
  EXPECT_EQ(fetch(port_, "GET", "/ui").status, 301);
  ConsoleReply post = fetch(port_, "POST", "/ui/");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.allow, "GET");
  EXPECT_THAT(fetch(port_, "GET", "/ui/nope.js").body, HasSubstr("has no file nope.js"));

  auto session = testing::httpCall(port_, "GET", "/api/v1/session");
  EXPECT_EQ(session.status, 200);
  EXPECT_EQ(session.body, R"({"principal":"","role":"admin","authentication":false})");
}

TEST_F(ConsoleServerTest, TheConsoleIsPublicAndTheSessionNeedsCredentials) {
  HttpFrontendOptions options = withConsole();
  options.auth.mode = AuthMode::kOn;
  options.auth.api_keys = {{"viewer", Role::kReader, sha256Hex("viewer-secret")},
                           {"deployer", Role::kOperator, sha256Hex("deployer-secret")}};
  ASSERT_TRUE(start(std::move(options)).ok());
  EXPECT_EQ(fetch(port_, "GET", "/ui/").status, 200);
  EXPECT_EQ(fetch(port_, "GET", "/ui/assets/app-3f2a.js").status, 200);

  EXPECT_EQ(testing::httpCall(port_, "GET", "/api/v1/session").status, 401);
  EXPECT_EQ(testing::httpCall(port_, "GET", "/api/v1/session", "", "wrong").status, 401);
  auto reader = testing::httpCall(port_, "GET", "/api/v1/session", "", "viewer-secret");
  EXPECT_EQ(reader.status, 200);
  EXPECT_EQ(reader.body, R"({"principal":"viewer","role":"reader","authentication":true})");
  auto operator_ = testing::httpCall(port_, "GET", "/api/v1/session", "", "deployer-secret");
  EXPECT_EQ(operator_.body, R"({"principal":"deployer","role":"operator","authentication":true})");
}

TEST_F(ConsoleServerTest, ANamedFolderWithoutTheConsoleStopsTheStart) {
  HttpFrontendOptions options;
  options.console_dir = dir_.path() / "elsewhere";
  Status status = start(std::move(options));
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("console_dir"));
  EXPECT_THAT(status.message(), HasSubstr("elsewhere"));
}

TEST_F(ConsoleServerTest, WithoutAConsoleItsPathsSayWhyOrAreUnknown) {
  // The default folder, beside this test program, holds no console.
  ASSERT_TRUE(start(HttpFrontendOptions()).ok());
  ConsoleReply missing = fetch(port_, "GET", "/ui/");
  EXPECT_EQ(missing.status, 404);
  EXPECT_THAT(missing.body, HasSubstr("the web console is not available"));
  EXPECT_THAT(missing.body, HasSubstr("docs/console.md"));
  frontend_->stop();

  HttpFrontendOptions off = withConsole();
  off.console = false;
  ASSERT_TRUE(start(std::move(off)).ok());
  ConsoleReply unknown = fetch(port_, "GET", "/ui/");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_THAT(unknown.body, HasSubstr("no route for GET /ui/"));
}

}  // namespace
}  // namespace aimass::plugins::frontend
