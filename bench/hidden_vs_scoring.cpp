// Hidden-state extraction against log-likelihood scoring of the same texts:
// every (context, choice) of an items file, on one model, in one process.
// Both decode the same prefix tree (scoring skips the leaves, extraction
// reads every layer's residual stream of each choice's last token).
//
// Usage: compeval_hidden_vs_scoring MODEL ITEMS.jsonl [threads]
// Last line: "hidden states X.X requests/s, scoring Y.Y requests/s, ratio R.RR"
#include "data/mc_items.hpp"
#include "scoring/hidden_states.hpp"
#include "scoring/loglikelihood_engine.hpp"
#include "tasks/multiple_choice.hpp"

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

namespace {

template <typename F>
double seconds_of(F && f) {
    const auto start = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char ** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: compeval_hidden_vs_scoring MODEL ITEMS.jsonl [threads]\n");
        return 2;
    }
    try {
        const int threads = argc > 3 ? std::stoi(argv[3]) : 0;
        compeval::Model model(argv[1]);
        std::vector<compeval::LoglikelihoodRequest> requests;
        std::vector<compeval::HiddenStateRequest> hidden;
        for (const auto & item : compeval::read_mc_items(argv[2])) {
            for (const auto & r : compeval::mc_requests(item)) {
                requests.push_back(r);
                hidden.push_back({r.context, r.continuation, r.parse_special});
            }
        }
        compeval::EngineOptions engine_options;
        engine_options.threads = threads;
        compeval::LoglikelihoodEngine engine(model, engine_options);
        compeval::HiddenStateExtractor extractor(model, {{}, compeval::Pooling::Last, threads, 256});
        const double scoring = seconds_of([&] { engine.loglikelihood(requests); });
        const double extracting = seconds_of([&] { extractor.extract(hidden); });
        const auto n = static_cast<double>(requests.size());
        std::printf("%zu requests, %zu layers: hidden states %.2fs, scoring %.2fs\n", requests.size(),
                    extractor.layers().size(), extracting, scoring);
        std::printf("hidden states %.1f requests/s, scoring %.1f requests/s, ratio %.2f\n", n / extracting, n / scoring,
                    scoring / extracting);
    } catch (const std::exception & e) {
        std::fprintf(stderr, "compeval_hidden_vs_scoring: %s\n", e.what());
        return 1;
    }
    return 0;
}
