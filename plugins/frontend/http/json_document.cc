// SPDX-License-Identifier: Apache-2.0
#include "json_document.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <utility>

#include "aimass/util/utf8.h"
#include "json_text.h"

namespace aimass::plugins::frontend {
namespace {

/// Node storage kept between parses: enough for a request of a few thousand numbers.
constexpr std::size_t kKeptNodes = 1 << 14;

bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool isSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

/// The double nearest to `mantissa` × 10^`exponent` (a token's significant digits and decimal
/// exponent), when a single exact operation gives it; false otherwise (readers then convert the
/// text). Two ways:
///  - the mantissa up to 2^53 and |exponent| <= 22: both are exact doubles, so one IEEE
///    multiplication or division rounds correctly (Clinger's fast path);
///  - any 64-bit mantissa and |exponent| <= 27, where long double has a 64-bit significand
///    (x86): both are exact long doubles, so the operation rounds once to 64 bits, and rounding
///    that to a double's 53 gives the correctly rounded double unless it lies exactly halfway
///    between two doubles (then the exact value may lie on either side, and the text decides).
bool exactValue(std::uint64_t mantissa, int exponent, double& out) {
  static constexpr double kPowers[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  if (mantissa <= (std::uint64_t{1} << 53) && exponent >= -22 && exponent <= 22) {
    const auto m = static_cast<double>(mantissa);
    out = exponent < 0 ? m / kPowers[-exponent] : m * kPowers[exponent];
    return true;
  }
  if constexpr (std::numeric_limits<long double>::digits == 64 &&
                std::endian::native == std::endian::little) {
    // 10^27 = 2^27 * 5^27 with 5^27 < 2^64: every power here is exact.
    static constexpr long double kLongPowers[] = {1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,
                                                  1e7L,  1e8L,  1e9L,  1e10L, 1e11L, 1e12L, 1e13L,
                                                  1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L,
                                                  1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};
    if (exponent >= -27 && exponent <= 27) {
      const auto m = static_cast<long double>(mantissa);
      const long double q = exponent < 0 ? m / kLongPowers[-exponent] : m * kLongPowers[exponent];
      // The 64-bit significand is the first eight bytes; the 11 bits a double drops are
      // 100 0000 0000 exactly when q is halfway between two doubles.
      std::uint64_t significand = 0;
      std::memcpy(&significand, &q, sizeof(significand));
      if ((significand & 0x7FF) == 0x400) {
        return false;
      }
      out = static_cast<double>(q);
      return true;
    }
  }
  return false;
}

/// The scanner over one text; fills the document's nodes.
class Scanner {
 public:
  Scanner(std::string_view text, std::vector<JsonDocument::Node>& nodes,
          std::vector<std::uint32_t>& open, std::size_t max_depth, std::size_t max_nodes)
      : s_(text.data()),
        n_(text.size()),
        nodes_(nodes),
        open_(open),
        max_depth_(max_depth),
        max_nodes_(max_nodes),
        // Every node starts at its own byte, so a text shorter than 2^32 - 1 bytes cannot hold
        // too many nodes for the index; plainNumber() leaves longer ones to push(), which checks.
        plain_limit_(n_ < std::numeric_limits<std::uint32_t>::max() ? max_nodes : 0) {}

  Status run() {
    skipSpace();
    while (true) {
      // A value starts at p_.
      if (p_ == n_) {
        return fail("the text ends where a value was expected");
      }
      const char c = s_[p_];
      if (c == '[' || c == '{') {
        if (open_.size() >= max_depth_) {
          return invalidArgument("the JSON is nested deeper than " + std::to_string(max_depth_) +
                                 " levels (max_json_depth)");
        }
        AIMASS_RETURN_IF_ERROR(
            push(c == '[' ? JsonDocument::Kind::kArray : JsonDocument::Kind::kObject, {}));
        open_.push_back(static_cast<std::uint32_t>(nodes_.size() - 1));
        ++p_;
        skipSpace();
        if (p_ < n_ && s_[p_] == (c == '[' ? ']' : '}')) {
          ++p_;
          nodes_[open_.back()].end = static_cast<std::uint32_t>(nodes_.size());
          open_.pop_back();
        } else {
          if (c == '{') {
            AIMASS_RETURN_IF_ERROR(key());
          }
          continue;
        }
      } else if ((c == '-' || isDigit(c)) && !open_.empty() &&
                 nodes_[open_.back()].kind == JsonDocument::Kind::kArray) {
        AIMASS_RETURN_IF_ERROR(numberRun());
      } else {
        AIMASS_RETURN_IF_ERROR(scalar());
      }
      // A value ended: close containers until one continues with ',' or the text ends.
      bool next_value = false;
      while (!next_value) {
        if (open_.empty()) {
          skipSpace();
          if (p_ != n_) {
            return fail("unexpected " + shown(p_) + " after the end of the JSON value");
          }
          return Status();
        }
        JsonDocument::Node& parent = nodes_[open_.back()];
        ++parent.size;
        const bool object = parent.kind == JsonDocument::Kind::kObject;
        skipSpace();
        if (p_ == n_) {
          return fail(object ? "the text ends inside an object" : "the text ends inside a list");
        }
        if (s_[p_] == ',') {
          ++p_;
          skipSpace();
          if (object) {
            AIMASS_RETURN_IF_ERROR(key());
          }
          next_value = true;
        } else if (s_[p_] == (object ? '}' : ']')) {
          ++p_;
          parent.end = static_cast<std::uint32_t>(nodes_.size());
          open_.pop_back();
        } else {
          return fail("expected ',' or '" + std::string(object ? "}" : "]") + "' but found " +
                      shown(p_));
        }
      }
    }
  }

 private:
  Status fail(const std::string& what) const {
    return invalidArgument("malformed JSON: " + what + " at byte " + std::to_string(p_));
  }

  /// The character at `p` for a message.
  std::string shown(std::size_t p) const { return describeJsonByte(std::string_view(s_, n_), p); }

  void skipSpace() {
    while (p_ < n_ && isSpace(s_[p_])) {
      ++p_;
    }
  }

  Status push(JsonDocument::Kind kind, std::string_view text, bool escaped = false) {
    if (nodes_.size() >= max_nodes_) {
      return outOfRange("the JSON holds more than " + std::to_string(max_nodes_) + " values");
    }
    if (nodes_.size() >= std::numeric_limits<std::uint32_t>::max()) {
      return resourceExhausted("the JSON has too many values");
    }
    JsonDocument::Node node;
    node.kind = kind;
    node.escaped = escaped;
    node.text = text;
    node.end = static_cast<std::uint32_t>(nodes_.size() + 1);
    nodes_.push_back(node);
    return Status();
  }

  /// An object member's key and the ':' after it; p_ is at the key.
  Status key() {
    if (p_ == n_ || s_[p_] != '"') {
      return fail("expected a member name in double quotes but found " + shown(p_));
    }
    AIMASS_RETURN_IF_ERROR(string());
    skipSpace();
    if (p_ == n_ || s_[p_] != ':') {
      return fail("expected ':' after a member name but found " + shown(p_));
    }
    ++p_;
    skipSpace();
    return Status();
  }

  Status scalar() {
    const char c = s_[p_];
    if (c == '"') {
      return string();
    }
    if (c == '-' || isDigit(c)) {
      return number();
    }
    for (auto [word, kind] : {std::pair{std::string_view("true"), JsonDocument::Kind::kTrue},
                              std::pair{std::string_view("false"), JsonDocument::Kind::kFalse},
                              std::pair{std::string_view("null"), JsonDocument::Kind::kNull}}) {
      if (std::string_view(s_ + p_, n_ - p_).starts_with(word)) {
        std::string_view token(s_ + p_, word.size());
        p_ += word.size();
        return push(kind, token);
      }
    }
    return fail("expected a value but found " + shown(p_));
  }

  /// Numbers one after another in a list (a tensor's data), without the general loop's
  /// bookkeeping per element. p_ is at the first; stops after a number that is not followed by
  /// `, <number>`, leaving what follows to the general loop (which counts that last element).
  Status numberRun() {
    const std::uint32_t list = open_.back();
    for (;;) {
      if (!plainNumber()) {
        AIMASS_RETURN_IF_ERROR(number());
      }
      std::size_t q = p_;
      while (q < n_ && isSpace(s_[q])) {
        ++q;
      }
      if (q == n_ || s_[q] != ',') {
        return Status();
      }
      ++q;
      while (q < n_ && isSpace(s_[q])) {
        ++q;
      }
      if (q == n_ || !(s_[q] == '-' || isDigit(s_[q]))) {
        return Status();
      }
      ++nodes_[list].size;
      p_ = q;
    }
  }

  /// The common number in a tensor's data, read in one pass: at most 19 digits with or
  /// without a fraction, no exponent, a value exactValue() works out, at least 32 bytes of
  /// text left (so the few bounds checks below suffice) and room for its node. Pushes its node
  /// and returns true; returns false, with nothing pushed or consumed, for anything else, which
  /// number() then reads (or refuses) in full.
  bool plainNumber() {
    const char* p = s_ + p_;
    const char* const end = s_ + n_;
    if (end - p < 32 || nodes_.size() >= plain_limit_) {
      return false;
    }
    const char* const begin = p;
    const bool negative = *p == '-';
    p += negative ? 1 : 0;
    std::uint64_t mantissa = 0;
    const char* const int_begin = p;
    if (*p == '0') {
      ++p;
    } else {
      while (p < end && isDigit(*p)) {
        mantissa = mantissa * 10 + static_cast<std::uint64_t>(*p - '0');
        ++p;
      }
      if (p == int_begin) {
        return false;
      }
    }
    const auto int_digits = p - int_begin;
    std::ptrdiff_t frac_digits = 0;
    if (p < end && *p == '.') {
      const char* const frac_begin = ++p;
      while (end - p >= 8 && eightAreDigits(p)) {
        mantissa = mantissa * 100000000 + eightDigits(p);
        p += 8;
      }
      while (p < end && isDigit(*p)) {
        mantissa = mantissa * 10 + static_cast<std::uint64_t>(*p - '0');
        ++p;
      }
      frac_digits = p - frac_begin;
      if (frac_digits == 0) {
        return false;
      }
    }
    // An exponent, a digit after a leading zero ("01") or the text's end: the full reader.
    double value = 0;
    if (p == end || *p == 'e' || *p == 'E' || isDigit(*p) || int_digits + frac_digits > 19 ||
        (mantissa != 0 && !exactValue(mantissa, -static_cast<int>(frac_digits), value))) {
      return false;
    }
    JsonDocument::Node& node = nodes_.emplace_back();
    node.kind = JsonDocument::Kind::kNumber;
    node.has_value = true;
    node.text = std::string_view(begin, static_cast<std::size_t>(p - begin));
    node.end = static_cast<std::uint32_t>(nodes_.size());
    node.value = negative ? -value : value;
    p_ = static_cast<std::size_t>(p - s_);
    return true;
  }

  /// The eight decimal digits at `p` as a number, in a few operations on one 64-bit word
  /// (each step adds neighbouring groups: digit pairs, then groups of four, then eight).
  static std::uint64_t eightDigits(const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof(v));
    if constexpr (std::endian::native == std::endian::big) {
      v = __builtin_bswap64(v);
    }
    v -= 0x3030303030303030ULL;
    v = v * 10 + (v >> 8);
    return (((v & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
            (((v >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >>
           32;
  }

  /// Whether the eight bytes at `p` are all decimal digits: a byte is one when its high half is
  /// 3 and adding 6 to it does not carry into the high half.
  static bool eightAreDigits(const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof(v));
    return ((v & 0xF0F0F0F0F0F0F0F0ULL) |
            (((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) == 0x3333333333333333ULL;
  }

  /// The end of the run of digits starting at `p` (eight at a time while eight are there).
  static const char* skipDigits(const char* p, const char* end) {
    while (end - p >= 8 && eightAreDigits(p)) {
      p += 8;
    }
    while (p < end && isDigit(*p)) {
      ++p;
    }
    return p;
  }

  /// Appends the digits [d, end) to `value` (at most 19 digits in all).
  static void accumulate(std::uint64_t& value, const char* d, const char* end) {
    for (; end - d >= 8; d += 8) {
      value = value * 100000000 + eightDigits(d);
    }
    for (; d < end; ++d) {
      value = value * 10 + static_cast<std::uint64_t>(*d - '0');
    }
  }

  /// A number token; also works out its value when that is cheap and exact (Node::value):
  /// the significant digits as an integer m up to 2^53 and a decimal exponent e with |e| <= 22,
  /// where m and 10^|e| are both exact doubles, so one IEEE multiplication or division gives
  /// the correctly rounded value (Clinger's fast path).
  Status number() {
    const char* const begin = s_ + p_;
    const char* const end = s_ + n_;
    const char* p = begin;
    const bool negative = *p == '-';
    if (negative) {
      ++p;
    }
    // The digits before and after the decimal point.
    const char* int_begin = p;
    if (p < end && *p == '0') {
      ++p;
    } else if (p < end && isDigit(*p)) {
      p = skipDigits(p, end);
    } else {
      p_ = static_cast<std::size_t>(p - s_);
      return fail("a number needs a digit after '-'");
    }
    const char* int_end = p;
    const char* frac_begin = p;
    const char* frac_end = p;
    if (p < end && *p == '.') {
      frac_begin = ++p;
      if (p == end || !isDigit(*p)) {
        p_ = static_cast<std::size_t>(p - s_);
        return fail("a number needs a digit after its decimal point");
      }
      p = skipDigits(p, end);
      frac_end = p;
    }
    int exponent = 0;
    bool huge_exponent = false;  // too many exponent digits to keep: readers convert the text
    if (p < end && (*p == 'e' || *p == 'E')) {
      ++p;
      bool minus = false;
      if (p < end && (*p == '+' || *p == '-')) {
        minus = *p == '-';
        ++p;
      }
      if (p == end || !isDigit(*p)) {
        p_ = static_cast<std::size_t>(p - s_);
        return fail("a number needs a digit in its exponent");
      }
      while (p < end && isDigit(*p)) {
        if (exponent < 10000) {
          exponent = exponent * 10 + (*p - '0');
        } else {
          huge_exponent = true;
        }
        ++p;
      }
      exponent = minus ? -exponent : exponent;
    }
    p_ = static_cast<std::size_t>(p - s_);
    AIMASS_RETURN_IF_ERROR(push(JsonDocument::Kind::kNumber, std::string_view(begin, p - begin)));
    // Significant digits: skip the leading zeros ("0.000123" has three).
    const char* first = int_begin;
    if (int_end - int_begin == 1 && *int_begin == '0') {
      first = frac_begin;
      while (first < frac_end && *first == '0') {
        ++first;
      }
    }
    const std::ptrdiff_t digits =
        first < int_end ? (int_end - first) + (frac_end - frac_begin) : frac_end - first;
    if (digits > 19 || huge_exponent) {
      return Status();  // readers convert the text
    }
    std::uint64_t mantissa = 0;
    accumulate(mantissa, first, int_end);
    accumulate(mantissa, std::max(first, frac_begin), frac_end);
    const int e = exponent - static_cast<int>(frac_end - frac_begin);
    JsonDocument::Node& node = nodes_.back();
    double value = 0;
    if (mantissa == 0) {
      node.value = negative ? -0.0 : 0.0;
      node.has_value = true;
    } else if (exactValue(mantissa, e, value)) {
      node.value = negative ? -value : value;
      node.has_value = true;
    }
    return Status();
  }

  /// A string; p_ is at its opening quote.
  Status string() {
    const std::size_t start = ++p_;
    bool escaped = false;
    while (true) {
      if (p_ == n_) {
        return fail("the text ends inside a string");
      }
      const auto c = static_cast<unsigned char>(s_[p_]);
      if (c == '"') {
        break;
      }
      if (c == '\\') {
        escaped = true;
        AIMASS_RETURN_IF_ERROR(escape());
      } else if (c < 0x20) {
        return fail("a string holds the control character " + shown(p_) + " (escape it)");
      } else if (c < 0x80) {
        ++p_;
      } else {
        std::size_t length = utf8SequenceLength(std::string_view(s_ + p_, n_ - p_));
        if (length == 0) {
          return fail("a string holds " + shown(p_) + ", which is not valid UTF-8 here");
        }
        p_ += length;
      }
    }
    std::string_view text(s_ + start, p_ - start);
    ++p_;
    return push(JsonDocument::Kind::kString, text, escaped);
  }

  /// One escape; p_ is at its backslash.
  Status escape() {
    if (n_ - p_ < 2) {
      return fail("the text ends inside a string");
    }
    switch (s_[p_ + 1]) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        p_ += 2;
        return Status();
      case 'u':
        break;
      default:
        ++p_;
        return fail("unknown escape '\\" + std::string(1, s_[p_]) + "' in a string");
    }
    int unit = n_ - p_ >= 6 ? jsonHex4(std::string_view(s_ + p_ + 2, 4)) : -1;
    if (unit < 0) {
      return fail("\\u needs four hex digits");
    }
    if (unit >= 0xDC00 && unit <= 0xDFFF) {
      return fail("\\u" + std::string(s_ + p_ + 2, 4) + " is a low surrogate without a high one");
    }
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      int low = n_ - p_ >= 12 && s_[p_ + 6] == '\\' && s_[p_ + 7] == 'u'
                    ? jsonHex4(std::string_view(s_ + p_ + 8, 4))
                    : -1;
      if (low < 0xDC00 || low > 0xDFFF) {
        return fail("\\u" + std::string(s_ + p_ + 2, 4) +
                    " is a high surrogate without a low one after it");
      }
      p_ += 12;
      return Status();
    }
    p_ += 6;
    return Status();
  }

  const char* s_;
  std::size_t n_;
  std::size_t p_ = 0;
  std::vector<JsonDocument::Node>& nodes_;
  std::vector<std::uint32_t>& open_;
  std::size_t max_depth_;
  std::size_t max_nodes_;
  std::size_t plain_limit_;  ///< plainNumber() pushes only below this many nodes
};

}  // namespace

Status JsonDocument::parse(std::string_view text, std::size_t max_depth, std::size_t max_nodes) {
  nodes_.clear();
  open_.clear();
  return Scanner(text, nodes_, open_, max_depth, max_nodes).run();
}

std::size_t JsonDocument::member(std::size_t object, std::string_view key) const {
  const Node& o = nodes_[object];
  if (o.kind != Kind::kObject) {
    return kNone;
  }
  std::size_t found = kNone;
  std::size_t i = object + 1;
  for (std::uint32_t m = 0; m < o.size; ++m) {
    const Node& k = nodes_[i];
    if (k.escaped ? string(i) == key : k.text == key) {
      found = i + 1;
    }
    i = nodes_[i + 1].end;
  }
  return found;
}

std::string JsonDocument::string(std::size_t index) const {
  const Node& node = nodes_[index];
  return node.escaped ? decodeCheckedJsonString(node.text) : std::string(node.text);
}

void JsonDocument::trim() {
  nodes_.clear();
  open_.clear();
  if (nodes_.capacity() > kKeptNodes) {
    nodes_ = std::vector<Node>();
  }
  if (open_.capacity() > kKeptNodes) {
    open_ = std::vector<std::uint32_t>();
  }
}

}  // namespace aimass::plugins::frontend
