// SPDX-License-Identifier: Apache-2.0
#include "annotation/agreement.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

namespace aimass::core::annotation {
namespace {

// The greedy matching of two annotators' shapes on one image or document: every pair with the
// same label and a positive IoU, highest IoU first (then the lower index in a, then in b), each
// shape used once; the matched IoUs summed over max(|a|, |b|). Pairs of IoU 0 would add 0.
template <typename Shape, typename Iou>
double meanMatchedIou(std::span<const Shape> a, std::span<const Shape> b, Iou iou) {
  if (a.empty() && b.empty()) {
    return 1;
  }
  struct Pair {
    double iou;
    std::size_t i, j;
  };
  std::vector<Pair> pairs;
  for (std::size_t i = 0; i < a.size(); ++i) {
    for (std::size_t j = 0; j < b.size(); ++j) {
      if (a[i].label == b[j].label) {
        const double value = iou(a[i], b[j]);
        if (value > 0) {
          pairs.push_back({value, i, j});
        }
      }
    }
  }
  std::sort(pairs.begin(), pairs.end(), [](const Pair& l, const Pair& r) {
    return std::tie(r.iou, l.i, l.j) < std::tie(l.iou, r.i, r.j);
  });
  std::vector<bool> used_a(a.size(), false), used_b(b.size(), false);
  double sum = 0;
  for (const Pair& pair : pairs) {
    if (!used_a[pair.i] && !used_b[pair.j]) {
      used_a[pair.i] = used_b[pair.j] = true;
      sum += pair.iou;
    }
  }
  return sum / static_cast<double>(std::max(a.size(), b.size()));
}

// A width, height or length: negative and NaN count as 0.
double extent(double value) { return value > 0 ? value : 0; }

Status checkBoxes(std::span<const LabelledBox> boxes, const char* which) {
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    const Box& box = boxes[i].box;
    if (!std::isfinite(box.x) || !std::isfinite(box.y) || !std::isfinite(box.w) ||
        !std::isfinite(box.h) || box.w < 0 || box.h < 0) {
      return invalidArgument(std::string("box ") + std::to_string(i) + " of annotator " + which +
                             " needs finite coordinates and a width and height >= 0");
    }
  }
  return okStatus();
}

Status checkSpans(std::span<const LabelledSpan> spans, const char* which) {
  for (std::size_t i = 0; i < spans.size(); ++i) {
    if (spans[i].start < 0 || spans[i].end < spans[i].start) {
      return invalidArgument(std::string("span ") + std::to_string(i) + " of annotator " + which +
                             " is [" + std::to_string(spans[i].start) + ", " +
                             std::to_string(spans[i].end) + "): it needs 0 <= start <= end");
    }
  }
  return okStatus();
}

// Fleiss' kappa once the input is known to be well formed: `items` rows of `categories` counts
// that each sum to `raters` >= 2, items >= 2.
double fleissChecked(std::span<const std::uint32_t> counts, std::size_t items,
                     std::size_t categories, std::uint64_t raters) {
  std::vector<std::uint64_t> category_totals(categories, 0);
  double agreement_sum = 0;  // sum over items of P_i
  const double n = static_cast<double>(raters);
  for (std::size_t i = 0; i < items; ++i) {
    std::uint64_t squares = 0;
    for (std::size_t j = 0; j < categories; ++j) {
      const std::uint64_t c = counts[i * categories + j];
      squares += c * c;
      category_totals[j] += c;
    }
    agreement_sum += static_cast<double>(squares - raters) / (n * (n - 1));
  }
  const std::uint64_t total = raters * items;
  // Every rating in one category: P_e = 1 exactly (and so is P).
  if (std::find(category_totals.begin(), category_totals.end(), total) != category_totals.end()) {
    return 1;
  }
  double chance = 0;
  for (std::uint64_t t : category_totals) {
    const double p = static_cast<double>(t) / static_cast<double>(total);
    chance += p * p;
  }
  const double observed = agreement_sum / static_cast<double>(items);
  return (observed - chance) / (1 - chance);
}

}  // namespace

Expected<double> cohenKappa(std::span<const std::int64_t> rater_a,
                            std::span<const std::int64_t> rater_b) {
  if (rater_a.size() != rater_b.size()) {
    return invalidArgument("Cohen's kappa needs both raters to rate the same items: got " +
                           std::to_string(rater_a.size()) + " and " +
                           std::to_string(rater_b.size()) + " ratings");
  }
  const std::size_t items = rater_a.size();
  if (items < 2) {
    return invalidArgument("Cohen's kappa needs at least 2 items, got " + std::to_string(items));
  }
  // Per category: how many items each rater put in it.
  std::map<std::int64_t, std::pair<std::uint64_t, std::uint64_t>> marginals;
  std::uint64_t agreed = 0;
  for (std::size_t i = 0; i < items; ++i) {
    ++marginals[rater_a[i]].first;
    ++marginals[rater_b[i]].second;
    agreed += rater_a[i] == rater_b[i] ? 1 : 0;
  }
  // p_e * items^2 in integers, so that p_e = 1 is recognised exactly.
  std::uint64_t chance_pairs = 0;
  for (const auto& [category, counts] : marginals) {
    chance_pairs += counts.first * counts.second;
  }
  const std::uint64_t all_pairs = static_cast<std::uint64_t>(items) * items;
  if (chance_pairs == all_pairs) {
    return 1.0;  // both raters used one and the same category throughout: p_o = 1 too
  }
  const double observed = static_cast<double>(agreed) / static_cast<double>(items);
  const double chance = static_cast<double>(chance_pairs) / static_cast<double>(all_pairs);
  return (observed - chance) / (1 - chance);
}

Expected<double> fleissKappa(std::span<const std::uint32_t> counts, std::size_t items,
                             std::size_t categories) {
  if (categories == 0 || counts.size() / categories != items || counts.size() % categories != 0) {
    return invalidArgument("Fleiss' kappa: " + std::to_string(counts.size()) +
                           " counts do not make " + std::to_string(items) + " items x " +
                           std::to_string(categories) + " categories");
  }
  if (items < 2) {
    return invalidArgument("Fleiss' kappa needs at least 2 items, got " + std::to_string(items));
  }
  std::uint64_t raters = 0;
  for (std::size_t i = 0; i < items; ++i) {
    std::uint64_t sum = 0;
    for (std::size_t j = 0; j < categories; ++j) {
      sum += counts[i * categories + j];
    }
    if (i == 0) {
      raters = sum;
      if (raters < 2) {
        return invalidArgument("Fleiss' kappa needs at least 2 raters per item, item 0 has " +
                               std::to_string(raters));
      }
    } else if (sum != raters) {
      return invalidArgument(
          "Fleiss' kappa needs every item rated by the same number of "
          "raters: item " +
          std::to_string(i) + " has " + std::to_string(sum) + " ratings, item 0 has " +
          std::to_string(raters));
    }
  }
  return fleissChecked(counts, items, categories, raters);
}

Expected<double> krippendorffAlphaInterval(std::span<const std::vector<double>> units) {
  // Sums of squared differences over ordered pairs, from sums of squared deviations:
  // sum_{i != j} (v_i - v_j)^2 = 2 m sum_i (v_i - mean)^2 for m values.
  double within = 0;  // sum over units of their ordered pairs' squares / (m_u - 1)
  double sum = 0;
  std::size_t pairable = 0;
  for (std::size_t u = 0; u < units.size(); ++u) {
    for (double v : units[u]) {
      if (!std::isfinite(v)) {
        return invalidArgument("Krippendorff's alpha: unit " + std::to_string(u) +
                               " has a value that is not finite");
      }
    }
    const std::size_t m = units[u].size();
    if (m < 2) {
      continue;
    }
    double unit_sum = 0;
    for (double v : units[u]) {
      unit_sum += v;
    }
    const double mean = unit_sum / static_cast<double>(m);
    double deviations = 0;
    for (double v : units[u]) {
      deviations += (v - mean) * (v - mean);
    }
    within += 2 * static_cast<double>(m) * deviations / static_cast<double>(m - 1);
    sum += unit_sum;
    pairable += m;
  }
  if (pairable == 0) {
    return invalidArgument("Krippendorff's alpha needs a unit with at least 2 values");
  }
  const double n = static_cast<double>(pairable);
  const double mean = sum / n;
  double deviations = 0;
  for (const auto& unit : units) {
    if (unit.size() >= 2) {
      for (double v : unit) {
        deviations += (v - mean) * (v - mean);
      }
    }
  }
  if (deviations == 0) {
    return 1.0;  // every pairable value equal: D_e = D_o = 0
  }
  const double observed = within / n;
  const double expected = 2 * n * deviations / (n * (n - 1));
  return 1 - observed / expected;
}

Expected<MultiLabelKappa> multiLabelKappa(std::span<const std::uint32_t> label_counts,
                                          std::size_t items, std::size_t labels,
                                          std::uint32_t raters) {
  if (labels == 0 || label_counts.size() / labels != items || label_counts.size() % labels != 0) {
    return invalidArgument("multi-label kappa: " + std::to_string(label_counts.size()) +
                           " counts do not make " + std::to_string(items) + " items x " +
                           std::to_string(labels) + " labels");
  }
  if (items < 2 || raters < 2) {
    return invalidArgument("multi-label kappa needs at least 2 items and 2 raters, got " +
                           std::to_string(items) + " items and " + std::to_string(raters) +
                           " raters");
  }
  for (std::size_t i = 0; i < items; ++i) {
    for (std::size_t l = 0; l < labels; ++l) {
      if (label_counts[i * labels + l] > raters) {
        return invalidArgument("multi-label kappa: label " + std::to_string(l) + " of item " +
                               std::to_string(i) + " was applied " +
                               std::to_string(label_counts[i * labels + l]) + " times by " +
                               std::to_string(raters) + " raters");
      }
    }
  }
  MultiLabelKappa result;
  result.per_label.resize(labels);
  std::vector<std::uint32_t> binary(items * 2);
  double sum = 0;
  std::size_t counted = 0;
  for (std::size_t l = 0; l < labels; ++l) {
    std::uint64_t applied = 0;
    for (std::size_t i = 0; i < items; ++i) {
      binary[2 * i] = label_counts[i * labels + l];
      binary[2 * i + 1] = raters - label_counts[i * labels + l];
      applied += label_counts[i * labels + l];
    }
    if (applied == 0 || applied == static_cast<std::uint64_t>(raters) * items) {
      continue;  // the same rating throughout: left out (see MultiLabelKappa::per_label)
    }
    const double kappa = fleissChecked(binary, items, 2, raters);
    result.per_label[l] = kappa;
    sum += kappa;
    ++counted;
  }
  result.mean = counted == 0 ? 1 : sum / static_cast<double>(counted);
  return result;
}

double boxIou(const Box& a, const Box& b) {
  const double aw = extent(a.w), ah = extent(a.h), bw = extent(b.w), bh = extent(b.h);
  const double iw = extent(std::min(a.x + aw, b.x + bw) - std::max(a.x, b.x));
  const double ih = extent(std::min(a.y + ah, b.y + bh) - std::max(a.y, b.y));
  const double intersection = iw * ih;
  const double union_area = aw * ah + bw * bh - intersection;
  if (!(union_area > 0)) {
    return a.x == b.x && a.y == b.y && aw == bw && ah == bh ? 1 : 0;
  }
  return std::clamp(intersection / union_area, 0.0, 1.0);
}

Expected<double> meanMatchedBoxIou(std::span<const LabelledBox> a, std::span<const LabelledBox> b) {
  AIMASS_RETURN_IF_ERROR(checkBoxes(a, "a"));
  AIMASS_RETURN_IF_ERROR(checkBoxes(b, "b"));
  return meanMatchedIou(
      a, b, [](const LabelledBox& l, const LabelledBox& r) { return boxIou(l.box, r.box); });
}

double spanIou(const LabelledSpan& a, const LabelledSpan& b) {
  const std::int64_t a_end = std::max(a.start, a.end), b_end = std::max(b.start, b.end);
  const std::int64_t intersection =
      std::max<std::int64_t>(0, std::min(a_end, b_end) - std::max(a.start, b.start));
  const std::int64_t union_length = (a_end - a.start) + (b_end - b.start) - intersection;
  if (union_length <= 0) {
    return a.start == b.start && a_end == b_end ? 1 : 0;
  }
  return static_cast<double>(intersection) / static_cast<double>(union_length);
}

Expected<double> meanMatchedSpanIou(std::span<const LabelledSpan> a,
                                    std::span<const LabelledSpan> b) {
  AIMASS_RETURN_IF_ERROR(checkSpans(a, "a"));
  AIMASS_RETURN_IF_ERROR(checkSpans(b, "b"));
  return meanMatchedIou(a, b, spanIou);
}

}  // namespace aimass::core::annotation
