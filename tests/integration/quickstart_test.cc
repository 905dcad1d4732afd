// SPDX-License-Identifier: Apache-2.0
// Runs the shipped serving examples as a user would and checks what they rely on:
// configs/quickstart.yaml trains an MLP on Fashion-MNIST, scores it on the test images, saves
// and registers it, serves it over HTTP (real test images classified at a sensible accuracy,
// clear errors) and stops cleanly on SIGTERM; configs/csv_classifier.yaml does the same for a
// softmax classifier on the bundled CSV file; configs/tune_mlp.yaml runs a small job.tune study
// and serves its best model; configs/kmeans_fashion.yaml clusters the images and serves the
// clusters.
#include <Poco/InflatingStream.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "aimass/core/model_artifact.h"
#include "gzip_bytes.h"
#include "skip_or_fail.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const fs::path kSourceDir = AIMASS_SOURCE_DIR;
const fs::path kQuickstart = kSourceDir / "configs" / "quickstart.yaml";
const fs::path kCsvClassifier = kSourceDir / "configs" / "csv_classifier.yaml";
const fs::path kTuneMlp = kSourceDir / "configs" / "tune_mlp.yaml";
const fs::path kKMeansFashion = kSourceDir / "configs" / "kmeans_fashion.yaml";
const fs::path kFashionMnist = "/usr/share/datasets/fashion-mnist";

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
  std::vector<std::string> features;  // as written in the request ("null" for a gap)
  std::string label;
  std::vector<std::pair<std::string, std::string>> text;  // text columns: name, value
};

/// The first `count` Fashion-MNIST test images (pixels / 255, as the config's normalize: scale)
/// and their labels, read from the gzipped IDX files the quickstart trains on.
std::vector<Row> readFashionTest(std::size_t count) {
  using aimass::testing::gzipBytes;
  const std::string pixels =
      gzipBytes(kFashionMnist / "t10k-images-idx3-ubyte.gz", 16, count * 784);
  const std::string labels = gzipBytes(kFashionMnist / "t10k-labels-idx1-ubyte.gz", 8, count);
  std::vector<Row> rows;
  if (pixels.empty() || labels.empty()) {
    return rows;
  }
  for (std::size_t i = 0; i < count; ++i) {
    Row row;
    for (std::size_t j = 0; j < 784; ++j) {
      const auto value = static_cast<unsigned char>(pixels[i * 784 + j]);
      char text[16];
      std::snprintf(text, sizeof text, "%.6g", value / 255.0);
      row.features.push_back(text);
    }
    row.label = std::to_string(static_cast<unsigned char>(labels[i]));
    rows.push_back(std::move(row));
  }
  return rows;
}

/// configs/data/pumps_field.csv as a client sends it: the four readings (an empty one as
/// null), the vendor as a text column, the state as the label.
std::vector<Row> readPumps() {
  std::ifstream in(kSourceDir / "configs" / "data" / "pumps_field.csv");
  std::vector<Row> rows;
  std::string line;
  std::getline(in, line);  // pressure_kpa,temperature_c,vibration_g,flow_lpm,vendor,state
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::stringstream cells(line);
    std::string field;
    while (std::getline(cells, field, ',')) {
      fields.push_back(field);
    }
    if (fields.size() == 5) {
      fields.insert(fields.begin() + 4, "");  // getline drops nothing but a trailing gap
    }
    Row row;
    for (std::size_t i = 0; i < 4; ++i) {
      row.features.push_back(fields[i].empty() ? "null" : fields[i]);
    }
    row.text.emplace_back("vendor", fields[4]);
    row.label = fields[5];
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
  std::string text;
  for (std::size_t c = 0; c < rows[begin].text.size(); ++c) {
    std::string values;
    for (std::size_t i = begin; i < end; ++i) {
      values += (values.empty() ? "\"" : ",\"") + rows[i].text[c].second + "\"";
    }
    text += R"(,{"name":")" + rows[begin].text[c].first + R"(","datatype":"BYTES","shape":[)" +
            std::to_string(end - begin) + R"(],"data":[)" + values + "]}";
  }
  return R"({"inputs":[{"name":"input","datatype":"FP32","shape":[)" + std::to_string(end - begin) +
         "," + std::to_string(rows[begin].features.size()) + R"(],"data":[)" + data + "]}" + text +
         R"(],"outputs":[{"name":"class"}]})";
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

/// A serving example: a work folder with a store, and `aimass run CONFIG` on a free port.
class ServingExample : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(temp_.path().empty()) << "cannot make a temporary folder";
    work_ = temp_.path();
    fs::create_directories(work_ / "store");
  }

  std::vector<std::string> environment() const {
    std::vector<std::string> env = {"AIMASS_HTTP_PORT=" + std::to_string(port_),
                                    "AIMASS_STORE=" + (work_ / "store").string()};
    env.insert(env.end(), extra_env_.begin(), extra_env_.end());
    return env;
  }

  /// Starts `aimass run config` and waits (up to `patience`) until it serves (`ready`) or
  /// exits.
  std::unique_ptr<Child> launch(const fs::path& config, std::chrono::seconds patience,
                                bool& ready) {
    port_ = freePort();
    auto server = std::make_unique<Child>(
        std::vector<std::string>{AIMASS_EXECUTABLE, "run", config.string()}, environment(),
        work_);
    EXPECT_TRUE(server->started());
    ready = false;
    auto deadline = Clock::now() + patience;
    while (!ready && Clock::now() < deadline && server->running()) {
      try {
        Poco::Net::HTTPClientSession probe("127.0.0.1", port_);
        probe.setTimeout(Poco::Timespan(2, 0));
        ready = request(probe, "GET", "/v2/health/ready").status == 200;
      } catch (const Poco::Exception&) {
        // Not listening yet.
      }
      if (!ready) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    return server;
  }

  /// Starts `aimass run config` and waits (up to `patience`) until it is ready to serve.
  std::unique_ptr<Child> startServing(const fs::path& config, std::chrono::seconds patience) {
    bool ready = false;
    auto server = launch(config, patience, ready);
    EXPECT_TRUE(ready) << "not ready within " << patience.count() << " s\n" << server->output();
    return ready ? std::move(server) : nullptr;
  }

  /// Checks that each row alone and the rows in batches get the same classes, and returns how
  /// many of them match the labels.
  std::size_t countCorrect(Poco::Net::HTTPClientSession& session, const std::string& model,
                           const std::vector<Row>& rows, std::size_t batch) {
    std::size_t correct = 0;
    std::vector<std::string> single;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      Reply r = request(session, "POST", "/v2/models/" + model + "/infer",
                        inferBody(rows, i, i + 1, /*nested=*/false));
      EXPECT_EQ(r.status, 200) << r.body;
      auto classes = r.status == 200 ? predictedClasses(r.body) : std::vector<std::string>{};
      EXPECT_EQ(classes.size(), 1u);
      single.push_back(classes.empty() ? std::string() : classes[0]);
      correct += single.back() == rows[i].label ? 1 : 0;
    }
    for (std::size_t begin = 0; begin < rows.size(); begin += batch) {
      const std::size_t end = std::min(rows.size(), begin + batch);
      Reply r = request(session, "POST", "/v2/models/" + model + "/versions/1/infer",
                        inferBody(rows, begin, end, /*nested=*/true));
      EXPECT_EQ(r.status, 200) << r.body;
      auto classes = r.status == 200 ? predictedClasses(r.body) : std::vector<std::string>{};
      EXPECT_EQ(classes.size(), end - begin);
      for (std::size_t i = 0; i < classes.size(); ++i) {
        EXPECT_EQ(classes[i], single[begin + i]) << "row " << begin + i
                                                 << ": batched and single-row answers differ";
      }
    }
    return correct;
  }

  /// The errors a client is likely to make, answered with the right status codes.
  void checkClientErrors(Poco::Net::HTTPClientSession& session, const std::string& model,
                         const std::vector<Row>& rows) {
    Reply unknown =
        request(session, "POST", "/v2/models/nope/infer", inferBody(rows, 0, 1, false));
    EXPECT_EQ(unknown.status, 404);
    EXPECT_EQ(unknown.content_type, "application/json");
    Reply malformed = request(session, "POST", "/v2/models/" + model + "/infer", "{\"inputs\": [");
    EXPECT_EQ(malformed.status, 400);
    EXPECT_NE(malformed.body.find("\"error\""), std::string::npos);
    Reply wrong_shape =
        request(session, "POST", "/v2/models/" + model + "/infer",
                R"({"inputs":[{"name":"input","datatype":"FP32","shape":[1,3],"data":[1,2,3]}]})");
    EXPECT_EQ(wrong_shape.status, 400);
    Reply wrong_method = request(session, "GET", "/v2/models/" + model + "/infer");
    EXPECT_EQ(wrong_method.status, 405);
  }

  /// True when the store holds a checksummed artifact of `type` with a payload.
  bool storeHoldsArtifact(const std::string& type) {
    for (const auto& entry : fs::recursive_directory_iterator(work_ / "store")) {
      if (!entry.is_regular_file()) {
        continue;
      }
      std::string bytes = readFile(entry.path());
      std::string_view payload;
      auto header = aimass::core::decodeModelArtifact(bytes, payload);
      if (header.ok() && header->type == type && !payload.empty()) {
        return true;
      }
    }
    return false;
  }

  static void stop(Child& server) {
    server.signal(SIGTERM);
    auto code = server.waitExit(std::chrono::seconds(10));
    ASSERT_TRUE(code.has_value()) << "still running 10 s after SIGTERM\n" << server.output();
    EXPECT_EQ(*code, 0) << server.output();
  }

  /// `aimass models list --config config` on this test's store: its exit code and stdout.
  std::pair<int, std::string> listModels(const fs::path& config) {
    fs::create_directories(work_ / "list");
    Child list({AIMASS_EXECUTABLE, "models", "list", "--config", config.string()}, environment(),
               work_ / "list");
    auto code = list.waitExit(std::chrono::seconds(60));
    return {code.value_or(-1), list.output()};
  }

  aimass::testing::TempDir temp_{"aimass-serving"};
  fs::path work_;
  Poco::UInt16 port_ = 0;
  std::vector<std::string> extra_env_;  ///< NAME=VALUE for the config's ${VAR}s
};

bool fashionMnistInstalled() {
  return fs::exists(kFashionMnist / "train-images-idx3-ubyte.gz") &&
         fs::exists(kFashionMnist / "t10k-images-idx3-ubyte.gz");
}

using QuickstartTest = ServingExample;
using CsvClassifierTest = ServingExample;
using TuneMlpTest = ServingExample;

TEST_F(QuickstartTest, ValidateAcceptsTheConfig) {
  Child validate({AIMASS_EXECUTABLE, "validate", kQuickstart.string()}, {}, work_);
  ASSERT_TRUE(validate.started());
  auto code = validate.waitExit(std::chrono::seconds(60));
  ASSERT_TRUE(code.has_value()) << "aimass validate did not finish\n" << validate.output();
  EXPECT_EQ(*code, 0) << validate.output();
}

TEST_F(QuickstartTest, TrainsOnFashionMnistServesTestImagesAndRegisters) {
  if (!fashionMnistInstalled()) {
    AIMASS_SKIP_OR_FAIL(aimass::testing::kFashionMnistMissing);
  }
  const auto rows = readFashionTest(300);
  ASSERT_EQ(rows.size(), 300u) << "cannot read the Fashion-MNIST test files";
  // A deadline, not a measurement: training takes seconds, this allows for a loaded machine.
  auto server = startServing(kQuickstart, std::chrono::seconds(300));
  ASSERT_NE(server, nullptr);
  Poco::Net::HTTPClientSession session("127.0.0.1", port_);
  session.setTimeout(Poco::Timespan(30, 0));

  // Test images the model never trained on: an MLP after 5 epochs gets about 86% right; 80% is
  // far above chance (10%) and leaves room for 300 images' sampling noise.
  const std::size_t correct = countCorrect(session, "fashion", rows, 100);
  EXPECT_GE(correct, 240u) << "accuracy " << correct << "/300 on Fashion-MNIST test images";
  checkClientErrors(session, "fashion", rows);

  // The job.evaluate node scored all 10 000 test images, and each epoch was reported.
  const std::string output = server->output();
  EXPECT_NE(output.find("epoch 5/5"), std::string::npos) << output;
  EXPECT_NE(output.find("evaluate fashion"), std::string::npos) << output;
  EXPECT_NE(output.find("accuracy="), std::string::npos) << output;
  stop(*server);

  EXPECT_TRUE(storeHoldsArtifact("model.mlp")) << "no model.mlp artifact under " << work_;
  auto [code, listed] = listModels(kQuickstart);
  EXPECT_EQ(code, 0) << listed;
  EXPECT_THAT(listed, ::testing::ContainsRegex("fashion +1 +1 "));
}

TEST_F(CsvClassifierTest, ValidateAcceptsTheConfig) {
  Child validate({AIMASS_EXECUTABLE, "validate", kCsvClassifier.string()}, {}, work_);
  ASSERT_TRUE(validate.started());
  auto code = validate.waitExit(std::chrono::seconds(60));
  ASSERT_TRUE(code.has_value()) << "aimass validate did not finish\n" << validate.output();
  EXPECT_EQ(*code, 0) << validate.output();
}

TEST_F(CsvClassifierTest, TrainsOnTheCsvFileServesAndStops) {
  const auto rows = readPumps();
  ASSERT_EQ(rows.size(), 600u);
  auto server = startServing(kCsvClassifier, std::chrono::seconds(120));
  ASSERT_NE(server, nullptr);
  Poco::Net::HTTPClientSession session("127.0.0.1", port_);
  session.setTimeout(Poco::Timespan(30, 0));

  // The raw rows, gaps and vendor names as in the file: the model's own preprocessing gets at
  // least 75% of them right (the most frequent state is 38.5%; unscaled, a softmax trained
  // this way stays below 45%), alone or in batches.
  const std::size_t correct = countCorrect(session, "pump_state", rows, 75);
  EXPECT_GE(correct, 450u) << "accuracy " << correct << "/600";
  checkClientErrors(session, "pump_state", rows);
  EXPECT_NE(server->output().find("epoch 30/30"), std::string::npos) << server->output();
  stop(*server);

  EXPECT_TRUE(storeHoldsArtifact("model.pipeline")) << "no model.pipeline artifact under " << work_;
  auto [code, listed] = listModels(kCsvClassifier);
  EXPECT_EQ(code, 0) << listed;
  EXPECT_THAT(listed, ::testing::ContainsRegex("pump_state +1 +1 "));
}

/// A raw client socket with a small receive buffer, so that a large answer stays in flight
/// for as long as the client does not read it.
int connectSmallWindow(Poco::UInt16 port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int window = 16 * 1024;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &window, sizeof(window));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST_F(CsvClassifierTest, SigtermStopsAcceptingAndFinishesTheRequestInFlight) {
  const auto rows = readPumps();
  ASSERT_EQ(rows.size(), 600u);
  auto server = startServing(kCsvClassifier, std::chrono::seconds(120));
  ASSERT_NE(server, nullptr);
  // 200 000 rows with every output: an answer of over 9 MiB, more than the socket buffers
  // hold, so the server is still writing it while the client reads only its first bytes.
  std::vector<Row> many;
  while (many.size() < 200000) {
    many.insert(many.end(), rows.begin(), rows.end());
  }
  std::string body = inferBody(many, 0, many.size(), /*nested=*/true);
  const std::string only_class = R"("outputs":[{"name":"class"}])";
  ASSERT_NE(body.find(only_class), std::string::npos);
  body.replace(body.find(only_class), only_class.size(),
               R"("outputs":[{"name":"class"},{"name":"probabilities"},{"name":"label"}])");
  const std::string request =
      "POST /v2/models/pump_state/infer HTTP/1.1\r\nHost: localhost\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  int fd = connectSmallWindow(port_);
  ASSERT_GE(fd, 0);
  for (std::size_t sent = 0; sent < request.size();) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    ASSERT_GT(n, 0) << "the server stopped reading the request";
    sent += static_cast<std::size_t>(n);
  }
  std::string answer(1024, '\0');
  ssize_t first = ::recv(fd, answer.data(), answer.size(), 0);
  ASSERT_GT(first, 0);
  answer.resize(static_cast<std::size_t>(first));
  ASSERT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;

  server->signal(SIGTERM);
  // New connections are refused soon, while the answer above is still being written.
  bool refused = false;
  for (int attempt = 0; attempt < 500 && !refused; ++attempt) {
    int probe = connectSmallWindow(port_);
    refused = probe < 0;
    if (!refused) {
      ::close(probe);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  EXPECT_TRUE(refused) << "still accepting connections 10 s after SIGTERM";
  EXPECT_TRUE(server->running()) << "exited before finishing the request in flight";

  // The whole answer arrives, then the server exits cleanly.
  char buffer[64 * 1024];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  auto head_end = answer.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  auto length_at = answer.find("Content-Length: ");
  ASSERT_NE(length_at, std::string::npos);
  EXPECT_EQ(answer.size() - head_end - 4, std::stoul(answer.substr(length_at + 16)));
  // Twice what the server's send buffer grows to (4 MiB) plus the client's 16 KiB window: the
  // server was still writing it when the signal came.
  EXPECT_GT(answer.size(), std::size_t{8} << 20);
  EXPECT_EQ(predictedClasses(answer.substr(head_end + 4)).size(), many.size());
  auto code = server->waitExit(std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value()) << "still running 30 s after SIGTERM\n" << server->output();
  EXPECT_EQ(*code, 0) << server->output();
}

// configs/tune_mlp.yaml (W11's study), run small through its variables: 3 trials of 1 epoch on
// 2,000 training images judged on the next 1,000; the best trial's model is registered,
// scored on 1,000 test images and served.
TEST_F(TuneMlpTest, ValidateAcceptsTheConfig) {
  Child validate({AIMASS_EXECUTABLE, "validate", kTuneMlp.string()}, {}, work_);
  ASSERT_TRUE(validate.started());
  auto code = validate.waitExit(std::chrono::seconds(60));
  ASSERT_TRUE(code.has_value()) << "aimass validate did not finish\n" << validate.output();
  EXPECT_EQ(*code, 0) << validate.output();
}

TEST_F(TuneMlpTest, RunsASmallStudyRegistersEvaluatesAndServesTheBestModel) {
  if (!fashionMnistInstalled()) {
    AIMASS_SKIP_OR_FAIL(aimass::testing::kFashionMnistMissing);
  }
  extra_env_ = {"AIMASS_TUNE_TRIALS=3", "AIMASS_TUNE_EPOCHS=1", "AIMASS_TRAIN_ROWS=2000",
                "AIMASS_VAL_ROWS=1000", "AIMASS_TEST_ROWS=1000", "AIMASS_THREADS=2"};
  const auto rows = readFashionTest(100);
  ASSERT_EQ(rows.size(), 100u) << "cannot read the Fashion-MNIST test files";
  // A deadline, not a measurement: the study takes seconds.
  auto server = startServing(kTuneMlp, std::chrono::seconds(300));
  ASSERT_NE(server, nullptr);
  const std::string output = server->output();
  EXPECT_NE(output.find("3 trials: "), std::string::npos) << output;
  EXPECT_NE(output.find(" pruned, 0 failed; best trial "), std::string::npos) << output;
  EXPECT_NE(output.find("its model is loaded and registered"), std::string::npos) << output;
  EXPECT_NE(output.find("registered fashion version 1"), std::string::npos) << output;
  EXPECT_NE(output.find("evaluate fashion: accuracy="), std::string::npos) << output;

  // The served model is the tuned one: it answers test images and beats chance (10%) by far;
  // the seeded study's best trial gets about half of them right after 1 epoch on 2,000 images.
  Poco::Net::HTTPClientSession session("127.0.0.1", port_);
  session.setTimeout(Poco::Timespan(30, 0));
  const std::size_t correct = countCorrect(session, "fashion", rows, 50);
  EXPECT_GE(correct, 35u) << "accuracy " << correct << "/100 on Fashion-MNIST test images";
  stop(*server);

  EXPECT_TRUE(storeHoldsArtifact("model.mlp")) << "no model.mlp artifact under " << work_;
  auto [code, listed] = listModels(kTuneMlp);
  EXPECT_EQ(code, 0) << listed;
  EXPECT_THAT(listed, ::testing::ContainsRegex("fashion +1 +1 "));
}

using KMeansFashionTest = ServingExample;

TEST_F(KMeansFashionTest, ValidateAcceptsTheConfig) {
  Child validate({AIMASS_EXECUTABLE, "validate", kKMeansFashion.string()}, {}, work_);
  ASSERT_TRUE(validate.started());
  auto code = validate.waitExit(std::chrono::seconds(60));
  ASSERT_TRUE(code.has_value()) << "aimass validate did not finish\n" << validate.output();
  EXPECT_EQ(*code, 0) << validate.output();
}

TEST_F(KMeansFashionTest, ClustersWithoutLabelsRegistersAndServesTheClusters) {
  if (!fashionMnistInstalled()) {
    AIMASS_SKIP_OR_FAIL(aimass::testing::kFashionMnistMissing);
  }
  const auto rows = readFashionTest(4);
  ASSERT_EQ(rows.size(), 4u) << "cannot read the Fashion-MNIST test files";
  extra_env_ = {"AIMASS_KMEANS_ITERATIONS=5"};
  bool ready = false;
  auto server = launch(kKMeansFashion, std::chrono::seconds(300), ready);
  ASSERT_TRUE(ready) << server->output();
  EXPECT_THAT(server->output(), ::testing::HasSubstr("fit clusters: fit done after"));
  EXPECT_TRUE(storeHoldsArtifact("model.kmeans"));

  Poco::Net::HTTPClientSession session("127.0.0.1", port_);
  session.setTimeout(Poco::Timespan(30, 0));
  std::string data;
  for (const auto& row : rows) {
    for (const auto& v : row.features) {
      data += (data.empty() ? "" : ",") + v;
    }
  }
  Reply r = request(session, "POST", "/v2/models/clusters/infer",
                    R"({"inputs":[{"name":"input","datatype":"FP32","shape":[4,784],"data":[)" +
                        data + "]}]}");
  ASSERT_EQ(r.status, 200) << r.body;
  Poco::JSON::Parser parser;
  auto outputs = parser.parse(r.body).extract<Poco::JSON::Object::Ptr>()->getArray("outputs");
  ASSERT_EQ(outputs->size(), 2u) << r.body;
  for (unsigned i = 0; i < outputs->size(); ++i) {
    auto output = outputs->getObject(i);
    auto values = output->getArray("data");
    if (output->getValue<std::string>("name") == "cluster") {
      ASSERT_EQ(values->size(), 4u) << r.body;
      for (unsigned v = 0; v < values->size(); ++v) {
        EXPECT_GE(values->getElement<int>(v), 0);
        EXPECT_LT(values->getElement<int>(v), 10);
      }
    } else {
      EXPECT_EQ(output->getValue<std::string>("name"), "distances");
      EXPECT_EQ(values->size(), 40u) << r.body;
    }
  }
  stop(*server);
}

}  // namespace
