#pragma once
// Whether a model's confidence means anything, and what share of its answers
// may go through without a person: calibration (reliability bins, expected
// calibration error, Brier score) and selective prediction (the risk-coverage
// curve, the threshold that keeps the error rate under a target, the
// threshold that costs least when reviewing an item has a price).
//
// Every measure takes optional weights, one per answer: the bootstrap
// resamples items by giving each answer its item's multiplicity, so one
// sort serves every draw.
#include <cstddef>
#include <limits>
#include <vector>

namespace compeval {

struct ConfidentAnswer {
    double confidence = 0;  // the probability the model gave its answer, in [0, 1]
    bool correct = false;
    double rework = 1;  // the cost of letting this answer through when it is wrong
};

// Equal-width bins over [0, 1]; a confidence of exactly 1 falls in the last.
constexpr size_t kCalibrationBins = 10;

struct ReliabilityBin {
    double low = 0;
    double high = 0;
    double weight = 0;      // answers in the bin (weighted)
    double confidence = 0;  // their mean confidence
    double accuracy = 0;    // their share correct
};

std::vector<ReliabilityBin> reliability_bins(const std::vector<ConfidentAnswer> & answers,
                                             const std::vector<double> * weights = nullptr,
                                             size_t bins = kCalibrationBins);

// sum over bins of (bin weight / total) * |accuracy - confidence|.
double expected_calibration_error(const std::vector<ReliabilityBin> & bins);

// Mean of (confidence - correct)^2 over the answers: the Brier score of the
// chosen answer's confidence (0 is perfect; always saying 0.5 scores 0.25).
double brier_score(const std::vector<ConfidentAnswer> & answers, const std::vector<double> * weights = nullptr);

// Keeping the answers whose confidence is at least `threshold`: the share
// kept, the error rate among them, and the cost per item when the rest go to
// a person at `review_cost` each and a kept error costs its rework.
struct CoveragePoint {
    double threshold = 0;  // +infinity: nothing kept
    double coverage = 0;
    double risk = 0;  // 0 where nothing is kept
    double rework_per_item = 0;
    double review_share = 0;
};

// The answers sorted once, most confident first, for curves under many weightings.
class RiskCoverage {
  public:
    explicit RiskCoverage(std::vector<ConfidentAnswer> answers);

    // One point per distinct confidence, from "nothing kept" (threshold
    // +infinity) to "everything kept" (the lowest confidence).
    std::vector<CoveragePoint> curve(const std::vector<double> * weights = nullptr) const;

    const std::vector<ConfidentAnswer> & answers() const { return sorted_; }

    // Sorted position -> index in the answers as given.
    const std::vector<size_t> & order() const { return order_; }

    // Weights of the sorted answers from weights given in the original order.
    std::vector<double> sorted_weights(const std::vector<double> & original) const;

  private:
    std::vector<ConfidentAnswer> sorted_;
    std::vector<size_t> order_;  // sorted position -> original index
};

// The point that keeps most answers with risk <= max_error (nothing kept
// when no threshold reaches it).
CoveragePoint max_coverage_at_risk(const std::vector<CoveragePoint> & curve, double max_error);

// The point of least cost per item, rework of kept errors plus review of the
// rest; among equal costs the one that keeps most.
CoveragePoint least_cost(const std::vector<CoveragePoint> & curve, double review_cost);

// The point of the curve a fixed threshold gives (every answer at or above it kept).
CoveragePoint at_threshold(const std::vector<CoveragePoint> & curve, double threshold);

// Cost per item of a point: kept errors' rework plus the review of the rest.
inline double cost_per_item(const CoveragePoint & p, double review_cost) {
    return p.rework_per_item + p.review_share * review_cost;
}

constexpr double kKeepNothing = std::numeric_limits<double>::infinity();

// What one bootstrap draw needs, in one pass over the sorted answers:
// the same numbers as reliability_bins + expected_calibration_error,
// brier_score, and max_coverage_at_risk / least_cost / at_threshold on the
// curve, without building the curve.
struct SelectiveQuery {
    std::vector<double> max_errors;
    double review_cost = -1;  // < 0: no least-cost search
    std::vector<double> thresholds;
};

struct SelectiveSummary {
    double ece = 0;
    double brier = 0;
    std::vector<CoveragePoint> at_max_error;  // per max_errors
    CoveragePoint least_cost;
    std::vector<CoveragePoint> at_threshold;  // per thresholds
};

// `sorted_weights` in RiskCoverage::answers() order.
SelectiveSummary summarize(const RiskCoverage & rc, const std::vector<double> & sorted_weights,
                           const SelectiveQuery & query);

}  // namespace compeval
