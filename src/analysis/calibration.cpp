#include "analysis/calibration.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace compeval {
namespace {

double weight_at(const std::vector<double> * weights, size_t i) {
    return weights == nullptr ? 1.0 : (*weights)[i];
}

void check_weights(const std::vector<ConfidentAnswer> & answers, const std::vector<double> * weights) {
    if (weights != nullptr && weights->size() != answers.size()) {
        throw Error("calibration: " + std::to_string(weights->size()) + " weights for " +
                    std::to_string(answers.size()) + " answers");
    }
}

}  // namespace

std::vector<ReliabilityBin> reliability_bins(const std::vector<ConfidentAnswer> & answers,
                                             const std::vector<double> * weights, size_t bins) {
    check_weights(answers, weights);
    std::vector<ReliabilityBin> out(bins);
    for (size_t b = 0; b < bins; ++b) {
        out[b].low = static_cast<double>(b) / static_cast<double>(bins);
        out[b].high = static_cast<double>(b + 1) / static_cast<double>(bins);
    }
    for (size_t i = 0; i < answers.size(); ++i) {
        const double w = weight_at(weights, i);
        const double c = answers[i].confidence;
        auto & bin = out[std::min(bins - 1, static_cast<size_t>(std::max(0.0, c) * static_cast<double>(bins)))];
        bin.weight += w;
        bin.confidence += w * c;
        bin.accuracy += answers[i].correct ? w : 0.0;
    }
    for (auto & bin : out) {
        if (bin.weight > 0) {
            bin.confidence /= bin.weight;
            bin.accuracy /= bin.weight;
        }
    }
    return out;
}

double expected_calibration_error(const std::vector<ReliabilityBin> & bins) {
    double total = 0;
    double gap = 0;
    for (const auto & b : bins) {
        total += b.weight;
        gap += b.weight * std::abs(b.accuracy - b.confidence);
    }
    return total > 0 ? gap / total : 0.0;
}

double brier_score(const std::vector<ConfidentAnswer> & answers, const std::vector<double> * weights) {
    check_weights(answers, weights);
    double total = 0;
    double sum = 0;
    for (size_t i = 0; i < answers.size(); ++i) {
        const double w = weight_at(weights, i);
        const double d = answers[i].confidence - (answers[i].correct ? 1.0 : 0.0);
        total += w;
        sum += w * d * d;
    }
    return total > 0 ? sum / total : 0.0;
}

RiskCoverage::RiskCoverage(std::vector<ConfidentAnswer> answers) : order_(answers.size()) {
    std::iota(order_.begin(), order_.end(), size_t{0});
    std::stable_sort(order_.begin(), order_.end(),
                     [&](size_t a, size_t b) { return answers[a].confidence > answers[b].confidence; });
    sorted_.reserve(answers.size());
    for (const size_t i : order_) {
        sorted_.push_back(answers[i]);
    }
}

std::vector<double> RiskCoverage::sorted_weights(const std::vector<double> & original) const {
    check_weights(sorted_, &original);
    std::vector<double> out(order_.size());
    for (size_t k = 0; k < order_.size(); ++k) {
        out[k] = original[order_[k]];
    }
    return out;
}

std::vector<CoveragePoint> RiskCoverage::curve(const std::vector<double> * weights) const {
    check_weights(sorted_, weights);
    double total = 0;
    for (size_t i = 0; i < sorted_.size(); ++i) {
        total += weight_at(weights, i);
    }
    std::vector<CoveragePoint> out;
    out.push_back({kKeepNothing, 0.0, 0.0, 0.0, total > 0 ? 1.0 : 0.0});
    if (total <= 0) {
        return out;
    }
    double kept = 0;
    double errors = 0;
    double rework = 0;
    for (size_t i = 0; i < sorted_.size(); ++i) {
        const double w = weight_at(weights, i);
        kept += w;
        if (!sorted_[i].correct) {
            errors += w;
            rework += w * sorted_[i].rework;
        }
        // A threshold keeps every answer at its confidence: ties are one point.
        const bool last_of_tie = i + 1 == sorted_.size() || sorted_[i + 1].confidence < sorted_[i].confidence;
        if (last_of_tie && kept > 0) {
            out.push_back({sorted_[i].confidence, kept / total, errors / kept, rework / total, 1.0 - kept / total});
        }
    }
    return out;
}

CoveragePoint max_coverage_at_risk(const std::vector<CoveragePoint> & curve, double max_error) {
    CoveragePoint best = curve.front();
    for (const auto & p : curve) {
        // The tolerance absorbs the rounding of a weighted share exactly at the target.
        if (p.risk <= max_error + 1e-12 && p.coverage > best.coverage) {
            best = p;
        }
    }
    return best;
}

CoveragePoint least_cost(const std::vector<CoveragePoint> & curve, double review_cost) {
    CoveragePoint best = curve.front();
    for (const auto & p : curve) {
        const double c = cost_per_item(p, review_cost);
        const double b = cost_per_item(best, review_cost);
        if (c < b - 1e-12 || (c <= b + 1e-12 && p.coverage > best.coverage)) {
            best = p;
        }
    }
    return best;
}

CoveragePoint at_threshold(const std::vector<CoveragePoint> & curve, double threshold) {
    CoveragePoint out = curve.front();
    for (const auto & p : curve) {
        if (p.threshold >= threshold) {
            out = p;
        }
    }
    return out;
}

SelectiveSummary summarize(const RiskCoverage & rc, const std::vector<double> & sorted_weights,
                           const SelectiveQuery & query) {
    const auto & answers = rc.answers();
    check_weights(answers, &sorted_weights);
    double total = 0;
    for (const double w : sorted_weights) {
        total += w;
    }
    SelectiveSummary out;
    const CoveragePoint none{kKeepNothing, 0.0, 0.0, 0.0, total > 0 ? 1.0 : 0.0};
    out.at_max_error.assign(query.max_errors.size(), none);
    out.least_cost = none;
    out.at_threshold.assign(query.thresholds.size(), none);
    if (total <= 0) {
        return out;
    }
    std::vector<ReliabilityBin> bins(kCalibrationBins);
    double brier = 0;
    double kept = 0;
    double errors = 0;
    double rework = 0;
    const bool priced = query.review_cost >= 0;
    double best_cost = priced ? cost_per_item(none, query.review_cost) : 0;
    for (size_t i = 0; i < answers.size(); ++i) {
        const double w = sorted_weights[i];
        const auto & a = answers[i];
        const double correct = a.correct ? 1.0 : 0.0;
        auto & bin =
            bins[std::min(kCalibrationBins - 1, static_cast<size_t>(std::max(0.0, a.confidence) * kCalibrationBins))];
        bin.weight += w;
        bin.confidence += w * a.confidence;
        bin.accuracy += w * correct;
        brier += w * (a.confidence - correct) * (a.confidence - correct);
        kept += w;
        errors += w * (1.0 - correct);
        rework += w * (1.0 - correct) * a.rework;
        const bool last_of_tie = i + 1 == answers.size() || answers[i + 1].confidence < a.confidence;
        if (!last_of_tie || kept <= 0) {
            continue;
        }
        const CoveragePoint p{a.confidence, kept / total, errors / kept, rework / total, 1.0 - kept / total};
        for (size_t t = 0; t < query.max_errors.size(); ++t) {
            if (p.risk <= query.max_errors[t] + 1e-12 && p.coverage > out.at_max_error[t].coverage) {
                out.at_max_error[t] = p;
            }
        }
        if (priced) {
            const double c = cost_per_item(p, query.review_cost);
            if (c < best_cost - 1e-12 || (c <= best_cost + 1e-12 && p.coverage > out.least_cost.coverage)) {
                out.least_cost = p;
                best_cost = c;
            }
        }
        for (size_t t = 0; t < query.thresholds.size(); ++t) {
            if (p.threshold >= query.thresholds[t]) {
                out.at_threshold[t] = p;
            }
        }
    }
    for (auto & bin : bins) {
        if (bin.weight > 0) {
            bin.confidence /= bin.weight;
            bin.accuracy /= bin.weight;
        }
    }
    out.ece = expected_calibration_error(bins);
    out.brier = brier / total;
    return out;
}

}  // namespace compeval
