#include "analysis/replicate_statistics.hpp"

#include "util/error.hpp"

#include <numeric>
#include <random>

namespace compeval {
namespace {

size_t items_of(const std::vector<const Replicates *> & recipes) {
    if (recipes.empty()) {
        throw Error("no recipes to compare");
    }
    const size_t n = recipes.front()->empty() ? 0 : recipes.front()->front().size();
    for (const auto * r : recipes) {
        if (r->empty()) {
            throw Error("a recipe needs at least one seed");
        }
        for (const auto & seed : *r) {
            if (seed.size() != n || n == 0) {
                throw Error("every seed of every recipe must answer the same non-empty item set");
            }
        }
    }
    return n;
}

// One bootstrap world per draw: the items (shared by every recipe) and, per
// recipe, its seeds. A recipe with one seed draws no seed index, so with one
// seed everywhere the random stream is the item bootstrap's.
class Resampler {
  public:
    Resampler(size_t n_items, uint64_t seed) : rng_(seed), pick_item_(0, n_items - 1), items_(n_items) {}

    void draw_items() {
        for (auto & i : items_) {
            i = pick_item_(rng_);
        }
    }

    std::vector<size_t> draw_seeds(size_t n_seeds) {
        std::vector<size_t> out(n_seeds);
        if (n_seeds == 1) {
            out[0] = 0;
            return out;
        }
        std::uniform_int_distribution<size_t> pick(0, n_seeds - 1);
        for (auto & s : out) {
            s = pick(rng_);
        }
        return out;
    }

    double mean(const Replicates & recipe, const std::vector<size_t> & seeds) const {
        double total = 0.0;
        for (size_t s : seeds) {
            double sum = 0.0;
            for (size_t i : items_) {
                sum += recipe[s][i];
            }
            total += sum / static_cast<double>(items_.size());
        }
        return total / static_cast<double>(seeds.size());
    }

    // mean(a) - mean(b) of paired recipes, item by item (a[s] and b[s] paired).
    double paired_difference(const Replicates & a, const Replicates & b, const std::vector<size_t> & seeds) const {
        double total = 0.0;
        for (size_t s : seeds) {
            double sum = 0.0;
            for (size_t i : items_) {
                sum += a[s][i] - b[s][i];
            }
            total += sum / static_cast<double>(items_.size());
        }
        return total / static_cast<double>(seeds.size());
    }

  private:
    std::mt19937_64 rng_;
    std::uniform_int_distribution<size_t> pick_item_;
    std::vector<size_t> items_;
};

BootstrapEffect effect_from(std::vector<double> draws, double estimate, int iterations, uint64_t seed, double level) {
    BootstrapEffect out;
    out.p_value = bootstrap_two_sided_p(draws);
    static_cast<BootstrapInterval &>(out) = percentile_interval(std::move(draws), estimate, iterations, seed, level);
    return out;
}

void check_iterations(int iterations) {
    if (iterations < 1) {
        throw Error("a bootstrap needs at least one iteration");
    }
}

}  // namespace

double replicated_mean(const Replicates & recipe) {
    const size_t n = items_of({&recipe});
    double total = 0.0;
    for (const auto & seed : recipe) {
        total += std::accumulate(seed.begin(), seed.end(), 0.0) / static_cast<double>(n);
    }
    return total / static_cast<double>(recipe.size());
}

BootstrapInterval replicated_mean_interval(const Replicates & recipe, int iterations, uint64_t seed, double level) {
    check_iterations(iterations);
    Resampler world(items_of({&recipe}), seed);
    std::vector<double> draws(static_cast<size_t>(iterations));
    for (auto & d : draws) {
        world.draw_items();
        d = world.mean(recipe, world.draw_seeds(recipe.size()));
    }
    return percentile_interval(std::move(draws), replicated_mean(recipe), iterations, seed, level);
}

BootstrapEffect replicated_difference(const Replicates & a, const Replicates & b, bool paired, int iterations,
                                      uint64_t seed, double level) {
    check_iterations(iterations);
    Resampler world(items_of({&a, &b}), seed);
    if (paired && a.size() != b.size()) {
        throw Error("paired recipes need the same number of seeds");
    }
    std::vector<double> draws(static_cast<size_t>(iterations));
    for (auto & d : draws) {
        world.draw_items();
        const auto seeds_a = world.draw_seeds(a.size());
        d = paired ? world.paired_difference(a, b, seeds_a)
                   : world.mean(a, seeds_a) - world.mean(b, world.draw_seeds(b.size()));
    }
    double estimate = replicated_mean(a) - replicated_mean(b);
    if (paired) {
        Replicates diff = a;
        for (size_t s = 0; s < a.size(); ++s) {
            for (size_t i = 0; i < a[s].size(); ++i) {
                diff[s][i] -= b[s][i];
            }
        }
        estimate = replicated_mean(diff);
    }
    return effect_from(std::move(draws), estimate, iterations, seed, level);
}

Slope replicated_scaling_slope(const std::vector<double> & x, const std::vector<Replicates> & recipes, int iterations,
                               uint64_t seed, double level) {
    check_iterations(iterations);
    if (x.size() != recipes.size()) {
        throw Error("one x value per recipe is needed");
    }
    std::vector<const Replicates *> all;
    std::vector<double> acc;
    for (const auto & r : recipes) {
        all.push_back(&r);
        acc.push_back(replicated_mean(r));
    }
    Resampler world(items_of(all), seed);
    Slope out;
    out.slope = least_squares_slope(x, acc);
    out.iterations = iterations;
    std::vector<double> draws(static_cast<size_t>(iterations));
    std::vector<double> resampled(recipes.size());
    for (auto & d : draws) {
        world.draw_items();
        for (size_t r = 0; r < recipes.size(); ++r) {
            resampled[r] = world.mean(recipes[r], world.draw_seeds(recipes[r].size()));
        }
        d = least_squares_slope(x, resampled);
    }
    out.p_value = bootstrap_two_sided_p(draws);
    const auto interval = percentile_interval(std::move(draws), out.slope, iterations, seed, level);
    out.low = interval.low;
    out.high = interval.high;
    return out;
}

}  // namespace compeval
