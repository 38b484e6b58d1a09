#pragma once
// Representational tasks: what the hidden states say, per layer, rather than
// what the model answers.
//   compound_similarity (COMPCOMB reconstruction): cosine between a noun
//     compound's state and its head noun's; AUC for separating compositional
//     from non-compositional compounds (Farahmand et al. judgments, majority
//     vote) and Spearman correlation with Reddy et al.'s literality ratings.
//   composition_fit (the 2026 follow-up's representational view): predict an
//     adjective-noun phrase's state from the adjective's and the noun's states,
//     additively and by ridge regression fitted on other phrases; report the
//     held-out cosine and the rank of the true phrase among the held-out ones.
#include "backends/model.hpp"
#include "scoring/hidden_states.hpp"

#include <map>
#include <string>
#include <vector>

namespace compeval {

struct RepresentationSpec {
    std::string path;
    std::string name;
    std::string category;
    std::string description;
    std::string kind;  // "compound_similarity" or "composition_fit"
    // The phrase is read in this carrier; its state is pooled over the phrase's tokens.
    std::string carrier = "This is a {{phrase}}.";
    Pooling pooling = Pooling::Last;
    std::vector<int> layers;  // empty = every layer
    // compound_similarity
    std::string judgments_path;  // compound,judge1..judge4 (1 = non-compositional)
    std::string ratings_path;    // modifier<TAB>head<TAB>lit_mod<TAB>lit_head<TAB>lit_compound
    // composition_fit
    std::string phrases_path;  // PLANE TSV with adjective and noun columns
    size_t max_phrases = 400;
    double test_fraction = 0.25;
    double ridge_lambda = 1.0;
    uint64_t seed = 1234;
};

struct LayerMetrics {
    int layer = 0;
    size_t n = 0;
    std::map<std::string, double> values;
};

struct RepresentationResult {
    std::string task;
    std::vector<LayerMetrics> layers;
};

// True when the YAML file declares a representational `kind`.
bool is_representation_task(const std::string & path);

RepresentationSpec load_representation_spec(const std::string & path, const std::string & data_dir);

// The hidden-state requests the task reads (its data, no model needed).
std::vector<HiddenStateRequest> representation_requests(const RepresentationSpec & spec);

RepresentationResult run_representation_task(const Model & model, const RepresentationSpec & spec, int threads = 0);

}  // namespace compeval
