// "Did you mean …?" suggestions as graphql-js computes them (lexical distance with
// transpositions, natural ordering), so messages match the reference implementation.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace walcast::graphql {

/// The options within distance floor(0.4 * |input|) + 1 of `input` (case-insensitive
/// Damerau-Levenshtein), nearest first, ties in natural order.
std::vector<std::string> suggestion_list(std::string_view input,
                                         const std::vector<std::string>& options);

/// ` Did you mean "a", "b", or "c"?` (at most five), with an optional sub-message
/// (`the enum value`); empty when there are no suggestions.
std::string did_you_mean(const std::vector<std::string>& suggestions,
                         std::string_view sub_message = {});

/// graphql-js naturalCompare: digit runs compare as numbers.
int natural_compare(std::string_view a, std::string_view b);

} // namespace walcast::graphql
