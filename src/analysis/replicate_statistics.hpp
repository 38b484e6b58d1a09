#pragma once
// Statistics over recipes trained with several seeds. A model trained once is
// one draw of its recipe: the seed-to-seed spread can be as large as the
// effect of scale, so an interval that resamples only the items claims too
// much. These bootstraps resample both levels in every draw: the seeds of each
// recipe (with replacement) and the items (one resample shared by every
// recipe, since all answered the same items). With one seed per recipe they
// reduce exactly to the item bootstraps in statistics.hpp (same draws).
#include "analysis/statistics.hpp"

#include <cstdint>
#include <vector>

namespace compeval {

// replicates[r][i]: seed r's score (0..1) on item i; every seed answers the same items.
using Replicates = std::vector<std::vector<double>>;

struct BootstrapEffect : BootstrapInterval {
    double p_value = 1.0;  // two-sided bootstrap p for an effect of zero
};

// Mean over seeds of the mean over items.
double replicated_mean(const Replicates & recipe);

BootstrapInterval replicated_mean_interval(const Replicates & recipe, int iterations = 2000, uint64_t seed = 1,
                                           double level = 0.95);

// mean(a) - mean(b) on the same items. `paired`: a[r] was derived from b[r]
// (an instruct variant tuned from base seed r), so seeds are resampled
// together; otherwise each recipe's seeds are resampled on their own.
BootstrapEffect replicated_difference(const Replicates & a, const Replicates & b, bool paired, int iterations = 2000,
                                      uint64_t seed = 1, double level = 0.95);

// Least-squares slope of recipe accuracy on x (e.g. log10 parameters), one
// point per recipe, every recipe answering the same items.
Slope replicated_scaling_slope(const std::vector<double> & x, const std::vector<Replicates> & recipes,
                               int iterations = 2000, uint64_t seed = 1, double level = 0.95);

}  // namespace compeval
