#include "tasks/representation_task.hpp"

#include "analysis/rank_statistics.hpp"
#include "data/table_reader.hpp"
#include "util/error.hpp"
#include "util/yaml_file.hpp"

#include <Eigen/Dense>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <set>

namespace compeval {
namespace {

std::string expand(std::string path, const std::string & data_dir) {
    const std::string key = "{data_dir}";
    const auto pos = path.find(key);
    if (pos != std::string::npos) {
        path.replace(pos, key.size(), data_dir);
    }
    return path;
}

// The carrier's text before {{phrase}} is the context; the phrase (with the
// space before it) is the pooled target.
HiddenStateRequest carrier_request(const std::string & carrier, const std::string & phrase) {
    const auto pos = carrier.find("{{phrase}}");
    return {carrier.substr(0, pos), phrase, false};
}

std::string last_word(const std::string & s) {
    const auto space = s.find_last_of(' ');
    return space == std::string::npos ? s : s.substr(space + 1);
}

// What compound_similarity reads: the judged and the rated compounds, and one
// request per compound and per head noun, in that order.
struct CompoundInputs {
    std::vector<std::string> compounds;
    std::vector<bool> compositional;
    std::vector<std::string> rated;
    std::vector<double> literality;
    std::vector<HiddenStateRequest> requests;
};

CompoundInputs compound_inputs(const RepresentationSpec & spec) {
    CompoundInputs in;
    auto & compounds = in.compounds;
    auto & compositional = in.compositional;
    auto & rated = in.rated;
    auto & literality = in.literality;
    // Farahmand: majority of four judges; 2-2 ties are left out.
    const Table judgments =
        read_table(spec.judgments_path, {TableFormat::Csv, {"compound", "j1", "j2", "j3", "j4"}, 0});
    for (const auto & row : judgments.rows) {
        int votes = 0;
        for (size_t j = 1; j <= 4; ++j) {
            if (row.values[j] != "0" && row.values[j] != "1") {
                throw Error(judgments.path + ":" + std::to_string(row.line) + ": field 'judge" + std::to_string(j) +
                            "': expected 0 or 1, found '" + row.values[j] + "'");
            }
            votes += row.values[j] == "1" ? 1 : 0;
        }
        if (votes != 2) {
            compounds.push_back(row.values[0]);
            compositional.push_back(votes < 2);
        }
    }
    const Table ratings = read_table(
        spec.ratings_path, {TableFormat::Tsv, {"modifier", "head", "lit_mod", "lit_head", "lit_compound"}, 0});
    for (const auto & row : ratings.rows) {
        rated.push_back(row.values[0] + " " + row.values[1]);
        try {
            literality.push_back(std::stod(row.values[4]));
        } catch (const std::exception &) {
            throw Error(ratings.path + ":" + std::to_string(row.line) + ": field 'lit_compound': not a number: '" +
                        row.values[4] + "'");
        }
    }

    for (const auto & list : {&compounds, &rated}) {
        for (const auto & c : *list) {
            in.requests.push_back(carrier_request(spec.carrier, c));
            in.requests.push_back(carrier_request(spec.carrier, last_word(c)));
        }
    }
    return in;
}

RepresentationResult compound_similarity(const Model & model, const RepresentationSpec & spec, int threads) {
    const CompoundInputs in = compound_inputs(spec);
    const auto & compounds = in.compounds;
    const auto & compositional = in.compositional;
    const auto & rated = in.rated;
    const auto & literality = in.literality;
    const auto & requests = in.requests;
    HiddenStateExtractor extractor(model, {spec.layers, spec.pooling, threads, 512});
    const auto states = extractor.extract(requests);

    RepresentationResult result;
    result.task = spec.name;
    for (size_t li = 0; li < extractor.layers().size(); ++li) {
        LayerMetrics m;
        m.layer = extractor.layers()[li];
        std::vector<double> pos;
        std::vector<double> neg;
        for (size_t i = 0; i < compounds.size(); ++i) {
            const double c = cosine(states[2 * i][li], states[2 * i + 1][li]);
            (compositional[i] ? pos : neg).push_back(c);
        }
        std::vector<double> cos_rated;
        const size_t base = 2 * compounds.size();
        for (size_t i = 0; i < rated.size(); ++i) {
            cos_rated.push_back(cosine(states[base + 2 * i][li], states[base + 2 * i + 1][li]));
        }
        m.n = compounds.size();
        m.values["auc_farahmand"] = roc_auc(pos, neg);
        m.values["spearman_reddy"] = spearman(cos_rated, literality);
        m.values["mean_cos_compositional"] =
            pos.empty() ? 0.0 : std::accumulate(pos.begin(), pos.end(), 0.0) / pos.size();
        m.values["mean_cos_noncompositional"] =
            neg.empty() ? 0.0 : std::accumulate(neg.begin(), neg.end(), 0.0) / neg.size();
        result.layers.push_back(std::move(m));
    }
    return result;
}

Eigen::MatrixXd rows_of(const std::vector<const std::vector<float> *> & vectors) {
    Eigen::MatrixXd m(static_cast<Eigen::Index>(vectors.size()), static_cast<Eigen::Index>(vectors.front()->size()));
    for (size_t i = 0; i < vectors.size(); ++i) {
        for (size_t j = 0; j < vectors[i]->size(); ++j) {
            m(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = (*vectors[i])[j];
        }
    }
    return m;
}

double row_cosine(const Eigen::RowVectorXd & a, const Eigen::RowVectorXd & b) {
    const double d = a.norm() * b.norm();
    return d == 0.0 ? 0.0 : a.dot(b) / d;
}

// Mean cosine of predictions to truth, and mean rank (1 = best) of each true
// phrase among all held-out phrases by cosine to its prediction.
std::pair<double, double> fit_quality(const Eigen::MatrixXd & predicted, const Eigen::MatrixXd & truth) {
    double cos_sum = 0.0;
    double rank_sum = 0.0;
    for (Eigen::Index i = 0; i < predicted.rows(); ++i) {
        const double own = row_cosine(predicted.row(i), truth.row(i));
        cos_sum += own;
        double rank = 1.0;
        for (Eigen::Index j = 0; j < truth.rows(); ++j) {
            if (j != i && row_cosine(predicted.row(i), truth.row(j)) > own) {
                rank += 1.0;
            }
        }
        rank_sum += rank;
    }
    const auto n = static_cast<double>(predicted.rows());
    return {cos_sum / n, rank_sum / n};
}

// What composition_fit reads: the distinct phrases (shuffled, capped), how
// many are held out, and a request per phrase, adjective and noun.
struct FitInputs {
    std::vector<std::pair<std::string, std::string>> pairs;
    size_t n_test = 0;
    std::vector<HiddenStateRequest> requests;
};

FitInputs fit_inputs(const RepresentationSpec & spec) {
    FitInputs in;
    auto & pairs = in.pairs;
    const Table table = read_table(spec.phrases_path, {TableFormat::Tsv, {}, 0});
    const size_t adj_col = table.column("adjective");
    const size_t noun_col = table.column("noun");
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto & row : table.rows) {
        auto p = std::make_pair(row.values[adj_col], row.values[noun_col]);
        if (seen.insert(p).second) {
            pairs.push_back(std::move(p));
        }
    }
    std::mt19937_64 rng(spec.seed);
    std::shuffle(pairs.begin(), pairs.end(), rng);
    if (pairs.size() > spec.max_phrases) {
        pairs.resize(spec.max_phrases);
    }
    in.n_test = std::max<size_t>(2, static_cast<size_t>(static_cast<double>(pairs.size()) * spec.test_fraction));
    if (pairs.size() < in.n_test + 2) {
        throw Error(spec.phrases_path + ": too few distinct adjective-noun phrases (" + std::to_string(pairs.size()) +
                    ")");
    }
    for (const auto & [adj, noun] : pairs) {
        in.requests.push_back(carrier_request(spec.carrier, adj + " " + noun));
        in.requests.push_back(carrier_request(spec.carrier, adj));
        in.requests.push_back(carrier_request(spec.carrier, noun));
    }
    return in;
}

RepresentationResult composition_fit(const Model & model, const RepresentationSpec & spec, int threads) {
    const FitInputs in = fit_inputs(spec);
    const auto & pairs = in.pairs;
    const size_t n_test = in.n_test;
    const auto & requests = in.requests;
    HiddenStateExtractor extractor(model, {spec.layers, spec.pooling, threads, 512});
    const auto states = extractor.extract(requests);
    const size_t n_train = pairs.size() - n_test;

    RepresentationResult result;
    result.task = spec.name;
    for (size_t li = 0; li < extractor.layers().size(); ++li) {
        std::vector<const std::vector<float> *> phrase;
        std::vector<const std::vector<float> *> adj;
        std::vector<const std::vector<float> *> noun;
        for (size_t i = 0; i < pairs.size(); ++i) {
            phrase.push_back(&states[3 * i][li]);
            adj.push_back(&states[3 * i + 1][li]);
            noun.push_back(&states[3 * i + 2][li]);
        }
        const Eigen::MatrixXd P = rows_of(phrase);
        const Eigen::MatrixXd A = rows_of(adj);
        const Eigen::MatrixXd N = rows_of(noun);
        Eigen::MatrixXd X(P.rows(), A.cols() + N.cols());
        X << A, N;
        const auto train = Eigen::seqN(0, static_cast<Eigen::Index>(n_train));
        const auto test = Eigen::seqN(static_cast<Eigen::Index>(n_train), static_cast<Eigen::Index>(n_test));
        // Ridge in its dual form (fewer phrases than features): pred = x X^T (X X^T + lambda I)^-1 P.
        const Eigen::MatrixXd Xtr = X(train, Eigen::all);
        const Eigen::MatrixXd K =
            Xtr * Xtr.transpose() + spec.ridge_lambda * Eigen::MatrixXd::Identity(Xtr.rows(), Xtr.rows());
        const Eigen::MatrixXd alpha = K.ldlt().solve(P(train, Eigen::all));
        const Eigen::MatrixXd ridge = X(test, Eigen::all) * Xtr.transpose() * alpha;
        const Eigen::MatrixXd additive = A(test, Eigen::all) + N(test, Eigen::all);
        const Eigen::MatrixXd truth = P(test, Eigen::all);
        const auto [cos_add, rank_add] = fit_quality(additive, truth);
        const auto [cos_ridge, rank_ridge] = fit_quality(ridge, truth);
        LayerMetrics m;
        m.layer = extractor.layers()[li];
        m.n = n_test;
        m.values["cos_additive"] = cos_add;
        m.values["rank_additive"] = rank_add;
        m.values["cos_ridge"] = cos_ridge;
        m.values["rank_ridge"] = rank_ridge;
        result.layers.push_back(std::move(m));
    }
    return result;
}

}  // namespace

bool is_representation_task(const std::string & path) {
    try {
        const YAML::Node root = YAML::LoadFile(path);
        return root.IsMap() && root["kind"].IsDefined();
    } catch (const YAML::Exception &) {
        return false;  // the task loader reports the problem
    }
}

RepresentationSpec load_representation_spec(const std::string & path, const std::string & data_dir) {
    const YAML::Node root = load_yaml_file(path, "task");
    check_keys(root,
               {"name", "kind", "category", "description", "carrier", "pooling", "layers", "data", "max_phrases",
                "ridge_lambda", "seed"},
               path, "");
    auto fail = [&](const YAML::Node & node, const std::string & message) {
        throw Error(path + ":" + std::to_string(node.Mark().line + 1) + ": " + message);
    };
    auto text = [&](const YAML::Node & parent, const char * key) {
        if (!parent[key]) {
            fail(parent, std::string("missing field '") + key + "'");
        }
        return parent[key].as<std::string>();
    };
    RepresentationSpec spec;
    spec.path = path;
    spec.name = text(root, "name");
    spec.kind = text(root, "kind");
    spec.category = root["category"] ? root["category"].as<std::string>() : "";
    spec.description = root["description"] ? root["description"].as<std::string>() : "";
    if (root["carrier"]) {
        spec.carrier = root["carrier"].as<std::string>();
        if (spec.carrier.find("{{phrase}}") == std::string::npos) {
            fail(root["carrier"], "field 'carrier' must contain {{phrase}}");
        }
    }
    if (root["pooling"]) {
        const auto p = root["pooling"].as<std::string>();
        if (p != "last" && p != "mean") {
            fail(root["pooling"], "field 'pooling' must be last or mean");
        }
        spec.pooling = p == "mean" ? Pooling::Mean : Pooling::Last;
    }
    if (root["layers"] && !(root["layers"].IsScalar() && root["layers"].as<std::string>() == "all")) {
        try {
            spec.layers = root["layers"].as<std::vector<int>>();
        } catch (const YAML::Exception &) {
            fail(root["layers"], "field 'layers' must be 'all' or a list of layer numbers");
        }
    }
    const YAML::Node data = root["data"];
    if (!data) {
        fail(root, "missing field 'data'");
    }
    if (spec.kind == "compound_similarity") {
        check_keys(data, {"judgments", "ratings"}, path, "data");
        spec.judgments_path = expand(text(data, "judgments"), data_dir);
        spec.ratings_path = expand(text(data, "ratings"), data_dir);
    } else if (spec.kind == "composition_fit") {
        check_keys(data, {"phrases"}, path, "data");
        spec.phrases_path = expand(text(data, "phrases"), data_dir);
        if (root["max_phrases"]) {
            spec.max_phrases = root["max_phrases"].as<size_t>();
        }
        if (root["ridge_lambda"]) {
            spec.ridge_lambda = root["ridge_lambda"].as<double>();
        }
        if (root["seed"]) {
            spec.seed = root["seed"].as<uint64_t>();
        }
    } else {
        fail(root["kind"], "unknown kind '" + spec.kind + "' (compound_similarity, composition_fit)");
    }
    return spec;
}

std::vector<HiddenStateRequest> representation_requests(const RepresentationSpec & spec) {
    return spec.kind == "compound_similarity" ? compound_inputs(spec).requests : fit_inputs(spec).requests;
}

RepresentationResult run_representation_task(const Model & model, const RepresentationSpec & spec, int threads) {
    return spec.kind == "compound_similarity" ? compound_similarity(model, spec, threads)
                                              : composition_fit(model, spec, threads);
}

}  // namespace compeval
