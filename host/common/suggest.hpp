// "Did you mean ...?" hints: the closest candidate by edit distance, if close enough.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace descent {

std::size_t edit_distance(std::string_view a, std::string_view b);
// The candidate nearest to `word` (at most about a third of its letters off), or "".
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);
// "; did you mean 'x'?" or "" when nothing is close.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// The user error for a name that is not one of `choices`: "unknown <what> 'x'; did you mean
// 'y'?" with a note listing all choices (optimizers, schedules, initializers, ...).
Error unknown_choice_error(std::string_view what, std::string_view given,
                           std::span<const std::string_view> choices, const Span& where);

// The enumerator whose name is `given`, for an enum whose names are `names` in enumerator
// order; else unknown_choice_error.
template <class Kind>
Kind parse_choice(std::string_view what, std::string_view given,
                  std::span<const std::string_view> names, const Span& where) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == given) return static_cast<Kind>(i);
  throw unknown_choice_error(what, given, names, where);
}

}  // namespace descent
