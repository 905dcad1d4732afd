// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace aimass::core {
namespace {

using Seconds = std::chrono::duration<double>;

int terminalWidth() {
  winsize size{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    return size.ws_col;
  }
  if (const char* columns = std::getenv("COLUMNS")) {
    int n = std::atoi(columns);
    if (n > 0) {
      return n;
    }
  }
  return 80;
}

std::string percent(std::uint64_t done, std::uint64_t total) {
  double p = total ? 100.0 * static_cast<double>(std::min(done, total)) / total : 0.0;
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%3d%%", static_cast<int>(p));
  return buffer;
}

std::string rateText(std::uint64_t done, Seconds elapsed) {
  if (elapsed.count() <= 0 || done == 0) {
    return "";
  }
  return formatFigure(static_cast<double>(done) / elapsed.count()) + "/s";
}

std::string figuresText(const std::vector<std::pair<std::string, double>>& figures) {
  std::string text;
  for (const auto& [name, value] : figures) {
    text += (text.empty() ? "" : " ") + name + " " + formatFigure(value);
  }
  return text;
}

}  // namespace

std::string formatDuration(std::chrono::nanoseconds elapsed) {
  const double seconds = Seconds(elapsed).count();
  char buffer[32];
  if (seconds < 1) {
    std::snprintf(buffer, sizeof buffer, "%dms", static_cast<int>(seconds * 1000));
  } else if (seconds < 60) {
    std::snprintf(buffer, sizeof buffer, "%.1fs", seconds);
  } else if (seconds < 3600) {
    auto s = static_cast<long>(seconds);
    std::snprintf(buffer, sizeof buffer, "%ldm%02lds", s / 60, s % 60);
  } else {
    auto m = static_cast<long>(seconds / 60);
    std::snprintf(buffer, sizeof buffer, "%ldh%02ldm", m / 60, m % 60);
  }
  return buffer;
}

std::string formatFigure(double value) {
  char buffer[32];
  const double magnitude = std::fabs(value);
  if (std::isfinite(value) && magnitude >= 1e4 && magnitude < 1e15) {
    static constexpr const char* kSuffixes[] = {"k", "M", "G", "T"};
    int index = 0;
    double scaled = value / 1e3;
    while (std::fabs(scaled) >= 1e3 && index < 3) {
      scaled /= 1e3;
      ++index;
    }
    std::snprintf(buffer, sizeof buffer, "%.3g%s", scaled, kSuffixes[index]);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.4g", value);
  }
  return buffer;
}

ConsoleProgress::ConsoleProgress(std::ostream& out, bool terminal, LineSink sink, TimeSource now,
                                 int width)
    : out_(out),
      terminal_(terminal),
      sink_(std::move(sink)),
      now_(now ? std::move(now) : TimeSource([] { return Clock::now(); })),
      width_(width > 0 ? width : (terminal ? terminalWidth() : 80)) {}

ConsoleProgress::~ConsoleProgress() {
  std::lock_guard lock(mutex_);
  if (terminal_ && bar_drawn_) {
    out_ << '\n' << std::flush;
  }
}

bool ConsoleProgress::stderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

void ConsoleProgress::begin(std::string_view phase, std::uint64_t total) {
  std::lock_guard lock(mutex_);
  const auto now = now_();
  active_ = true;
  phase_ = std::string(phase);
  total_ = total;
  done_ = 0;
  figures_.clear();
  started_ = now;
  last_line_ = now;
  logged_tenths_ = 0;
  if (terminal_) {
    draw(now);
  }
}

void ConsoleProgress::update(std::uint64_t done,
                             const std::vector<std::pair<std::string, double>>& figures) {
  std::lock_guard lock(mutex_);
  if (!active_) {
    return;
  }
  const auto now = now_();
  done_ = done;
  if (!figures.empty()) {
    figures_ = figures;
  }
  if (terminal_) {
    if (now - last_draw_ >= kRedrawInterval || (total_ && done_ >= total_)) {
      draw(now);
    }
    return;
  }
  if (now - started_ < kLongPhase) {
    return;
  }
  if (total_) {
    const std::uint64_t tenths = std::min<std::uint64_t>(done_, total_) * 10 / total_;
    if (tenths > logged_tenths_ && tenths < 10) {
      logged_tenths_ = tenths;
      emit(progressText(now));
    }
  } else if (now - last_line_ >= kUnknownTotalInterval) {
    last_line_ = now;
    emit(progressText(now));
  }
}

void ConsoleProgress::end(std::string_view summary) {
  std::lock_guard lock(mutex_);
  if (!active_) {
    return;
  }
  const auto now = now_();
  active_ = false;
  const Seconds elapsed = now - started_;
  std::string line = phase_ + ": " + (summary.empty() ? std::string("done") : std::string(summary));
  std::string detail = std::to_string(done_);
  if (total_ && done_ != total_) {
    detail += "/" + std::to_string(total_);
  }
  detail += " in " + formatDuration(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed));
  if (auto rate = rateText(done_, elapsed); !rate.empty()) {
    detail += ", " + rate;
  }
  line += " (" + detail + ")";
  if (terminal_) {
    out_ << '\r' << line << "\x1b[K\n" << std::flush;
    bar_drawn_ = false;
  } else {
    emit(line);
  }
}

std::string ConsoleProgress::progressText(Clock::time_point now) const {
  const Seconds elapsed = now - started_;
  std::string text = phase_ + ": ";
  if (total_) {
    text += std::to_string(static_cast<int>(100.0 * std::min(done_, total_) / total_)) + "% (" +
            std::to_string(done_) + "/" + std::to_string(total_) + ")";
  } else {
    text += std::to_string(done_) + " done";
  }
  text += " after " + formatDuration(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed));
  if (auto rate = rateText(done_, elapsed); !rate.empty()) {
    text += ", " + rate;
  }
  if (!figures_.empty()) {
    text += ", " + figuresText(figures_);
  }
  return text;
}

std::string ConsoleProgress::barLine(Clock::time_point now) const {
  const Seconds elapsed = now - started_;
  std::string counts;
  std::string tail;
  if (total_) {
    counts = percent(done_, total_) + " " + std::to_string(done_) + "/" + std::to_string(total_);
  } else {
    counts = std::to_string(done_);
  }
  const std::string figures = figuresText(figures_);
  if (!figures.empty()) {
    tail += " " + figures;
  }
  if (auto rate = rateText(done_, elapsed); !rate.empty()) {
    tail += " | " + rate;
    if (total_ && done_ < total_) {
      double remaining = (total_ - done_) * elapsed.count() / done_;
      tail +=
          " ETA " +
          formatDuration(std::chrono::duration_cast<std::chrono::nanoseconds>(Seconds(remaining)));
    }
  }
  // Keep one column spare so the cursor never wraps to the next line.
  const int room = width_ - 1;
  std::string line;
  if (total_) {
    const int fixed = static_cast<int>(phase_.size() + 3 + 1 + counts.size() + tail.size());
    int bar = std::clamp(room - fixed, 10, 40);
    int filled = static_cast<int>(bar * static_cast<double>(std::min(done_, total_)) / total_);
    line = phase_ + " [" + std::string(filled, '#') + std::string(bar - filled, '.') + "] " +
           counts + tail;
  } else {
    line = phase_ + " " + counts + tail;
  }
  if (static_cast<int>(line.size()) > room && room > 0) {
    line.resize(room);
  }
  return line;
}

void ConsoleProgress::draw(Clock::time_point now) {
  out_ << '\r' << barLine(now) << "\x1b[K" << std::flush;
  bar_drawn_ = true;
  last_draw_ = now;
}

void ConsoleProgress::emit(const std::string& line) {
  if (sink_) {
    sink_(line);
  } else {
    out_ << line << '\n' << std::flush;
  }
}

}  // namespace aimass::core
