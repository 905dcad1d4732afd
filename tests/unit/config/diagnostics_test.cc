// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/diagnostics.h"

#include <gtest/gtest.h>

namespace aimass::core {
namespace {

TEST(DiagnosticTest, FormatsFileLineColumnAndMessage) {
  Diagnostic d{{"configs/x.yaml", 12, 3}, "unknown node type 'model.sofmax'", ""};
  EXPECT_EQ(d.format(), "configs/x.yaml:12:3: error: unknown node type 'model.sofmax'");
}

TEST(DiagnosticTest, AddsTheHintOnAnIndentedSecondLine) {
  Diagnostic d{{"a.yaml", 1, 2}, "bad", "did you mean 'model.softmax'?"};
  EXPECT_EQ(d.format(), "a.yaml:1:2: error: bad\n  hint: did you mean 'model.softmax'?");
}

TEST(DiagnosticTest, LeavesOutUnknownParts) {
  EXPECT_EQ((Diagnostic{{"a.yaml", 0, 0}, "cannot read", ""}).format(),
            "a.yaml: error: cannot read");
  EXPECT_EQ((Diagnostic{{"a.yaml", 4, 0}, "m", ""}).format(), "a.yaml:4: error: m");
  EXPECT_EQ((Diagnostic{{"", 0, 0}, "m", ""}).format(), "error: m");
}

TEST(DiagnosticTest, FormatDiagnosticsJoinsWithNewlines) {
  Diagnostics all = {{{"a.yaml", 1, 1}, "first", "fix it"}, {{"b.yaml", 2, 5}, "second", ""}};
  EXPECT_EQ(formatDiagnostics(all),
            "a.yaml:1:1: error: first\n  hint: fix it\nb.yaml:2:5: error: second");
  EXPECT_EQ(formatDiagnostics({}), "");
}

}  // namespace
}  // namespace aimass::core
