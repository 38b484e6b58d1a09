#pragma once
// The Markdown report's risk-and-review section (analysis/calibration_section.hpp):
// per model the share answered alone at each target error rate, calibration
// on seen and unseen combinations, the seen threshold tried on unseen ones,
// and the cheapest threshold when reviews are priced.
#include <nlohmann/json.hpp>

#include <string>

namespace compeval {

std::string calibration_markdown(const nlohmann::json & section, bool ja);

// The recommendation's per-model sentences, as a Markdown list under its own lead-in.
std::string calibration_recommendation_markdown(const nlohmann::json & sentences, bool ja);

}  // namespace compeval
