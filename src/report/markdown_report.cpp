#include "report/markdown_report.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

namespace compeval {
namespace {

// A number as JavaScript's toPrecision(3) prints it, so the HTML and Markdown agree.
std::string precision3(const nlohmann::json & row, const char * key) {
    if (!row.contains(key)) {
        return "-";
    }
    const double v = row[key].get<double>();
    if (v == 0.0) {
        return "0.00";
    }
    const int exponent = static_cast<int>(std::floor(std::log10(std::abs(v))));
    if (exponent < -6 || exponent >= 3) {
        std::string s = fmt::format("{:.2e}", v);  // 1.23e-07 -> JavaScript's 1.23e-7
        const auto e = s.find('e');
        const bool negative = s[e + 1] == '-';
        std::string digits = s.substr(e + 2);
        digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size() - 1));
        return s.substr(0, e) + "e" + (negative ? "-" : "+") + digits;
    }
    return fmt::format("{:.{}f}", v, std::max(0, 2 - exponent));
}

std::string quantization_markdown(const nlohmann::json & rows) {
    if (rows.empty()) {
        return "";
    }
    std::string md =
        "\n## Quantization: what moved underneath\n\nEach quantized model against its source, answer by answer: how "
        "often the answer and the choices' order changed, and how far each choice's summed log-likelihood moved "
        "(nats, quantized minus source).\n\n| model | source | weights | task | split | answers | accuracy | source "
        "accuracy | answer changed | order changed | mean \\|drift\\| (nats) | mean drift | max \\|drift\\| |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto & q : rows) {
        md += fmt::format("| {} | {} | {} | {} | {} | {} | {:.3f} | {:.3f} | {:.3f} | {} | {} | {} | {} |\n",
                          q["model"].get<std::string>(), q["source"].get<std::string>(), q["quant"].get<std::string>(),
                          q["task"].get<std::string>(), q["split"].get<std::string>(), q["n"].get<size_t>(),
                          q["accuracy"].get<double>(), q["source_accuracy"].get<double>(), q["flipped"].get<double>(),
                          q.contains("reordered") ? fmt::format("{:.3f}", q["reordered"].get<double>()) : "-",
                          precision3(q, "mean_abs_drift"), precision3(q, "mean_drift"), precision3(q, "max_abs_drift"));
    }
    return md;
}

}  // namespace

std::string report_markdown(const RunReport & report) {
    const auto & d = report.data;
    std::string md = fmt::format(
        "# compeval report: {}\n\nMetric `{}`; intervals are 95% (Wilson for proportions, "
        "percentile bootstrap with {} iterations, seed {}).\n\n",
        d["run"].get<std::string>(), d["metric"].get<std::string>(), d["bootstrap"]["iterations"].get<int>(),
        d["bootstrap"]["seed"].get<uint64_t>());
    md +=
        "## Findings\n\n| family | task | split | comparison | A vs B | n | effect [95% CI] | p (Holm) | verdict | "
        "weights | McNemar p |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto & f : d["findings"]) {
        const std::string quant = f.value("quant", "");
        md +=
            fmt::format("| {} | {} | {} | {} | {} vs {} | {} | {:+.3f} [{:+.3f}, {:+.3f}] | {:.3f} | {} | {} | {} |\n",
                        f["family"].get<std::string>(), f["task"].get<std::string>(), f["split"].get<std::string>(),
                        f["comparison"].get<std::string>(), f["a"].get<std::string>(), f["b"].get<std::string>(),
                        f["n"].get<size_t>(), f["effect"].get<double>(), f["low"].get<double>(),
                        f["high"].get<double>(), f["p_holm"].get<double>(), f["verdict"].get<std::string>(),
                        quant.empty() ? "as given" : quant, precision3(f, "p_mcnemar"));
    }
    md += quantization_markdown(d.value("quantization", nlohmann::json::array()));
    if (!d["recipes"].empty()) {
        md +=
            "\n## Recipes: seeds pooled\n\nModels with the same `group` are one recipe trained with different "
            "seeds; the interval resamples seeds and items.\n\n| recipe | task | split | seeds | n | accuracy [95% CI] "
            "| per seed |\n|---|---|---|---|---|---|---|\n";
        for (const auto & r : d["recipes"]) {
            std::string per_seed;
            for (const auto & v : r["per_seed"]) {
                per_seed += per_seed.empty() ? "" : " ";
                per_seed += fmt::format("{:.3f}", v.get<double>());
            }
            const auto & a = r["accuracy"];
            md += fmt::format("| {} | {} | {} | {} | {} | {:.3f} [{:.3f}, {:.3f}] | {} |\n",
                              r["recipe"].get<std::string>(), r["task"].get<std::string>(),
                              r["split"].get<std::string>(), r["models"].size(), r["n"].get<size_t>(),
                              a["estimate"].get<double>(), a["low"].get<double>(), a["high"].get<double>(), per_seed);
        }
    }
    md +=
        "\n## Accuracy (mean over prompts)\n\n| model | task | split | n | accuracy [95% CI] | rework/item |\n"
        "|---|---|---|---|---|---|\n";
    for (const auto & t : d["tasks"]) {
        for (const auto & a : t["accuracy_mean_over_prompts"]) {
            md +=
                fmt::format("| {} | {} | {} | {} | {:.3f} [{:.3f}, {:.3f}] | {:.3f} |\n", t["model"].get<std::string>(),
                            t["task"].get<std::string>(), a["split"].get<std::string>(), a["n"].get<size_t>(),
                            a["bootstrap"]["estimate"].get<double>(), a["bootstrap"]["low"].get<double>(),
                            a["bootstrap"]["high"].get<double>(), t["rework_per_item"].get<double>());
        }
        if (t.contains("seen_unseen_gap")) {
            const auto & g = t["seen_unseen_gap"];
            md += fmt::format("| {} | {} | seen - unseen gap | | {:+.3f} [{:+.3f}, {:+.3f}] | |\n",
                              t["model"].get<std::string>(), t["task"].get<std::string>(), g["gap"].get<double>(),
                              g["low"].get<double>(), g["high"].get<double>());
        }
    }
    md +=
        "\n## Does compositional ability go with task performance?\n\n| measure | models | rho | p | verdict |\n"
        "|---|---|---|---|---|\n";
    for (const auto & r : d["ability_correlation"]) {
        md += fmt::format("| {} | {} | {} | {} | {} |\n", r["measure"].get<std::string>(), r["n_models"].get<size_t>(),
                          r["rho"].is_null() ? "-" : fmt::format("{:+.3f}", r["rho"].get<double>()),
                          r["p"].is_null() ? "-" : fmt::format("{:.3f}", r["p"].get<double>()),
                          r["verdict"].get<std::string>());
    }
    std::string distribution_rows;
    for (const auto & t : d["tasks"]) {
        for (const auto & row : t.value("distribution", nlohmann::json::array())) {
            auto cell = [&](const char * key) {
                const auto & b = row[key];
                return fmt::format("{:.3f} [{:.3f}, {:.3f}]", b["estimate"].get<double>(), b["low"].get<double>(),
                                   b["high"].get<double>());
            };
            distribution_rows += fmt::format("| {} | {} | {} | {} | {} | {} |\n", t["model"].get<std::string>(),
                                             t["task"].get<std::string>(), row["split"].get<std::string>(),
                                             row["n"].get<size_t>(), cell("total_variation"), cell("jensen_shannon"));
        }
    }
    if (!distribution_rows.empty()) {
        md +=
            "\n## Human answer distributions\n\nHow far the model's distribution over the label words is from "
            "the raters' (0 = the same; total variation, and Jensen-Shannon divergence in bits), mean over items "
            "with a 95% item bootstrap. Accuracy against the raters' majority is in the table above.\n\n"
            "| model | task | split | items | total variation | Jensen-Shannon |\n|---|---|---|---|---|---|\n" +
            distribution_rows;
    }
    md +=
        "\n## Scoring routes\n\nHow each model's answers were read: loglikelihood (in-process), forced_tokens or "
        "echo (a server's log-likelihoods), first_token (the label words' first-token log-probabilities) or "
        "generate (the model's own words, mapped to a label; an answer naming none is `no_answer`, counted wrong).\n\n"
        "| model | task | route | answers | no answer [95% CI] | label not in top-k |\n|---|---|---|---|---|---|\n";
    for (const auto & t : d["tasks"]) {
        std::string none = "-";
        std::string missing = "-";
        for (const auto & r : d.value("answer_routes", nlohmann::json::array())) {
            if (r["model"] == t["model"] && r["task"] == t["task"]) {
                const auto & w = r["no_answer_rate"];
                none = fmt::format("{} ({:.3f} [{:.3f}, {:.3f}])", r["no_answer"].get<size_t>(),
                                   w["estimate"].get<double>(), w["low"].get<double>(), w["high"].get<double>());
                if (r.contains("top_k_missing")) {
                    missing = std::to_string(r["top_k_missing"].get<size_t>());
                }
            }
        }
        md += fmt::format("| {} | {} | {} | {} | {} | {} |\n", t["model"].get<std::string>(),
                          t["task"].get<std::string>(), t.value("route", "loglikelihood"), t["answers"].get<size_t>(),
                          none, missing);
    }
    if (!d.value("scoring_methods", nlohmann::json::array()).empty()) {
        md +=
            "\n## Scoring-method comparison\n\nThe same model on the same items, read two ways: accuracy "
            "(items averaged over prompts) with 95% bootstrap intervals, the paired difference A - B and McNemar's "
            "exact p.\n\n| model | task | split | A | B | n | accuracy A | accuracy B | A - B [95% CI] | McNemar p "
            "|\n|---|---|---|---|---|---|---|---|---|---|\n";
        auto cell = [](const nlohmann::json & i, const char * f) {
            return fmt::format(fmt::runtime(f), i["estimate"].get<double>(), i["low"].get<double>(),
                               i["high"].get<double>());
        };
        for (const auto & r : d["scoring_methods"]) {
            md += fmt::format(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.3g} |\n", r["model"].get<std::string>(),
                r["task"].get<std::string>(), r["split"].get<std::string>(), r["route_a"].get<std::string>(),
                r["route_b"].get<std::string>(), r["n"].get<size_t>(), cell(r["accuracy_a"], "{:.3f} [{:.3f}, {:.3f}]"),
                cell(r["accuracy_b"], "{:.3f} [{:.3f}, {:.3f}]"), cell(r["difference"], "{:+.3f} [{:+.3f}, {:+.3f}]"),
                r["mcnemar_p"].get<double>());
        }
    }
    if (!d.value("instruction_tuning_by_route", nlohmann::json::array()).empty()) {
        md +=
            "\n## Instruction tuning under each scoring route\n\n| family | task | split | A vs B | route | effect "
            "[95% CI] | verdict | direction differs |\n|---|---|---|---|---|---|---|---|\n";
        for (const auto & row : d["instruction_tuning_by_route"]) {
            for (const auto & r : row["routes"]) {
                md += fmt::format("| {} | {} | {} | {} vs {} | {} | {:+.3f} [{:+.3f}, {:+.3f}] | {} | {} |\n",
                                  row["family"].get<std::string>(), row["task"].get<std::string>(),
                                  row["split"].get<std::string>(), row["a"].get<std::string>(),
                                  row["b"].get<std::string>(), r["route"].get<std::string>(), r["effect"].get<double>(),
                                  r["low"].get<double>(), r["high"].get<double>(), r["verdict"].get<std::string>(),
                                  row["flips"].get<bool>() ? "yes" : "no");
            }
        }
    }
    md +=
        "\n## Token boundary\n\nAnswers (items x prompts) whose continuation was tokenized on its own, after the "
        "context's unchanged tokens, because a token merged across the context boundary.\n\n"
        "| model | answers | separate boundary |\n|---|---|---|\n";
    for (const auto & b : d["token_boundary"]) {
        md += fmt::format("| {} | {} | {} |\n", b["model"].get<std::string>(), b["answers"].get<size_t>(),
                          b["separate"].get<size_t>());
    }
    const auto & cost = d["cost"];
    md += fmt::format(
        "\n## Cost\n\nCost unit: {}. Rates are measured on the scored requests and extrapolated to each "
        "task's full set.\n\n| model | params | file MB | load s | items/s | tokens/s | ms/item | peak RSS MB | "
        "cost/1k items | accuracy | Pareto | weights | bits/weight "
        "|\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        cost["unit"].get<std::string>());
    for (const auto & m : cost["models"]) {
        const bool measured = m["measured"].get<bool>();
        auto num = [&](const char * key, const char * f) {
            return measured ? fmt::format(fmt::runtime(f), m[key].get<double>()) : std::string("-");
        };
        md += fmt::format(
            "| {} | {:.3g} | {:.1f} | {:.3f} | {} | {} | {} | {:.1f} | {} | {} | {} | {} | {} |\n",
            m["model"].get<std::string>(), m["n_params"].get<double>(), m["file_bytes"].get<double>() / 1e6,
            m["load_seconds"].get<double>(), num("items_per_s", "{:.2f}"), num("tokens_per_s", "{:.0f}"),
            num("latency_ms_per_item", "{:.1f}"), m["peak_rss_bytes"].get<double>() / 1e6,
            num("cost_per_1k_items", "{:.4g}"),
            m.contains("accuracy") ? fmt::format("{:.3f}", m["accuracy"]["estimate"].get<double>()) : std::string("-"),
            m["on_pareto_frontier"].get<bool>() ? "yes" : "",
            m.value("quant", "").empty() ? std::string("as given") : m["quant"].get<std::string>(),
            m.value("bits_per_weight", 0.0) > 0 ? fmt::format("{:.2f}", m["bits_per_weight"].get<double>()) : "-");
    }
    const auto & rec = cost["recommendation"];
    md += fmt::format("\n## Recommendation\n\n**{}**\n\n",
                      rec["model"].is_null() ? std::string("No model is recommended on this evidence.")
                                             : "Recommended: " + rec["model"].get<std::string>());
    for (const auto & r : rec["reasons"]) {
        md += "- " + r.get<std::string>() + "\n";
    }
    return md;
}

}  // namespace compeval
