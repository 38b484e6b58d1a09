// Quantization as a study dimension: `compeval quantize` over llama.cpp's
// quantizer gives the same bytes every time, the facts name the tensor types
// a file really holds, and a suite with a quantized variant yields a
// quantization finding and drift figures that match a computation made here,
// independently, from the run's samples.
#include "analysis/run_report.hpp"
#include "backends/gguf_check.hpp"
#include "backends/quant_types.hpp"
#include "model/quantize.hpp"
#include "runs/suite_runner.hpp"
#include "test_support.hpp"
#include "util/sha256.hpp"

#include <gguf.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace compeval {
namespace {

namespace fs = std::filesystem;

TEST(Quantize, SameBytesWhateverTheThreadCount) {
    const std::string dir = test::temp_dir("quantize-bytes");
    const std::string source = test::model_path("small-f32");
    for (const char * type : {"Q8_0", "Q4_K_M"}) {
        QuantizeOptions one;
        one.threads = 1;
        QuantizeOptions two;
        two.threads = 2;
        quantize_gguf(source, dir + "/a.gguf", type, one);
        quantize_gguf(source, dir + "/b.gguf", type, two);
        EXPECT_EQ(sha256_file(dir + "/a.gguf"), sha256_file(dir + "/b.gguf")) << type;
        EXPECT_LT(fs::file_size(dir + "/a.gguf"), fs::file_size(source) / 3) << type;
    }
    EXPECT_FALSE(fs::exists(dir + "/a.gguf.tmp-" + std::to_string(getpid())));
}

// Counted from the GGUF's tensor table here, with ggml's block sizes, not
// through the facts' code path.
std::map<std::string, uint64_t> tensor_types_of(const std::string & path, uint64_t * bytes = nullptr) {
    gguf_init_params params{true, nullptr};
    gguf_context * ctx = gguf_init_from_file(path.c_str(), params);
    std::map<std::string, uint64_t> out;
    for (int64_t i = 0; i < gguf_get_n_tensors(ctx); ++i) {
        const ggml_type type = gguf_get_tensor_type(ctx, i);
        out[ggml_type_name(type)] += gguf_get_tensor_size(ctx, i) / ggml_type_size(type) * ggml_blck_size(type);
        if (bytes != nullptr) {
            *bytes += gguf_get_tensor_size(ctx, i);
        }
    }
    gguf_free(ctx);
    return out;
}

TEST(Quantize, FactsRecordTheRealTensorTypes) {
    const std::string dir = test::temp_dir("quantize-facts");
    // 256-wide rows take the K-quants: Q4_K_M is Q4_K with some tensors Q6_K.
    quantize_gguf(test::model_path("small-f32"), dir + "/k.gguf", "q4_k_m");
    const Model k(dir + "/k.gguf");
    EXPECT_EQ(k.facts().file_type, "Q4_K_M");
    EXPECT_TRUE(k.facts().tensor_types.contains("q4_K"));
    EXPECT_TRUE(k.facts().tensor_types.contains("q6_K"));
    EXPECT_EQ(k.facts().tensor_types, tensor_types_of(dir + "/k.gguf"));
    uint64_t params = 0;
    for (const auto & [type, n] : k.facts().tensor_types) {
        params += n;
    }
    EXPECT_EQ(params, k.facts().n_params);  // llama.cpp's own count
    EXPECT_GT(k.facts().bits_per_weight, 4.5);
    EXPECT_LT(k.facts().bits_per_weight, 6.6);
    uint64_t tensor_bytes = 0;
    tensor_types_of(dir + "/k.gguf", &tensor_bytes);
    EXPECT_DOUBLE_EQ(k.facts().bits_per_weight, 8.0 * static_cast<double>(tensor_bytes) / static_cast<double>(params));
    EXPECT_LT(tensor_bytes, k.facts().file_bytes);  // the rest is metadata: the tokenizer's 32,000 pieces

    // A lab-like shape: 64-wide rows do not fit K-quant blocks (llama.cpp
    // falls back to Q5_0 / Q8_0) and a 172-wide feed-forward row not even
    // 32-blocks (F16): the label says Q4_K_M, the facts say what is there.
    RandomModelSpec spec = random_model_preset("tiny");
    spec.n_embd = 64;
    spec.n_ff = 172;
    spec.weights = WeightType::F32;
    write_random_model(spec, dir + "/narrow.gguf");
    quantize_gguf(dir + "/narrow.gguf", dir + "/narrow-q4.gguf", "Q4_K_M");
    const Model narrow(dir + "/narrow-q4.gguf");
    EXPECT_EQ(narrow.facts().file_type, "Q4_K_M");
    EXPECT_FALSE(narrow.facts().tensor_types.contains("q4_K"));
    EXPECT_TRUE(narrow.facts().tensor_types.contains("q5_0"));
    EXPECT_TRUE(narrow.facts().tensor_types.contains("f16"));  // ffn_down: 172 columns
    EXPECT_EQ(narrow.facts().tensor_types, tensor_types_of(dir + "/narrow-q4.gguf"));
    const auto info = test::run_command(test::compeval_binary() + " info -m " + dir + "/narrow-q4.gguf");
    ASSERT_EQ(info.exit_code, 0) << info.err;
    const auto j = nlohmann::json::parse(info.out);
    EXPECT_EQ(j["file_type"], "Q4_K_M");
    EXPECT_EQ(j["tensor_types"]["f16"].get<uint64_t>(), narrow.facts().tensor_types.at("f16"));
}

TEST(Quantize, BadInputGetsOneLineNamingTheCause) {
    const std::string dir = test::temp_dir("quantize-bad");
    const std::string source = test::model_path("tiny-f32");
    EXPECT_EQ(test::error_of([&] {
                  quantize_gguf(source, dir + "/x.gguf", "Q3_X");
              }).rfind("unknown weight type 'Q3_X' (known: F32, F16, BF16, Q8_0,", 0),
              0U);
    quantize_gguf(source, dir + "/q.gguf", "Q4_0");
    EXPECT_NE(test::error_of([&] {
                  quantize_gguf(dir + "/q.gguf", dir + "/x.gguf", "Q8_0");
              }).find("/q.gguf: already quantized"),
              std::string::npos);
    std::ofstream(dir + "/cut.gguf") << test::read_file(source).substr(0, 100000);
    EXPECT_NE(test::error_of([&] { quantize_gguf(dir + "/cut.gguf", dir + "/x.gguf", "Q8_0"); }).find("truncated GGUF"),
              std::string::npos);
    EXPECT_NE(
        test::error_of([&] { quantize_gguf(source, dir + "/no/such/dir/x.gguf", "Q8_0"); }).find("no such directory"),
        std::string::npos);
    EXPECT_FALSE(fs::exists(dir + "/x.gguf"));
    const auto cli = test::run_command(test::compeval_binary() + " quantize " + dir + "/missing.gguf --type Q8_0");
    EXPECT_EQ(cli.exit_code, 1);
    EXPECT_EQ(cli.err, "compeval: error: " + dir + "/missing.gguf: no such model file\n");
}

// A label task with seen and unseen items, two prompts.
std::string write_quant_suite(const std::string & dir, const std::string & models) {
    std::ofstream seen(dir + "/seen.tsv");
    std::ofstream unseen(dir + "/unseen.tsv");
    seen << "text\tlabel\n";
    unseen << "text\tlabel\n";
    const char * adjectives[] = {"red", "fake", "small", "former", "wooden", "toy", "old", "stone"};
    const char * nouns[] = {"apple", "gun", "car", "chair", "leaf", "coin", "door", "bird"};
    for (size_t i = 0; i < 64; ++i) {
        (i % 4 == 0 ? seen : unseen) << "a " << adjectives[i % 8] << " " << nouns[i / 8] << " is a " << nouns[i / 8]
                                     << "\t" << (i % 3 == 0 ? 0 : 1) << "\n";
    }
    std::ofstream(dir + "/task.yaml") << R"(name: toy
data:
  format: tsv
  splits: {seen: "{data_dir}/seen.tsv", unseen: "{data_dir}/unseen.tsv"}
scoring:
  mode: label_words
  label: label
  label_words: {"1": " yes", "0": " no"}
prompts:
  - {name: question, plain: "Question: is it true that {{text}}? Answer:"}
  - {name: claim, plain: "Claim: {{text}}. True? Answer:"}
)";
    std::ofstream(dir + "/suite.yaml") << "name: quant\ndata_dir: .\nmodels:\n" << models << "tasks:\n  - task.yaml\n";
    return dir + "/suite.yaml";
}

double mcnemar_by_hand(uint64_t b, uint64_t c) {
    const uint64_t n = b + c;
    double tail = 0;
    for (uint64_t k = 0; k <= std::min(b, c); ++k) {
        tail += std::exp(std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) - n * std::log(2.0));
    }
    return std::min(1.0, 2 * tail);
}

TEST(QuantizedSuite, FindingMatchesAnIndependentPairedComputationFromTheSamples) {
    const std::string dir = test::temp_dir("quantized-suite");
    fs::copy_file(test::model_path("tiny-f32"), dir + "/src.gguf");
    const std::string suite_path = write_quant_suite(dir,
                                                     "  - {name: src, path: src.gguf, family: random, size: 4M}\n"
                                                     "  - {name: src-q4, quantized_from: src, quant: q4_0}\n");
    const SuiteSpec suite = load_suite_spec(suite_path);
    ASSERT_EQ(suite.models.size(), 2U);
    EXPECT_EQ(suite.models[1].path, dir + "/src-q4_0.gguf");  // beside its source
    EXPECT_EQ(suite.models[1].family, "random");              // inherited
    EXPECT_EQ(suite.models[1].quant, "Q4_0");
    std::vector<std::string> log;
    SuiteRunOptions options;
    options.log = [&](const std::string & line) { log.push_back(line); };
    {
        ResultsStore store(dir + "/results.sqlite");
        export_suite_results(run_suite(suite, store, options), dir + "/run");
    }
    ASSERT_EQ(log.size(), 1U);
    EXPECT_NE(log[0].find("src-q4: quantized src to Q4_0"), std::string::npos) << log[0];
    EXPECT_EQ(Model(dir + "/src-q4_0.gguf").facts().file_type, "Q4_0");
    const auto report = build_report(dir + "/run", {});

    // Per item (split, id): correctness averaged over the two prompts, and
    // each choice's log-likelihood, read straight from samples.jsonl.
    std::map<std::string, std::map<std::string, double>> score;                  // model -> item -> mean correct
    std::map<std::string, std::map<std::string, std::vector<double>>> logprobs;  // model -> item|prompt -> choices
    std::ifstream in(dir + "/run/samples.jsonl");
    std::string line;
    while (std::getline(in, line)) {
        const auto j = nlohmann::json::parse(line);
        const std::string item = j["split"].get<std::string>() + "/" + j["id"].dump();
        score[j["model"]][item] += (j["pred"]["acc"] == j["gold"] ? 0.5 : 0.0);
        for (const auto & c : j["choices"]) {
            logprobs[j["model"]][item + "|" + j["variant"].get<std::string>()].push_back(c["logprob"].get<double>());
        }
    }
    ASSERT_EQ(score["src"].size(), 64U);
    size_t quantization_findings = 0;
    for (const auto & f : report.data["findings"]) {
        if (f["comparison"] != "quantization") {
            continue;
        }
        ++quantization_findings;
        EXPECT_EQ(f["a"], "src-q4");
        EXPECT_EQ(f["b"], "src");
        EXPECT_EQ(f["quant"], "Q4_0");
        const std::string split = f["split"];
        double diff = 0;
        uint64_t a_only = 0;
        uint64_t b_only = 0;
        size_t n = 0;
        for (const auto & [item, s] : score["src"]) {
            if (split == "unseen" && item.rfind("unseen/", 0) != 0) {
                continue;
            }
            const double q = score["src-q4"].at(item);
            diff += q - s;
            a_only += q > s ? 1 : 0;
            b_only += q < s ? 1 : 0;
            ++n;
        }
        EXPECT_EQ(f["n"].get<size_t>(), n);
        EXPECT_NEAR(f["effect"].get<double>(), diff / static_cast<double>(n), 1e-12) << split;
        EXPECT_EQ(f["a_only"].get<uint64_t>(), a_only) << split;
        EXPECT_EQ(f["b_only"].get<uint64_t>(), b_only) << split;
        EXPECT_NEAR(f["p_mcnemar"].get<double>(), mcnemar_by_hand(a_only, b_only), 1e-9) << split;
        EXPECT_LE(f["low"].get<double>(), f["effect"].get<double>());
        EXPECT_GE(f["high"].get<double>(), f["effect"].get<double>());
        EXPECT_GE(f["p_holm"].get<double>(), f["p"].get<double>());
    }
    EXPECT_EQ(quantization_findings, 2U);  // all items, unseen ones

    // Drift and flips over all answers (items x prompts).
    double abs_drift = 0;
    size_t choices = 0;
    size_t flipped = 0;
    for (const auto & [answer, lp] : logprobs["src"]) {
        const auto & q = logprobs["src-q4"].at(answer);
        for (size_t c = 0; c < lp.size(); ++c) {
            abs_drift += std::abs(q[c] - lp[c]);
            ++choices;
        }
        flipped += (q[0] > q[1]) != (lp[0] > lp[1]) ? 1 : 0;
    }
    bool checked = false;
    for (const auto & row : report.data["quantization"]) {
        if (row["split"] == "all") {
            EXPECT_EQ(row["n"].get<size_t>(), 128U);
            EXPECT_NEAR(row["mean_abs_drift"].get<double>(), abs_drift / static_cast<double>(choices), 1e-9);
            EXPECT_GT(row["mean_abs_drift"].get<double>(), 0.0);  // Q4_0 moves every number
            EXPECT_NEAR(row["flipped"].get<double>(), static_cast<double>(flipped) / 128.0, 1e-12);
            checked = true;
        }
    }
    EXPECT_TRUE(checked);

    // A second run makes nothing (the record names the source's bytes) and a
    // changed source is quantized again.
    log.clear();
    {
        ResultsStore store(dir + "/results.sqlite");
        run_suite(suite, store, options);
    }
    EXPECT_TRUE(log.empty());
    fs::copy_file(test::model_path("small-f32"), dir + "/src.gguf", fs::copy_options::overwrite_existing);
    {
        ResultsStore store(dir + "/results-2.sqlite");
        run_suite(suite, store, options);
    }
    EXPECT_EQ(log.size(), 1U);
}

TEST(QuantizedSuite, RejectsWhatCannotBeCompared) {
    const std::string dir = test::temp_dir("quantized-suite-bad");
    fs::copy_file(test::model_path("tiny-f32"), dir + "/src.gguf");
    auto error = [&](const std::string & models) {
        return test::error_of([&] { load_suite_spec(write_quant_suite(dir, models)); });
    };
    const std::string src = "  - {name: src, path: src.gguf}\n";
    EXPECT_NE(error(src + "  - {name: q, quantized_from: nope, quant: Q8_0}\n")
                  .find(":5: model 'q': quantized_from names no model of the suite ('nope')"),
              std::string::npos);
    EXPECT_NE(error(src + "  - {name: q, quantized_from: src}\n").find("quantized_from needs quant"),
              std::string::npos);
    EXPECT_NE(error(src + "  - {name: q, quantized_from: src, quant: Q9}\n").find("unknown weight type 'Q9'"),
              std::string::npos);
    EXPECT_NE(error(src + "  - {name: q, quantized_from: src, quant: Q8_0}\n  - {name: r, quantized_from: q, quant: "
                          "Q4_0}\n")
                  .find("must be a GGUF file of the suite, not a server or another quantized model"),
              std::string::npos);
    // A label the file contradicts stops the suite before anything is scored.
    quantize_gguf(dir + "/src.gguf", dir + "/q4.gguf", "Q4_0");
    EXPECT_EQ(error(src + "  - {name: q, path: q4.gguf, quant: Q8_0}\n"),
              dir + "/suite.yaml:5: model 'q': quant Q8_0 but " + dir + "/q4.gguf is Q4_0 (general.file_type)");
}

}  // namespace
}  // namespace compeval
