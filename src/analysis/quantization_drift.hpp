#pragma once
// What quantizing did to a model's numbers, answer by answer against the
// model it was quantized from (the same task, split, item and prompt): how
// far each choice's log-likelihood moved, and how often the answer changed.
// Accuracy can stay put while answers change in both directions; this says
// how much moved underneath.
#include "analysis/findings.hpp"
#include "analysis/run_samples.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace compeval {

// One row per quantized model x task x split ("all" and each split): model,
// source, quant, task, split, n (answers paired), accuracy and
// source_accuracy, flipped (share whose predicted choice differs),
// reordered (share whose choices' order by log-likelihood differs), and for
// log-likelihood routes mean_abs_drift, mean_drift and max_abs_drift (nats
// per choice, quantized minus source).
nlohmann::json quantization_drift(const std::vector<RunSample> & samples,
                                  const std::map<std::string, ReportModel> & models);

}  // namespace compeval
