#include "report/markdown_report.hpp"

#include "report/calibration_markdown.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <map>

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

// The Japanese report's words where the English ones are given; one place
// for every heading, header row and explanation of the Markdown report.
struct Phrase {
    bool ja = false;
    std::string operator()(const char * en, const char * japanese) const { return ja ? japanese : en; }
};

std::string quantization_markdown(const nlohmann::json & rows, const Phrase & L) {
    if (rows.empty()) {
        return "";
    }
    std::string md =
        L("\n## Quantization: what moved underneath\n\nEach quantized model against its source, answer by answer: how "
          "often the answer and the choices' order changed, and how far each choice's summed log-likelihood moved "
          "(nats, quantized minus source).\n\n| model | source | weights | task | split | answers | accuracy | source "
          "accuracy | answer changed | order changed | mean \\|drift\\| (nats) | mean drift | max \\|drift\\| |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
          "\n## 量子化: 答えはどう変わったか\n\n量子化した各モデルを量子化元と答えごとに比べます: 答えと選択肢の順位が"
          "変わった割合、各選択肢の対数尤度の合計がどれだけ動いたか (nats、量子化版 − 量子化元)。\n\n| モデル | "
          "量子化元 | "
          "重み | タスク | 分割 | 回答数 | 正解率 | 量子化元の正解率 | 答えが変わった割合 | 順位が変わった割合 | "
          "平均 \\|ずれ\\| (nats) | 平均ずれ | 最大 \\|ずれ\\| "
          "|\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
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

// Items with observed outcome counts (a records domain, rater groups): the
// most rows any model can agree with, beside how many each model does.
std::string noise_ceiling_markdown(const nlohmann::json & d, const Phrase & L) {
    std::string rows;
    for (const auto & t : d["tasks"]) {
        std::map<std::string, double> accuracy;
        for (const auto & a : t["accuracy_mean_over_prompts"]) {
            accuracy[a["split"].get<std::string>()] = a["bootstrap"]["estimate"].get<double>();
        }
        for (const auto & c : t.value("noise_ceiling", nlohmann::json::array())) {
            const std::string split = c["split"].get<std::string>();
            rows += fmt::format(
                "| {} | {} | {} | {} | {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.3f} |\n",
                t["model"].get<std::string>(), t["task"].get<std::string>(), split, c["combinations"].get<size_t>(),
                c["rows"].get<size_t>(), c["ceiling"]["rows"].get<double>(), c["agreement"]["rows"].get<double>(),
                c["ceiling"]["combinations"].get<double>(), c["agreement"]["combinations"].get<double>(),
                accuracy.contains(split) ? accuracy[split] : 0.0);
        }
    }
    if (rows.empty()) {
        return "";
    }
    std::string md = L("\n## Observed outcomes and the noise ceiling\n\n", "\n## 観測された結果とノイズの上限\n\n");
    if (d.contains("records")) {
        md += d["records"]["sentence"].get<std::string>() + "\n\n";
    }
    return md +
           L("Where one combination has several outcomes, no model agrees with more rows than its most frequent "
             "outcome holds: the ceiling. Agreement is the share of rows whose outcome the model answered (mean over "
             "prompts), by rows and by combination; accuracy is against each combination's majority.\n\n"
             "| model | task | split | combinations | rows | ceiling (rows) | agreement (rows) | ceiling (per "
             "combination) | agreement (per combination) | accuracy vs majority "
             "|\n|---|---|---|---|---|---|---|---|---|---|\n",
             "一つの組み合わせに複数の結果があるとき、どのモデルもその最も多い結果の行数より多くの行とは一致しません: "
             "これが上限です。一致率はモデルの答えと結果が一致した行の割合 (プロンプト平均) "
             "で、行ごとと組み合わせごとに"
             "示します。正解率は各組み合わせの多数派に対するものです。\n\n"
             "| モデル | タスク | 分割 | 組み合わせ | 行 | 上限 (行) | 一致率 (行) | 上限 (組み合わせ) | 一致率 "
             "(組み合わせ) | 多数派に対する正解率 |\n|---|---|---|---|---|---|---|---|---|---|\n") +
           rows;
}

// A domain's attributes (fields "slot.attribute": material.kind) on unseen
// combinations: where the errors fall, one row per model, task and attribute.
std::string attribute_markdown(const nlohmann::json & d, const Phrase & L) {
    std::string rows;
    for (const auto & t : d["tasks"]) {
        std::map<std::string, std::string> cells;  // attribute -> "value: acc [CI] (n)" ...
        for (const auto & c : t.value("by_class", nlohmann::json::array())) {
            const std::string field = c["field"].get<std::string>();
            if (c["split"] != "unseen" || field.find('.') == std::string::npos) {
                continue;
            }
            const auto & w = c["wilson"];
            cells[field] += fmt::format("{}{}: {:.3f} [{:.3f}, {:.3f}] ({})", cells[field].empty() ? "" : "; ",
                                        c["value"].get<std::string>(), w["estimate"].get<double>(),
                                        w["low"].get<double>(), w["high"].get<double>(), c["n"].get<size_t>());
        }
        for (const auto & [field, text] : cells) {
            rows += fmt::format("| {} | {} | {} | {} |\n", t["model"].get<std::string>(), t["task"].get<std::string>(),
                                field, text);
        }
    }
    if (rows.empty()) {
        return "";
    }
    return L("\n## Unseen combinations by attribute value\n\nAccuracy on unseen combinations per value of each "
             "attribute of a slot (answers over items and prompts, Wilson 95% intervals, answers in brackets): where "
             "the errors fall.\n\n| model | task | attribute | value: accuracy [95% CI] (answers) "
             "|\n|---|---|---|---|\n",
             "\n## 属性の値ごとの未見の組み合わせ\n\nスロットの各属性の値ごとの、未見の組み合わせでの正解率 "
             "(項目とプロンプトにわたる回答、Wilson 95% 区間、括弧内は回答数): 誤りがどこに集まるか。\n\n"
             "| モデル | タスク | 属性 | 値: 正解率 [95% 信頼区間] (回答数) |\n|---|---|---|---|\n") +
           rows;
}

std::string report_markdown(const RunReport & report) {
    const auto & d = report.data;
    const Phrase L{d.value("lang", "en") == "ja"};
    // Comparison names and yes/no as the reader's language writes them (the JSON keeps the English keys).
    const auto word = [&](const std::string & en) {
        static const std::map<std::string, std::string> ja = {{"instruction tuning", "指示チューニング"},
                                                              {"scale", "規模"},
                                                              {"scale (largest vs smallest)", "規模 (最大 vs 最小)"},
                                                              {"quantization", "量子化"},
                                                              {"as given", "そのまま"},
                                                              {"yes", "はい"},
                                                              {"no", "いいえ"}};
        return L.ja && ja.contains(en) ? ja.at(en) : en;
    };
    // The correlation's measures are keys in the data, named in English ("TASK METRIC (last layer)"): say them.
    const auto measure = [&](const std::string & en) {
        const std::string last = " (last layer)";
        if (!L.ja) {
            return en;
        }
        if (en == "unseen-combination accuracy") {
            return std::string("未見の組み合わせの正解率");
        }
        return en.ends_with(last) ? en.substr(0, en.size() - last.size()) + " (最終層)" : en;
    };
    std::string md =
        fmt::format(fmt::runtime(L("# compeval report: {}\n\nMetric `{}`; intervals are 95% (Wilson for proportions, "
                                   "percentile bootstrap with {} iterations, seed {}).\n\n",
                                   "# compeval レポート: {}\n\n指標 `{}`。区間は 95% (割合は Wilson、パーセンタイル・"
                                   "ブートストラップは {} 回、シード {})。\n\n")),
                    d["run"].get<std::string>(), d["metric"].get<std::string>(),
                    d["bootstrap"]["iterations"].get<int>(), d["bootstrap"]["seed"].get<uint64_t>());
    md +=
        L("## Findings\n\n| family | task | split | comparison | A vs B | n | effect [95% CI] | p (Holm) | verdict | "
          "weights | McNemar p |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
          "## 所見\n\n| ファミリー | タスク | 分割 | 比較 | A 対 B | n | 効果 [95% 信頼区間] | p (Holm 補正) | 判定 | "
          "重み | McNemar p |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (const auto & f : d["findings"]) {
        const std::string quant = f.value("quant", "");
        md +=
            fmt::format("| {} | {} | {} | {} | {} vs {} | {} | {:+.3f} [{:+.3f}, {:+.3f}] | {:.3f} | {} | {} | {} |\n",
                        f["family"].get<std::string>(), f["task"].get<std::string>(), f["split"].get<std::string>(),
                        word(f["comparison"].get<std::string>()), f["a"].get<std::string>(), f["b"].get<std::string>(),
                        f["n"].get<size_t>(), f["effect"].get<double>(), f["low"].get<double>(),
                        f["high"].get<double>(), f["p_holm"].get<double>(), f["verdict"].get<std::string>(),
                        quant.empty() ? word("as given") : quant, precision3(f, "p_mcnemar"));
    }
    md += quantization_markdown(d.value("quantization", nlohmann::json::array()), L);
    if (!d["recipes"].empty()) {
        md +=
            L("\n## Recipes: seeds pooled\n\nModels with the same `group` are one recipe trained with different "
              "seeds; the interval resamples seeds and items.\n\n| recipe | task | split | seeds | n | accuracy [95% "
              "CI] | per seed |\n|---|---|---|---|---|---|---|\n",
              "\n## レシピ: シードをまとめた結果\n\n同じ `group` のモデルは、異なるシードで学習した一つのレシピです。"
              "区間はシードと項目の両方を再標本化します。\n\n| レシピ | タスク | 分割 | シード数 | n | 正解率 [95% "
              "信頼区間] | シードごと |\n|---|---|---|---|---|---|---|\n");
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
        L("\n## Accuracy (mean over prompts)\n\n| model | task | split | n | accuracy [95% CI] | rework/item |\n"
          "|---|---|---|---|---|---|\n",
          "\n## 正解率 (プロンプト平均)\n\n| モデル | タスク | 分割 | n | 正解率 [95% 信頼区間] | 手戻り/件 |\n"
          "|---|---|---|---|---|---|\n");
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
            md += fmt::format(fmt::runtime(L("| {} | {} | seen - unseen gap | | {:+.3f} [{:+.3f}, {:+.3f}] | |\n",
                                             "| {} | {} | 既見 - 未見の差 | | {:+.3f} [{:+.3f}, {:+.3f}] | |\n")),
                              t["model"].get<std::string>(), t["task"].get<std::string>(), g["gap"].get<double>(),
                              g["low"].get<double>(), g["high"].get<double>());
        }
    }
    md += noise_ceiling_markdown(d, L);
    md += attribute_markdown(d, L);
    md +=
        L("\n## Does compositional ability go with task performance?\n\n| measure | models | rho | p | verdict |\n"
          "|---|---|---|---|---|\n",
          "\n## 構成的な能力はタスク性能と連動するか\n\n| 指標 | モデル数 | rho | p | 判定 |\n|---|---|---|---|---|\n");
    for (const auto & r : d["ability_correlation"]) {
        md += fmt::format(
            "| {} | {} | {} | {} | {} |\n", measure(r["measure"].get<std::string>()), r["n_models"].get<size_t>(),
            r["rho"].is_null() ? "-" : fmt::format("{:+.3f}", r["rho"].get<double>()),
            r["p"].is_null() ? "-" : fmt::format("{:.3f}", r["p"].get<double>()), r["verdict"].get<std::string>());
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
        md += L("\n## Human answer distributions\n\nHow far the model's distribution over the label words is from "
                "the observed one (the raters' answers, or a records domain's outcome shares; 0 = the same; total "
                "variation, and Jensen-Shannon divergence in bits), mean over items with a 95% item bootstrap. "
                "Accuracy against the majority is in the table above.\n\n"
                "| model | task | split | items | total variation | Jensen-Shannon |\n|---|---|---|---|---|---|\n",
                "\n## 人間の回答分布\n\nラベル語についてのモデルの分布が評価者の分布からどれだけ離れているか "
                "(0 = 同じ。全変動距離と、ビット単位の Jensen-Shannon ダイバージェンス)。項目平均と 95% "
                "の項目ブートストラップ"
                "区間です。評価者の多数派に対する正解率は上の表にあります。\n\n| モデル | タスク | 分割 | 項目数 | "
                "全変動距離 | "
                "Jensen-Shannon |\n|---|---|---|---|---|---|\n") +
              distribution_rows;
    }
    md +=
        L("\n## Scoring routes\n\nHow each model's answers were read: loglikelihood (in-process), forced_tokens or "
          "echo (a server's log-likelihoods), first_token (the label words' first-token log-probabilities) or "
          "generate (the model's own words, mapped to a label; an answer naming none is `no_answer`, counted "
          "wrong).\n\n| model | task | route | answers | no answer [95% CI] | label not in top-k |\n"
          "|---|---|---|---|---|---|\n",
          "\n## 答えの読み取り方\n\n各モデルの答えをどう読んだか: loglikelihood (プロセス内)、forced_tokens または "
          "echo (サーバーの対数尤度)、first_token (ラベル語の最初のトークンの対数確率)、generate (モデル自身の言葉を"
          "ラベルに対応づけたもの。どれも含まない答えは `no_answer` として不正解に数えます)。\n\n| モデル | タスク | "
          "読み取り方 | 回答数 | 無回答 [95% 信頼区間] | 上位 k にないラベル |\n|---|---|---|---|---|---|\n");
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
            L("\n## Scoring-method comparison\n\nThe same model on the same items, read two ways: accuracy "
              "(items averaged over prompts) with 95% bootstrap intervals, the paired difference A - B and McNemar's "
              "exact p.\n\n| model | task | split | A | B | n | accuracy A | accuracy B | A - B [95% CI] | McNemar p "
              "|\n|---|---|---|---|---|---|---|---|---|---|\n",
              "\n## 読み取り方の比較\n\n同じモデルの同じ項目を 2 通りに読んだもの: 正解率 (項目はプロンプト平均) と "
              "95% ブートストラップ区間、対応のある差 A - B と McNemar の正確な p。\n\n| モデル | タスク | 分割 | A | "
              "B | "
              "n | 正解率 A | 正解率 B | A - B [95% 信頼区間] | McNemar p "
              "|\n|---|---|---|---|---|---|---|---|---|---|\n");
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
            L("\n## Instruction tuning under each scoring route\n\n| family | task | split | A vs B | route | effect "
              "[95% CI] | verdict | direction differs |\n|---|---|---|---|---|---|---|---|\n",
              "\n## 読み取り方ごとの指示チューニング\n\n| ファミリー | タスク | 分割 | A 対 B | 読み取り方 | 効果 "
              "[95% 信頼区間] | 判定 | 向きが異なる |\n|---|---|---|---|---|---|---|---|\n");
        for (const auto & row : d["instruction_tuning_by_route"]) {
            for (const auto & r : row["routes"]) {
                md += fmt::format("| {} | {} | {} | {} vs {} | {} | {:+.3f} [{:+.3f}, {:+.3f}] | {} | {} |\n",
                                  row["family"].get<std::string>(), row["task"].get<std::string>(),
                                  row["split"].get<std::string>(), row["a"].get<std::string>(),
                                  row["b"].get<std::string>(), r["route"].get<std::string>(), r["effect"].get<double>(),
                                  r["low"].get<double>(), r["high"].get<double>(), r["verdict"].get<std::string>(),
                                  word(row["flips"].get<bool>() ? "yes" : "no"));
            }
        }
    }
    md +=
        L("\n## Token boundary\n\nAnswers (items x prompts) whose continuation was tokenized on its own, after the "
          "context's unchanged tokens, because a token merged across the context boundary.\n\n"
          "| model | answers | separate boundary |\n|---|---|---|\n",
          "\n## トークン境界\n\n文脈の境界をまたいでトークンが結合したため、続きを文脈の変わらないトークンのあとで"
          "単独にトークン化した答え (項目 × プロンプト) の数です。\n\n| モデル | 回答数 | 境界を分けた数 "
          "|\n|---|---|---|\n");
    for (const auto & b : d["token_boundary"]) {
        md += fmt::format("| {} | {} | {} |\n", b["model"].get<std::string>(), b["answers"].get<size_t>(),
                          b["separate"].get<size_t>());
    }
    md += calibration_markdown(d["calibration"], L.ja);
    const auto & cost = d["cost"];
    md += fmt::format(
        fmt::runtime(
            L("\n## Cost\n\nCost unit: {}. Rates are measured on the scored requests and extrapolated to each "
              "task's full set.\n\n| model | params | file MB | load s | items/s | tokens/s | ms/item | peak RSS "
              "MB | cost/1k items | accuracy | Pareto | weights | bits/weight "
              "|\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
              "\n## コスト\n\nコストの単位: {}。速度は採点したリクエストで測り、各タスクの全体に外挿しています。"
              "\n\n| モデル | パラメータ数 | ファイル MB | 読込時間 (秒) | 件/秒 | トークン/秒 | ミリ秒/件 | "
              "最大メモリ MB | "
              "コスト/1k 件 | 正解率 | パレート | 重み | ビット/重み "
              "|\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")),
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
            m["on_pareto_frontier"].get<bool>() ? word("yes") : "",
            m.value("quant", "").empty() ? word("as given") : m["quant"].get<std::string>(),
            m.value("bits_per_weight", 0.0) > 0 ? fmt::format("{:.2f}", m["bits_per_weight"].get<double>()) : "-");
    }
    const auto & rec = cost["recommendation"];
    md += fmt::format(fmt::runtime(L("\n## Recommendation\n\n**{}**\n\n", "\n## 推奨\n\n**{}**\n\n")),
                      rec["model"].is_null()
                          ? L("No model is recommended on this evidence.", "この結果から推奨できるモデルはありません。")
                          : L("Recommended: ", "推奨: ") + rec["model"].get<std::string>());
    for (const auto & r : rec["reasons"]) {
        md += "- " + r.get<std::string>() + "\n";
    }
    md += calibration_recommendation_markdown(rec.value("risk", nlohmann::json::array()), L.ja);
    return md;
}

}  // namespace compeval
