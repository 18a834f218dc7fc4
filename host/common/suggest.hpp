// "Did you mean ...?" hints: the closest candidate by edit distance, if close enough.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace descent {

std::size_t edit_distance(std::string_view a, std::string_view b);
// The candidate nearest to `word` (at most about a third of its letters off), or "".
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);
// "; did you mean 'x'?" or "" when nothing is close.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace descent
