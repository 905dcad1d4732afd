// SPDX-License-Identifier: Apache-2.0
// The console progress display, driven by a fake clock: what a user sees on a terminal (one
// bar, redrawn at most ~10 times a second, replaced by the summary) and in a log (one line per
// phase, plus one per tenth of a long phase).
#include "aimass/core/progress.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

namespace aimass::core {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct FakeClock {
  ConsoleProgress::Clock::time_point now{};
  ConsoleProgress::TimeSource source() {
    return [this] { return now; };
  }
};

std::size_t count(const std::string& text, char c) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), c));
}

TEST(ConsoleProgressPlain, ShortPhaseWritesOneLineAtTheEnd) {
  FakeClock clock;
  std::ostringstream out;
  std::vector<std::string> lines;
  ConsoleProgress progress(
      out, false, [&](std::string_view l) { lines.emplace_back(l); }, clock.source());
  progress.begin("epoch 1/2", 100);
  for (int i = 1; i <= 100; ++i) {
    clock.now += 15ms;
    progress.update(i, {{"loss", 0.5}});
  }
  progress.end("loss 0.41");
  EXPECT_THAT(lines, ElementsAre("epoch 1/2: loss 0.41 (100 in 1.5s, 66.67/s)"));
  EXPECT_EQ(out.str(), "") << "with a sink, nothing goes to the stream";
}

TEST(ConsoleProgressPlain, LongPhaseAlsoLogsEveryTenth) {
  FakeClock clock;
  std::ostringstream out;
  ConsoleProgress progress(out, false, {}, clock.source());
  progress.begin("train", 100);
  for (int i = 1; i <= 100; ++i) {
    clock.now += 100ms;
    progress.update(i, {{"loss", 1.0 / i}});
  }
  progress.end("");
  std::vector<std::string> lines;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  // Quiet for the first two seconds (20%), then one line per tenth up to 90%, then the end.
  ASSERT_EQ(lines.size(), 9u);
  EXPECT_EQ(lines[0], "train: 20% (20/100) after 2.0s, 10/s, loss 0.05");
  EXPECT_THAT(lines[7], ::testing::StartsWith("train: 90% (90/100) after 9.0s"));
  EXPECT_EQ(lines[8], "train: done (100 in 10.0s, 10/s)");
}

TEST(ConsoleProgressPlain, UnknownTotalLogsEveryTenSeconds) {
  FakeClock clock;
  std::vector<std::string> lines;
  ConsoleProgress progress(
      std::cerr, false, [&](std::string_view l) { lines.emplace_back(l); }, clock.source());
  progress.begin("import", 0);
  for (int i = 1; i <= 25; ++i) {
    clock.now += 1s;
    progress.update(i * 1000, {});
  }
  progress.end("25000 rows");
  EXPECT_THAT(lines, ElementsAre("import: 10000 done after 10.0s, 1000/s",
                                 "import: 20000 done after 20.0s, 1000/s",
                                 "import: 25000 rows (25000 in 25.0s, 1000/s)"));
}

TEST(ConsoleProgressTerminal, RedrawsAtMostTenTimesASecond) {
  FakeClock clock;
  std::ostringstream out;
  ConsoleProgress progress(out, true, {}, clock.source(), 80);
  progress.begin("train", 1000);
  for (int i = 1; i <= 1000; ++i) {
    clock.now += 1ms;  // one second in all
    progress.update(i, {});
  }
  const std::string drawn = out.str();
  // The first draw at begin, then one per 100 ms (the last forced at 1000/1000).
  EXPECT_EQ(count(drawn, '\r'), 11u);
  EXPECT_EQ(count(drawn, '\n'), 0u) << "the bar stays on one line";
  progress.end("ok");
  EXPECT_THAT(out.str(), ::testing::EndsWith("\rtrain: ok (1000 in 1.0s, 1000/s)\x1b[K\n"));
}

TEST(ConsoleProgressTerminal, BarShowsFiguresRateAndEtaWithinTheWidth) {
  FakeClock clock;
  std::ostringstream out;
  ConsoleProgress progress(out, true, {}, clock.source(), 70);
  progress.begin("epoch 2/5", 10);
  clock.now += 1s;
  progress.update(5, {{"loss", 0.41234}, {"acc", 0.9}});
  std::string text = out.str();
  std::string last = text.substr(text.rfind('\r') + 1);
  ASSERT_THAT(last, ::testing::EndsWith("\x1b[K"));
  last.resize(last.size() - 3);
  EXPECT_THAT(last, ::testing::StartsWith("epoch 2/5 ["));
  EXPECT_THAT(last, HasSubstr(" 50% 5/10 loss 0.4123 acc 0.9 | 5/s ETA 1.0s"));
  EXPECT_LT(last.size(), 70u);
  const auto bar_begin = last.find('['), bar_end = last.find(']');
  const std::string bar = last.substr(bar_begin + 1, bar_end - bar_begin - 1);
  EXPECT_EQ(count(bar, '#') * 2, bar.size()) << bar;
}

TEST(ConsoleProgressTerminal, NarrowTerminalNeverWraps) {
  FakeClock clock;
  std::ostringstream out;
  ConsoleProgress progress(out, true, {}, clock.source(), 30);
  progress.begin("a rather long phase name", 10);
  clock.now += 1s;
  progress.update(3, {{"loss", 0.5}});
  std::string text = out.str();
  std::string last = text.substr(text.rfind('\r') + 1);
  EXPECT_LE(last.size() - 3, 29u);
}

TEST(ConsoleProgressTerminal, ClosesAnUnfinishedBarWithANewline) {
  FakeClock clock;
  std::ostringstream out;
  {
    ConsoleProgress progress(out, true, {}, clock.source(), 80);
    progress.begin("train", 10);
    progress.update(3, {});
  }
  EXPECT_THAT(out.str(), ::testing::EndsWith("\n"));
  EXPECT_EQ(count(out.str(), '\n'), 1u);
}

TEST(ConsoleProgress, IgnoresUpdatesOutsideAPhase) {
  FakeClock clock;
  std::ostringstream out;
  ConsoleProgress progress(out, false, {}, clock.source());
  progress.update(3, {});
  progress.end("nothing");
  EXPECT_EQ(out.str(), "");
}

TEST(FormatDuration, ReadsNaturally) {
  EXPECT_EQ(formatDuration(850ms), "850ms");
  EXPECT_EQ(formatDuration(3200ms), "3.2s");
  EXPECT_EQ(formatDuration(65s), "1m05s");
  EXPECT_EQ(formatDuration(2h + 3min + 4s), "2h03m");
}

TEST(FormatFigure, IsShortAndReadable) {
  EXPECT_EQ(formatFigure(0.412345), "0.4123");
  EXPECT_EQ(formatFigure(469), "469");
  EXPECT_EQ(formatFigure(9999), "9999");
  EXPECT_EQ(formatFigure(51234.5), "51.2k");
  EXPECT_EQ(formatFigure(7.07e6), "7.07M");
  EXPECT_EQ(formatFigure(-2.5e9), "-2.5G");
  EXPECT_EQ(formatFigure(1e-5), "1e-05");
}

}  // namespace
}  // namespace aimass::core
