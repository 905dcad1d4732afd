// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aimass/job.h"

namespace aimass::core {

/// Shows a job's progress on the console.
///
/// On a terminal it draws one line, redrawn in place at most about ten times a second:
///
///     epoch 2/5 [##########..........]  50% 234/469 loss 0.412 | 70.1/s ETA 3s
///
/// and replaces it with the phase's summary when the phase ends. Anywhere else (a pipe, a log
/// file, CI) it writes plain lines instead: one when a phase ends, and for phases that run
/// longer than a couple of seconds one per tenth of the work (or every ten seconds when the
/// total is unknown), so logs stay short but a slow job still shows signs of life.
///
/// Threading: every method is safe to call from any thread; calls are serialised. The stream
/// and the line sink must outlive the object.
class ConsoleProgress final : public JobProgress {
 public:
  using Clock = std::chrono::steady_clock;
  /// Where plain lines go when not drawing on a terminal (e.g. the host's log).
  using LineSink = std::function<void(std::string_view line)>;
  /// Reads the time; replaced in tests.
  using TimeSource = std::function<Clock::time_point()>;

  /// The shortest time between two redraws of the bar.
  static constexpr std::chrono::milliseconds kRedrawInterval{100};
  /// Phases running at least this long get intermediate plain lines.
  static constexpr std::chrono::seconds kLongPhase{2};
  /// Interval of intermediate plain lines when the total is unknown.
  static constexpr std::chrono::seconds kUnknownTotalInterval{10};

  /// `out` receives the bar when `terminal` is true; otherwise each plain line goes to `sink`,
  /// or to `out` (one per line) when no sink is given. `width` is the terminal width in
  /// columns (0: ask the terminal on stderr, falling back to $COLUMNS, then 80).
  ConsoleProgress(std::ostream& out, bool terminal, LineSink sink = {}, TimeSource now = {},
                  int width = 0);
  /// Ends a bar left open (a phase begun and never ended) with a newline.
  ~ConsoleProgress();

  ConsoleProgress(const ConsoleProgress&) = delete;
  ConsoleProgress& operator=(const ConsoleProgress&) = delete;

  void begin(std::string_view phase, std::uint64_t total) override;
  void update(std::uint64_t done,
              const std::vector<std::pair<std::string, double>>& figures) override;
  void end(std::string_view summary) override;

  /// True when standard error is a terminal (the bar is worth drawing).
  static bool stderrIsTerminal();

 private:
  std::string barLine(Clock::time_point now) const;
  std::string progressText(Clock::time_point now) const;
  void draw(Clock::time_point now);
  void emit(const std::string& line);

  std::ostream& out_;
  const bool terminal_;
  LineSink sink_;
  TimeSource now_;
  int width_;

  std::mutex mutex_;
  bool active_ = false;     // a phase has begun and not ended
  bool bar_drawn_ = false;  // the terminal line holds a bar
  std::string phase_;
  std::uint64_t total_ = 0;
  std::uint64_t done_ = 0;
  std::vector<std::pair<std::string, double>> figures_;
  Clock::time_point started_{};
  Clock::time_point last_draw_{};
  Clock::time_point last_line_{};
  std::uint64_t logged_tenths_ = 0;
};

/// Formats a duration for people: "850ms", "3.2s", "1m05s", "2h03m".
std::string formatDuration(std::chrono::nanoseconds elapsed);

/// Formats a figure compactly: four significant digits below 10000 ("0.4123", "469", "1e-05"),
/// three with a k/M/G/T suffix above ("51.2k", "7.07M").
std::string formatFigure(double value);

/// A progress display that shows nothing: jobs run inside other work (a tuning trial, a
/// stacking member, a monitor's gate, tests) whose own log says what happens.
class SilentProgress final : public JobProgress {
 public:
  void begin(std::string_view, std::uint64_t) override {}
  void update(std::uint64_t, const std::vector<std::pair<std::string, double>>&) override {}
  void end(std::string_view) override {}
};

}  // namespace aimass::core
