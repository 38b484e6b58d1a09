#pragma once
// An interval as every report section writes it: {estimate, low, high}.
#include "analysis/statistics.hpp"

#include <nlohmann/json.hpp>

namespace compeval {

inline nlohmann::json interval_json(const Interval & i) {
    return {{"estimate", i.estimate}, {"low", i.low}, {"high", i.high}};
}

}  // namespace compeval
