// SPDX-License-Identifier: Apache-2.0
// The ABI rule, enforced: the public SDK headers (sdk/include/aimass/*.h, which declare what
// crosses the plugin boundary) may change only together with the ABI version in version.h.
// sdk/abi-history.txt records the headers' hash at each version; this test fails when the
// headers no longer match the last record, or when version.h's version is not the last
// record's, so a header change needs a new record with a new version. Comments and white space
// are left out of the hash (documentation may change freely); headers under
// sdk/include/aimass/util/ are inline helpers compiled into each plugin, not part of the ABI.
#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "aimass/version.h"

namespace aimass {
namespace {

namespace fs = std::filesystem;

/// A header's code: comments gone, each run of white space one space, string and character
/// literals kept as written (a "//" inside one is not a comment).
std::string codeOf(const std::string& text) {
  std::string out;
  bool space = false;
  auto emit = [&](char c) {
    if (space && !out.empty()) {
      out += ' ';
    }
    space = false;
    out += c;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      i = text.find('\n', i);
      if (i == std::string::npos) {
        break;
      }
      space = true;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      i = text.find("*/", i + 2);
      if (i == std::string::npos) {
        break;
      }
      ++i;
      space = true;
    } else if (c == '"' || c == '\'') {
      emit(c);
      for (++i; i < text.size() && text[i] != c; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) {
          out += text[i++];
        }
        out += text[i];
      }
      out += c;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = true;
    } else {
      emit(c);
    }
  }
  return out;
}

/// SHA-256 of every public SDK header's name and code, in name order.
std::string headersHash() {
  const fs::path dir = fs::path(AIMASS_SOURCE_DIR) / "sdk" / "include" / "aimass";
  std::vector<fs::path> headers;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".h") {
      headers.push_back(entry.path());
    }
  }
  std::sort(headers.begin(), headers.end());
  Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
  for (const auto& header : headers) {
    std::ifstream in(header);
    std::stringstream text;
    text << in.rdbuf();
    const std::string name = header.filename().string() + "\n";
    const std::string code = codeOf(text.str()) + "\n";
    sha.update(name.data(), static_cast<unsigned>(name.size()));
    sha.update(code.data(), static_cast<unsigned>(code.size()));
  }
  return Poco::DigestEngine::digestToHex(sha.digest());
}

struct Record {
  std::string version;
  std::string hash;
};

/// The records of sdk/abi-history.txt, oldest first ('#' lines are comments).
std::vector<Record> history() {
  std::ifstream in(fs::path(AIMASS_SOURCE_DIR) / "sdk" / "abi-history.txt");
  std::vector<Record> records;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.front() == '#') {
      continue;
    }
    std::istringstream fields(line);
    Record record;
    fields >> record.version >> record.hash;
    records.push_back(record);
  }
  return records;
}

const std::string kVersion =
    std::to_string(AIMASS_ABI_MAJOR) + "." + std::to_string(AIMASS_ABI_MINOR);

TEST(AbiHash, TheHeadersMatchTheLastRecordedVersion) {
  const auto records = history();
  ASSERT_FALSE(records.empty()) << "sdk/abi-history.txt has no record";
  const std::string hash = headersHash();
  EXPECT_EQ(records.back().version, kVersion)
      << "version.h says ABI " << kVersion << " but sdk/abi-history.txt's last record is "
      << records.back().version << ": record the headers at the new version (below)";
  EXPECT_EQ(records.back().hash, hash)
      << "the public SDK headers changed since ABI " << records.back().version
      << " was recorded. Bump AIMASS_ABI_MAJOR (a layout or virtual changed) or "
         "AIMASS_ABI_MINOR (only additions old plugins need not know) in version.h, then add "
         "this line to sdk/abi-history.txt:\n"
      << "<MAJOR.MINOR> " << hash;
}

TEST(AbiHash, EachRecordHasANewVersion) {
  const auto records = history();
  for (std::size_t i = 1; i < records.size(); ++i) {
    EXPECT_NE(records[i].version, records[i - 1].version)
        << "sdk/abi-history.txt records the headers twice at ABI " << records[i].version
        << ": a header change needs a new version";
  }
}

TEST(AbiHash, CommentsAndSpacingAreNotCode) {
  EXPECT_EQ(codeOf("int  f(); // the f\n/* a\nb */ struct S { int x; };\n"),
            "int f(); struct S { int x; };");
  EXPECT_EQ(codeOf("const char* url = \"http://x\";  // here\n"),
            "const char* url = \"http://x\";");
  EXPECT_NE(codeOf("struct Route { int role; };"), codeOf("struct Route { };"));
}

}  // namespace
}  // namespace aimass
