// SPDX-License-Identifier: Apache-2.0
#include "minimal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "aimass/model.h"
#include "aimass/serving.h"
#include "aimass/tensor.h"
#include "aimass/util/number_text.h"

namespace aimass::plugins::frontend {
namespace {

// Step 4: decide the constants that shape the frontend's behaviour, and say why. The poll
// interval bounds how long stop() waits for the reader; the line limit bounds memory when
// someone pipes a binary file in by mistake.
constexpr int kPollMillis = 100;
constexpr std::size_t kMaxLineBytes = 1 << 20;

bool isStandardStream(const std::string& path) {
  return std::filesystem::path(path).filename() == "-";
}

std::string errnoText() { return std::strerror(errno); }

/// A word as quoted in an error message, cut short so a huge token cannot flood the output.
std::string shortQuote(std::string_view word) {
  constexpr std::size_t kShown = 40;
  return "'" + std::string(word.substr(0, kShown)) + (word.size() > kShown ? "...'" : "'");
}

std::vector<std::string_view> splitWords(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) {
      ++i;
    }
    std::size_t start = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) {
      ++i;
    }
    if (i > start) {
      words.push_back(line.substr(start, i - start));
    }
  }
  return words;
}

/// Appends the values of row 0 of an FP32 output.
void appendFirstRow(std::string& text, const Tensor& tensor) {
  if (tensor.dtype() != DType::kFloat32 || tensor.rank() == 0 || tensor.dim(0) < 1) {
    return;
  }
  auto per_row = tensor.numel() / tensor.dim(0);
  for (std::int64_t i = 0; i < per_row; ++i) {
    text += ' ';
    text += formatNumber(tensor.data<float>()[i]);
  }
}

}  // namespace

LinesFrontend::LinesFrontend(std::string node_name, std::string input, std::string output)
    : node_name_(std::move(node_name)),
      input_path_(std::move(input)),
      output_path_(std::move(output)) {}

LinesFrontend::~LinesFrontend() { stop(); }

// Step 5: start() acquires everything (files, the thread) or nothing, and never blocks. A
// failure leaves the frontend stopped, with nothing open, and says which file and why.
Status LinesFrontend::start(Host& host) {
  std::lock_guard lock(mutex_);
  if (reader_.joinable()) {
    return failedPrecondition("frontend '" + node_name_ + "' is already running");
  }
  int input = STDIN_FILENO;
  bool owns_input = !isStandardStream(input_path_);
  if (owns_input) {
    // O_NONBLOCK only for the open itself: opening a FIFO for reading would otherwise wait
    // for a writer, and start() must not block.
    input = ::open(input_path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (input < 0) {
      return unavailable("cannot open input '" + input_path_ + "': " + errnoText());
    }
    ::fcntl(input, F_SETFL, ::fcntl(input, F_GETFL) & ~O_NONBLOCK);
  }
  int output = STDOUT_FILENO;
  bool owns_output = !isStandardStream(output_path_);
  if (owns_output) {
    output = ::open(output_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (output < 0) {
      Status status = unavailable("cannot open output '" + output_path_ + "': " + errnoText());
      if (owns_input) {
        ::close(input);
      }
      return status;
    }
  }
  host_ = &host;
  input_fd_ = input;
  output_fd_ = output;
  owns_input_ = owns_input;
  owns_output_ = owns_output;
  stopping_ = false;
  endpoint_ = "lines:" + (owns_input ? input_path_ : std::string("stdin")) + " -> " +
              (owns_output ? output_path_ : std::string("stdout"));

  // Step 6: one thread does the reading and answering, so start() can return at once. It is
  // joined in stop(); a frontend never leaves a thread behind.
  try {
    reader_ = std::thread([this] { readLoop(); });
  } catch (const std::system_error& e) {
    if (owns_input_) {
      ::close(input_fd_);
    }
    if (owns_output_) {
      ::close(output_fd_);
    }
    input_fd_ = output_fd_ = -1;
    endpoint_.clear();
    return resourceExhausted(std::string("cannot start the reader thread: ") + e.what());
  }
  host.log(LogLevel::kInfo, node_name_, "answering " + endpoint_);
  return Status();
}

// Step 7: stop() is idempotent and prompt: it raises a flag the reader checks after every
// poll() timeout, joins the thread, then closes only the files start() opened.
void LinesFrontend::stop() noexcept {
  std::lock_guard lock(mutex_);
  if (!reader_.joinable()) {
    return;
  }
  stopping_ = true;
  reader_.join();
  if (owns_input_) {
    ::close(input_fd_);
  }
  if (owns_output_) {
    ::close(output_fd_);
  }
  input_fd_ = output_fd_ = -1;
  owns_input_ = owns_output_ = false;
  endpoint_.clear();
}

std::string LinesFrontend::endpoint() const {
  std::lock_guard lock(mutex_);
  return endpoint_;
}

void LinesFrontend::readLoop() {
  // A reader of a closed pipe gets SIGPIPE, which would end the whole process. Blocking it on
  // this thread turns it into an EPIPE from write(), which ends only this loop.
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);

  std::string pending;
  bool skipping_long_line = false;
  bool at_end = false;
  std::vector<char> buffer(64 * 1024);
  auto handle = [&](std::string_view line) {
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    auto words = splitWords(line);
    if (words.empty() || words.front().front() == '#') {
      return true;  // blank lines and comments get no answer
    }
    return writeLine(answer(*host_, line));
  };

  while (!stopping_) {
    pollfd watched{input_fd_, POLLIN, 0};
    int ready = ::poll(&watched, 1, kPollMillis);
    if (ready < 0 && errno != EINTR) {
      host_->log(LogLevel::kError, node_name_, "cannot poll the input: " + errnoText());
      return;
    }
    if (ready <= 0) {
      continue;
    }
    ssize_t n = ::read(input_fd_, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        continue;
      }
      host_->log(LogLevel::kError, node_name_, "cannot read the input: " + errnoText());
      return;
    }
    if (n == 0) {
      at_end = true;
      break;
    }
    pending.append(buffer.data(), static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t newline; (newline = pending.find('\n', start)) != std::string::npos;
         start = newline + 1) {
      if (skipping_long_line) {
        skipping_long_line = false;
        continue;
      }
      bool ok =
          newline - start > kMaxLineBytes
              ? writeLine("error: line longer than " + std::to_string(kMaxLineBytes) + " bytes")
              : handle(std::string_view(pending).substr(start, newline - start));
      if (!ok) {
        return;
      }
    }
    pending.erase(0, start);
    if (pending.size() > kMaxLineBytes) {
      if (!skipping_long_line &&
          !writeLine("error: line longer than " + std::to_string(kMaxLineBytes) + " bytes")) {
        return;
      }
      skipping_long_line = true;
      pending.clear();
    }
  }
  if (at_end) {
    // The last line may lack its newline.
    if (!pending.empty() && !skipping_long_line && !handle(pending)) {
      return;
    }
    host_->log(LogLevel::kInfo, node_name_, "end of input");
  }
}

bool LinesFrontend::writeLine(const std::string& text) {
  std::string line = text + '\n';
  std::size_t written = 0;
  while (written < line.size()) {
    ssize_t n = ::write(output_fd_, line.data() + written, line.size() - written);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      host_->log(LogLevel::kError, node_name_, "cannot write an answer, stopping: " + errnoText());
      return false;
    }
    written += static_cast<std::size_t>(n);
  }
  return true;
}

// Step 8: the protocol itself, kept free of I/O. Every failure becomes an "error: ..." line
// instead of an exception or a crash: one bad request must not end the stream.
std::string LinesFrontend::answer(Host& host, std::string_view line) {
  auto words = splitWords(line);
  if (words.empty()) {
    return "error: empty request; write '<model> <v1> <v2> ...'";
  }
  std::string name(words.front());
  std::vector<float> values;
  for (std::size_t i = 1; i < words.size(); ++i) {
    double v = 0;
    auto word = words[i];
    auto parsed = std::from_chars(word.data(), word.data() + word.size(), v);
    if (parsed.ec != std::errc() || parsed.ptr != word.data() + word.size() || !std::isfinite(v)) {
      return "error: " + shortQuote(word) + " is not a number";
    }
    values.push_back(static_cast<float>(v));
  }
  if (values.empty()) {
    return "error: no values after " + shortQuote(name) + "; write '<model> <v1> <v2> ...'";
  }

  // Step 9: reach the model through the host's serving runtime (thread-safe; the ServedModel
  // keeps the model alive while we use it), check the request against its schema, then
  // predict. A host may offer no serving runtime at all (a test double, say): then no model
  // is known. A frontend that wants the runtime's batching and statistics pins the model and
  // calls PinnedModel::infer() instead, as frontend.http does.
  ModelServing* serving = host.serving();
  if (serving == nullptr) {
    return "error: this host serves no models";
  }
  auto served = serving->find(name, "");
  if (!served.ok() || !served->model) {
    return "error: unknown model " + shortQuote(name);
  }
  const Model& model = *served->model;
  if (!model.ready()) {
    return "error: model '" + name + "' is not ready";
  }
  ModelSchema schema = model.schema();
  const TensorSpec* input = nullptr;
  for (const auto& spec : schema.inputs) {
    if (spec.optional) {
      continue;
    }
    if (input) {
      return "error: model '" + name + "' takes several inputs; a line carries one row";
    }
    input = &spec;
  }
  if (!input || input->dtype != DType::kFloat32 || input->shape.size() != 2) {
    return "error: model '" + name + "' does not take a row of numbers";
  }
  auto count = static_cast<std::int64_t>(values.size());
  if (input->shape[1] >= 0 && input->shape[1] != count) {
    return "error: model '" + name + "' takes " + std::to_string(input->shape[1]) +
           " values, got " + std::to_string(count);
  }
  TensorMap inputs;
  TensorMap outputs;
  Status status = guard("predict", [&] {
    inputs.set(input->name, Tensor::fromVector(values, {1, count}));
    return model.predict(inputs, outputs, PredictOptions{});
  });
  if (!status.ok()) {
    return "error: " + status.message();
  }

  // Step 10: format the answer. Classifiers give their class (by name when the model has
  // one) and the probabilities; other models give their numbers.
  std::string text = name;
  if (schema.task == Task::kClassification) {
    const Tensor* cls = outputs.find(tensor_names::kClass);
    const Tensor* label = outputs.find(tensor_names::kLabel);
    if (cls && cls->dtype() == DType::kBytes && !cls->strings().empty()) {
      text += ' ' + cls->strings().front();
    } else if (label && label->dtype() == DType::kInt64 && label->numel() > 0) {
      text += ' ' + std::to_string(label->data<std::int64_t>()[0]);
    }
    if (const Tensor* p = outputs.find(tensor_names::kProbabilities)) {
      appendFirstRow(text, *p);
    }
    return text;
  }
  const Tensor* numbers = outputs.find(tensor_names::kPrediction);
  for (const auto& spec : schema.outputs) {
    if (!numbers && spec.dtype == DType::kFloat32) {
      numbers = outputs.find(spec.name);
    }
  }
  if (!numbers || numbers->dtype() != DType::kFloat32) {
    return "error: model '" + name + "' gives no numbers to print";
  }
  appendFirstRow(text, *numbers);
  return text;
}

}  // namespace aimass::plugins::frontend
