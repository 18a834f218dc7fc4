// Levenshtein distance and the nearest-candidate hint.
#include "common/suggest.hpp"

#include <algorithm>

namespace descent {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(1, (word.size() + 2) / 3) + 1;
  for (const std::string& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string best = closest_match(word, candidates);
  return best.empty() ? std::string() : "; did you mean '" + best + "'?";
}

Error unknown_choice_error(std::string_view what, std::string_view given,
                           std::span<const std::string_view> choices, const Span& where) {
  const std::vector<std::string> names(choices.begin(), choices.end());
  std::string message =
      "unknown " + std::string(what) + " '" + std::string(given) + "'" + did_you_mean(given, names);
  std::string note = "valid " + std::string(what) + "s: ";
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) note += ", ";
    note += choices[i];
  }
  return input_error(std::move(message), where, std::move(note));
}

}  // namespace descent
