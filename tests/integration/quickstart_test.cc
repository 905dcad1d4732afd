// SPDX-License-Identifier: Apache-2.0
// Runs `aimass run configs/quickstart.yaml` as a user would and checks what they rely on: it
// trains, saves the model, serves it over HTTP with good accuracy and clear errors, and stops
// cleanly on SIGTERM.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "aimass/core/model_artifact.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const fs::path kSourceDir = AIMASS_SOURCE_DIR;
const fs::path kConfig = kSourceDir / "configs" / "quickstart.yaml";

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// A child process in its own process group, its output captured to files.
class Child {
 public:
  Child(const std::vector<std::string>& args, const std::vector<std::string>& env,
        const fs::path& log_dir)
      : stdout_path_(log_dir / "stdout.txt"), stderr_path_(log_dir / "stderr.txt") {
    // Everything the child needs is prepared before fork(): between fork() and exec() only
    // async-signal-safe calls are allowed.
    std::vector<std::string> environment = env;
    for (char** e = environ; *e; ++e) {
      std::string entry(*e);
      std::string name = entry.substr(0, entry.find('='));
      bool overridden = false;
      for (const auto& o : env) {
        overridden = overridden || o.substr(0, o.find('=')) == name;
      }
      if (!overridden) {
        environment.push_back(entry);
      }
    }
    std::vector<char*> envp;
    for (auto& e : environment) {
      envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    std::vector<std::string> arguments = args;
    std::vector<char*> argv;
    for (auto& a : arguments) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    const char* out_path = stdout_path_.c_str();
    const char* err_path = stderr_path_.c_str();

    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      int out = ::open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = ::open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int null = ::open("/dev/null", O_RDONLY);
      ::dup2(null, STDIN_FILENO);
      ::dup2(out, STDOUT_FILENO);
      ::dup2(err, STDERR_FILENO);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (running()) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  bool started() const { return pid_ > 0; }
  bool running() {
    if (exit_status_) {
      return false;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_status_ = status;
      return false;
    }
    return true;
  }
  /// The exit code within `timeout`, or nullopt if it is still running.
  std::optional<int> waitExit(std::chrono::seconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (running() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!exit_status_) {
      return std::nullopt;
    }
    return WIFEXITED(*exit_status_) ? WEXITSTATUS(*exit_status_) : 128 + WTERMSIG(*exit_status_);
  }
  void signal(int sig) { ::kill(pid_, sig); }
  std::string output() const {
    return "--- stdout ---\n" + readFile(stdout_path_) + "--- stderr ---\n" +
           readFile(stderr_path_);
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  fs::path stdout_path_;
  fs::path stderr_path_;
};

Poco::UInt16 freePort() {
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  return socket.address().port();
}

struct Reply {
  int status = 0;
  std::string body;
  std::string content_type;
};

Reply request(Poco::Net::HTTPClientSession& session, const std::string& method,
              const std::string& path, const std::string& body = {}) {
  Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  if (method == "POST") {
    req.setContentLength64(static_cast<Poco::Int64>(body.size()));
    req.setContentType("application/json");
  }
  session.sendRequest(req) << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  Reply reply;
  reply.status = response.getStatus();
  reply.content_type = response.getContentType();
  Poco::StreamCopier::copyToString(in, reply.body);
  return reply;
}

struct Row {
  std::vector<std::string> features;  // as written in the file
  std::string label;
};

std::vector<Row> readDataset() {
  std::ifstream in(kSourceDir / "configs" / "data" / "pumps.csv");
  std::vector<Row> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::stringstream fields(line);
    Row row;
    std::string field;
    while (std::getline(fields, field, ',')) {
      row.features.push_back(field);
    }
    row.label = row.features.back();
    row.features.pop_back();
    rows.push_back(row);
  }
  return rows;
}

/// An OIP request for `rows`, nested ([[...], [...]]) or flat.
std::string inferBody(const std::vector<Row>& rows, std::size_t begin, std::size_t end,
                      bool nested) {
  std::string data;
  for (std::size_t i = begin; i < end; ++i) {
    std::string row;
    for (const auto& v : rows[i].features) {
      row += (row.empty() ? "" : ",") + v;
    }
    data += (data.empty() ? "" : ",") + (nested ? "[" + row + "]" : row);
  }
  return R"({"inputs":[{"name":"input","datatype":"FP32","shape":[)" + std::to_string(end - begin) +
         "," + std::to_string(rows[begin].features.size()) + R"(],"data":[)" + data +
         R"(]}],"outputs":[{"name":"class"}]})";
}

std::vector<std::string> predictedClasses(const std::string& body) {
  Poco::JSON::Parser parser;
  auto json = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
  auto data = json->getArray("outputs")->getObject(0)->getArray("data");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < data->size(); ++i) {
    out.push_back(data->getElement<std::string>(static_cast<unsigned>(i)));
  }
  return out;
}

class QuickstartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    work_ = fs::temp_directory_path() / ("aimass_quickstart_" + std::to_string(::getpid()));
    fs::remove_all(work_);
    fs::create_directories(work_ / "store");
  }
  void TearDown() override { fs::remove_all(work_); }

  fs::path work_;
};

TEST_F(QuickstartTest, ValidateAcceptsTheConfig) {
  Child validate({AIMASS_EXECUTABLE, "validate", kConfig.string()}, {}, work_);
  ASSERT_TRUE(validate.started());
  auto code = validate.waitExit(std::chrono::seconds(60));
  ASSERT_TRUE(code.has_value()) << "aimass validate did not finish\n" << validate.output();
  EXPECT_EQ(*code, 0) << validate.output();
}

TEST_F(QuickstartTest, TrainsServesAndStops) {
  const Poco::UInt16 port = freePort();
  Child server(
      {AIMASS_EXECUTABLE, "run", kConfig.string()},
      {"AIMASS_HTTP_PORT=" + std::to_string(port), "AIMASS_STORE=" + (work_ / "store").string()},
      work_);
  ASSERT_TRUE(server.started());

  // Ready once training is over and the frontend has started.
  bool ready = false;
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (!ready && Clock::now() < deadline) {
    ASSERT_TRUE(server.running()) << "aimass run exited early\n" << server.output();
    try {
      Poco::Net::HTTPClientSession probe("127.0.0.1", port);
      probe.setTimeout(Poco::Timespan(2, 0));
      ready = request(probe, "GET", "/v2/health/ready").status == 200;
    } catch (const Poco::Exception&) {
      // Not listening yet.
    }
    if (!ready) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ASSERT_TRUE(ready) << "not ready within 60 s\n" << server.output();

  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  session.setTimeout(Poco::Timespan(30, 0));

  // Every row on its own, then in batches: the trained model gets at least 90% right.
  const auto rows = readDataset();
  ASSERT_EQ(rows.size(), 300u);
  std::size_t correct = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    Reply r = request(session, "POST", "/v2/models/pump_state/infer",
                      inferBody(rows, i, i + 1, /*nested=*/false));
    ASSERT_EQ(r.status, 200) << r.body;
    auto classes = predictedClasses(r.body);
    ASSERT_EQ(classes.size(), 1u);
    correct += classes[0] == rows[i].label ? 1 : 0;
  }
  EXPECT_GE(correct, 270u) << "accuracy " << correct << "/300";
  std::size_t batched_correct = 0;
  for (std::size_t begin = 0; begin < rows.size(); begin += 75) {
    Reply r = request(session, "POST", "/v2/models/pump_state/versions/1/infer",
                      inferBody(rows, begin, begin + 75, /*nested=*/true));
    ASSERT_EQ(r.status, 200) << r.body;
    auto classes = predictedClasses(r.body);
    ASSERT_EQ(classes.size(), 75u);
    for (std::size_t i = 0; i < classes.size(); ++i) {
      batched_correct += classes[i] == rows[begin + i].label ? 1 : 0;
    }
  }
  EXPECT_EQ(batched_correct, correct) << "batched and single-row answers differ";

  // The errors a client is likely to make.
  Reply unknown = request(session, "POST", "/v2/models/nope/infer", inferBody(rows, 0, 1, false));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.content_type, "application/json");
  Reply malformed = request(session, "POST", "/v2/models/pump_state/infer", "{\"inputs\": [");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(malformed.body.find("\"error\""), std::string::npos);
  Reply wrong_shape =
      request(session, "POST", "/v2/models/pump_state/infer",
              R"({"inputs":[{"name":"input","datatype":"FP32","shape":[1,3],"data":[1,2,3]}]})");
  EXPECT_EQ(wrong_shape.status, 400);
  Reply wrong_method = request(session, "GET", "/v2/models/pump_state/infer");
  EXPECT_EQ(wrong_method.status, 405);

  // The trained model was saved in the store as a checksummed model.softmax artifact.
  bool artifact_found = false;
  for (const auto& entry : fs::recursive_directory_iterator(work_ / "store")) {
    if (!entry.is_regular_file()) {
      continue;
    }
    std::string bytes = readFile(entry.path());
    std::string_view payload;
    auto header = aimass::core::decodeModelArtifact(bytes, payload);
    if (header.ok() && header->type == "model.softmax" && !payload.empty()) {
      artifact_found = true;
    }
  }
  EXPECT_TRUE(artifact_found) << "no model artifact under " << (work_ / "store");

  // Progress was reported per epoch.
  EXPECT_NE(server.output().find("epoch 30/30"), std::string::npos) << server.output();

  server.signal(SIGTERM);
  auto code = server.waitExit(std::chrono::seconds(10));
  ASSERT_TRUE(code.has_value()) << "still running 10 s after SIGTERM\n" << server.output();
  EXPECT_EQ(*code, 0) << server.output();
}

}  // namespace
