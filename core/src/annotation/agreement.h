// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "aimass/status.h"

/// Inter-annotator agreement: how far annotators who labelled the same items agree beyond what
/// chance would give. The annotation node gathers the annotations of a project (per project, or
/// one annotator against the others) and reports these figures; keeping them pure makes every
/// measure testable against hand-computed values.
///
/// Threading: every function here is pure (no state, no I/O) and safe to call from many threads.
/// Failure modes: kInvalidArgument where the measure is undefined for the input (too few items or
/// raters, sizes that disagree, values that are not finite), the message saying which; no
/// function throws except std::bad_alloc.
///
/// Degenerate inputs where chance agreement is total (every rating in one category, every value
/// equal) are given the value of perfect agreement, 1, which is what the observed agreement is
/// then too: the chance-corrected ratio itself is 0 / 0 there.
namespace aimass::core::annotation {

/// Cohen's kappa of two raters over the same items: (p_o - p_e) / (1 - p_e), with p_o the share
/// of items both put in the same category and p_e = sum over categories of the product of the
/// two raters' shares of that category (the agreement of two independent raters with those
/// marginals).
///
/// `rater_a[i]` and `rater_b[i]` are the categories the two raters gave item i: any integers,
/// compared for equality only. 1 when p_e is 1 (both raters put every item in the same single
/// category). kInvalidArgument when the lengths differ or there are fewer than 2 items.
Expected<double> cohenKappa(std::span<const std::int64_t> rater_a,
                            std::span<const std::int64_t> rater_b);

/// Fleiss' kappa of N items each rated by the same number n of raters (not necessarily the
/// same people) into one of k categories: (P - P_e) / (1 - P_e), with P the mean over items of
/// the share of agreeing rater pairs, (sum_j n_ij^2 - n) / (n (n - 1)), and P_e = sum_j p_j^2,
/// p_j the share of all ratings in category j.
///
/// `counts` is row-major `items` x `categories`: counts[i * categories + j] = n_ij, how many
/// raters put item i in category j. 1 when P_e is 1 (every rating in one category).
/// kInvalidArgument when counts.size() != items * categories, there are fewer than 2 items or
/// no category, fewer than 2 raters per item, or the items' rater counts differ (naming the
/// first item whose count differs from item 0's).
Expected<double> fleissKappa(std::span<const std::uint32_t> counts, std::size_t items,
                             std::size_t categories);

/// Krippendorff's alpha with the interval metric (squared differences of numeric values),
/// missing ratings allowed: 1 - D_o / D_e, with D_o the mean squared difference within units
/// (each unit's ordered pairs of values weighted 1 / (m_u - 1), m_u its number of values, summed
/// and divided by n, the number of pairable values) and D_e the mean squared difference over all
/// ordered pairs of the pairable values, whichever units they come from.
///
/// `units[u]` holds the values given to item u by whoever rated it, in any order. Units with
/// fewer than 2 values cannot be paired and are left out (so are their values). 1 when D_e is 0
/// (every pairable value equal). kInvalidArgument when no unit has 2 or more values or a value
/// is not finite.
Expected<double> krippendorffAlphaInterval(std::span<const std::vector<double>> units);

/// Agreement on multi-label items (each rater may apply any set of labels to an item).
struct MultiLabelKappa {
  /// The mean of the labels' kappas that are set (labels with some disagreement possible); 1
  /// when none is.
  double mean = 1;
  /// Per label: the binary Fleiss' kappa of "applied" against "not applied" over the items;
  /// nullopt for a label whose ratings are all the same (no rater applied it to any item, or
  /// every rater applied it to every item): such a label tells nothing about agreement (its
  /// kappa would be the degenerate 1) and would only pull the mean up, so it is left out.
  std::vector<std::optional<double>> per_label;
};

/// Multi-label agreement: each label is a binary rating (applied or not) and gets Fleiss' kappa
/// over the items (fleissKappa() with counts {c, n - c}); the figure is their mean over the
/// labels that vary.
///
/// `label_counts` is row-major `items` x `labels`: label_counts[i * labels + l] = how many of
/// the item's `raters` applied label l to item i (at most `raters`). Every item is rated by
/// `raters` raters. kInvalidArgument when label_counts.size() != items * labels, there are fewer
/// than 2 items, no label, fewer than 2 raters, or a count above `raters` (naming the item and
/// label).
Expected<MultiLabelKappa> multiLabelKappa(std::span<const std::uint32_t> label_counts,
                                          std::size_t items, std::size_t labels,
                                          std::uint32_t raters);

/// An axis-aligned box in image coordinates: its top-left corner (x, y), width w and height h.
struct Box {
  double x = 0, y = 0, w = 0, h = 0;
};

/// Intersection over union of two boxes, in [0, 1]. A negative or NaN width or height counts as
/// 0. Two boxes with no area between them (union 0) give 1 when they are equal and 0 otherwise.
double boxIou(const Box& a, const Box& b);

/// A box an annotator drew, with its label.
struct LabelledBox {
  Box box;
  std::string label;
};

/// How far two annotators' boxes on one image agree, in [0, 1]: pairs of boxes with the same
/// label are matched greedily, the pair of highest IoU first (ties: the lower index in `a`, then
/// in `b`), each box in at most one pair; the matched pairs' IoUs are summed and divided by
/// max(|a|, |b|), so every unmatched box counts 0. 1 when both lists are empty.
/// kInvalidArgument naming the box when a coordinate is not finite or a width or height is
/// negative.
Expected<double> meanMatchedBoxIou(std::span<const LabelledBox> a, std::span<const LabelledBox> b);

/// A labelled span of text: characters [start, end) of the document.
struct LabelledSpan {
  std::int64_t start = 0, end = 0;
  std::string label;
};

/// Intersection over union of two spans' character ranges (their labels are not compared), in
/// [0, 1]. Two empty spans give 1 when they are equal and 0 otherwise; an end before its start
/// counts as an empty span.
double spanIou(const LabelledSpan& a, const LabelledSpan& b);

/// meanMatchedBoxIou() for spans of one document: greedy matching by highest spanIou() among
/// spans with the same label, unmatched spans 0, divided by max(|a|, |b|); 1 when both are
/// empty. kInvalidArgument naming the span when its end is before its start or its start is
/// negative.
Expected<double> meanMatchedSpanIou(std::span<const LabelledSpan> a,
                                    std::span<const LabelledSpan> b);

}  // namespace aimass::core::annotation
