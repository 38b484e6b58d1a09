#include "pilot/pilot.hpp"

#include <fmt/core.h>

#include <map>
#include <set>

namespace compeval {
namespace {

// One row of the summary's table: name, seen and unseen accuracy, gap, rework, items/s.
constexpr const char * kColumns = "{:<22} {:>24} {:>24} {:>24} {:>12} {:>9}\n";

// The summary's own words; the verdicts and the recommendation come from the
// report, already in its language.
struct Words {
    const char * heading;   // {run}
    const char * pooled;    // a recipe row: seeds pooled
    const char * findings;  // the unseen findings' heading
    const char * no_findings;
    const char * recommendation;
    const char * none;
};

const Words kEnglish = {
    "pilot {}: accuracy on seen combinations and on combinations the models never saw (mean over prompts, 95% CI)",
    "{} ({} seeds)",
    "Findings on unseen combinations:",
    "  (no scale or instruction-tuning comparison: give models of one family, several sizes or an instruct variant)",
    "Recommendation:",
    "No model is recommended on this evidence.",
};

const Words kJapanese = {
    "パイロット {}: 既見の組み合わせと、学習で一度も見ていない組み合わせでの正解率 (プロンプト平均, 95% 信頼区間)",
    "{} (シード {} 個)",
    "未見の組み合わせについての所見:",
    "  (規模・指示チューニングの比較なし: 同じファミリーで複数サイズかインストラクト版のモデルを指定してください)",
    "推奨:",
    "この結果から推奨できるモデルはありません。",
};

// A comparison's name as the summary prints it (the report's JSON keeps the English key).
std::string comparison_name(const std::string & comparison, bool ja) {
    if (!ja) {
        return comparison;
    }
    static const std::map<std::string, std::string> names = {
        {"scale", "規模"}, {"instruction tuning", "指示チューニング"}, {"largest vs smallest", "最大 vs 最小"}};
    const auto it = names.find(comparison);
    return it == names.end() ? comparison : it->second;
}

std::string interval(const nlohmann::json & b, bool sign = false) {
    return sign ? fmt::format("{:+.3f} [{:+.3f}, {:+.3f}]", b["estimate"].get<double>(), b["low"].get<double>(),
                              b["high"].get<double>())
                : fmt::format("{:.3f} [{:.3f}, {:.3f}]", b["estimate"].get<double>(), b["low"].get<double>(),
                              b["high"].get<double>());
}

struct Row {
    std::string name;
    std::string seen = "-";
    std::string unseen = "-";
    std::string gap = "-";
    double rework = 0;
    double items_per_s = 0;
    size_t models = 0;
    size_t measured = 0;
};

// Per model or recipe on unseen combinations: calibration, the share it may
// answer alone at the first target error rate, and what the threshold set on
// seen combinations lets through there.
std::string risk_table(const nlohmann::json & c, bool ja) {
    if (!c.contains("models") || c["models"].empty()) {
        return "";
    }
    const double target = c["max_errors"][0].get<double>();
    constexpr const char * kRiskColumns = "{:<22} {:>24} {:>20} {:>32}\n";
    std::string out =
        ja ? fmt::format("未見の組み合わせでの確信度と人の確認 (誤り {:g}% 以下):\n", 100 * target)
           : fmt::format("Confidence and review on unseen combinations (at <= {:g}% errors):\n", 100 * target);
    out += fmt::format(kRiskColumns, ja ? "モデル" : "model", ja ? "ECE [95% 信頼区間]" : "ECE [95% CI]",
                       ja ? "単独で答える割合" : "answered alone",
                       ja ? "既見のしきい値: 単独, 誤り" : "seen threshold: alone, errors");
    std::set<std::string> tasks;
    for (const auto & m : c["models"]) {
        tasks.insert(m["task"].get<std::string>());
    }
    for (const auto & m : c["models"]) {
        if (m["split"] == "seen") {
            continue;
        }
        const std::string name = m["model"].get<std::string>() +
                                 (tasks.size() > 1 ? " (" + m["task"].get<std::string>() + ")" : std::string());
        const auto & cov = m["selective"][0]["coverage"];
        std::string rule = "-";
        if (m.contains("seen_threshold") && !m["seen_threshold"][0]["threshold"].is_null()) {
            const auto & r = m["seen_threshold"][0];
            rule = fmt::format("{:.0f}%, {:.1f}%", 100 * r["coverage"]["estimate"].get<double>(),
                               100 * r["risk"]["estimate"].get<double>());
        }
        out += fmt::format(kRiskColumns, name, interval(m["ece"]),
                           fmt::format("{:.0f}% [{:.0f}, {:.0f}]", 100 * cov["estimate"].get<double>(),
                                       100 * cov["low"].get<double>(), 100 * cov["high"].get<double>()),
                           rule);
    }
    return out;
}

}  // namespace

std::string pilot_summary(const nlohmann::json & report) {
    const bool ja = report.value("lang", "en") == "ja";
    const Words & w = ja ? kJapanese : kEnglish;
    std::map<std::string, double> speed;
    for (const auto & m : report["cost"]["models"]) {
        if (m.value("measured", false)) {
            speed[m["model"].get<std::string>()] = m["items_per_s"].get<double>();
        }
    }
    // One row per recipe (models given one group: seeds pooled), else per model.
    std::map<std::string, std::string> recipe_of;
    std::map<std::string, size_t> recipe_seeds;
    for (const auto & r : report["recipes"]) {
        for (const auto & m : r["models"]) {
            recipe_of[m.get<std::string>()] = r["recipe"].get<std::string>();
        }
        recipe_seeds[r["recipe"].get<std::string>()] = r["models"].size();
    }
    std::vector<Row> rows;
    std::map<std::string, size_t> row_of;
    for (const auto & t : report["tasks"]) {
        const std::string model = t["model"].get<std::string>();
        const bool pooled = recipe_of.contains(model);
        const std::string key = pooled ? recipe_of[model] : model;
        if (!row_of.contains(key)) {
            row_of[key] = rows.size();
            rows.push_back({pooled ? fmt::format(fmt::runtime(w.pooled), key, recipe_seeds[key]) : key});
        }
        Row & row = rows[row_of[key]];
        ++row.models;
        row.rework += t.value("rework_per_item", 0.0);
        if (speed.contains(model)) {
            row.items_per_s += speed[model];
            ++row.measured;
        }
        if (!pooled) {
            for (const auto & a : t["accuracy_mean_over_prompts"]) {
                if (a["split"] == "unseen") {
                    row.unseen = interval(a["bootstrap"]);
                } else if (a["split"] == "seen") {
                    row.seen = interval(a["bootstrap"]);
                }
            }
            if (t.contains("seen_unseen_gap")) {
                const auto & g = t["seen_unseen_gap"];
                row.gap = interval({{"estimate", g["gap"]}, {"low", g["low"]}, {"high", g["high"]}}, true);
            }
        }
    }
    // A recipe's unseen accuracy and gap come from the pooled rows (seeds and items resampled).
    std::map<std::string, std::map<std::string, nlohmann::json>> recipe_split;
    for (const auto & r : report["recipes"]) {
        recipe_split[r["recipe"].get<std::string>()][r["split"].get<std::string>()] = r["accuracy"];
    }
    for (auto & [recipe, splits] : recipe_split) {
        if (!row_of.contains(recipe) || !splits.contains("unseen")) {
            continue;
        }
        Row & row = rows[row_of[recipe]];
        row.unseen = interval(splits["unseen"]);
        if (splits.contains("seen")) {
            row.seen = interval(splits["seen"]);
            row.gap = fmt::format(
                "{:+.3f}", splits["seen"]["estimate"].get<double>() - splits["unseen"]["estimate"].get<double>());
        }
    }

    std::string out = fmt::format(fmt::runtime(w.heading), report.value("run", "")) + "\n";
    if (report.contains("records")) {
        out += report["records"]["sentence"].get<std::string>() + "\n";
    }
    out += fmt::format(fmt::runtime(kColumns), ja ? "モデル" : "model", ja ? "既見の正解率" : "seen accuracy",
                       ja ? "未見の正解率" : "unseen accuracy", ja ? "既見 - 未見" : "seen - unseen",
                       ja ? "手戻り/件" : "rework/item", "items/s");
    for (const auto & r : rows) {
        out += fmt::format(
            fmt::runtime(kColumns), r.name, r.seen, r.unseen, r.gap,
            fmt::format("{:.3f}", r.rework / static_cast<double>(std::max<size_t>(r.models, 1))),
            r.measured > 0 ? fmt::format("{:.0f}", r.items_per_s / static_cast<double>(r.measured)) : std::string("-"));
    }
    out += std::string(w.findings) + "\n";
    size_t shown = 0;
    for (const auto & f : report["findings"]) {
        const std::string comparison = f["comparison"].get<std::string>();
        if (f["split"] != "unseen" || comparison == "quantization") {
            continue;
        }
        out += fmt::format("  {} {} vs {}: {}\n", comparison_name(comparison, ja), f["a"].get<std::string>(),
                           f["b"].get<std::string>(), f["verdict"].get<std::string>());
        ++shown;
    }
    if (shown == 0) {
        out += std::string(w.no_findings) + "\n";
    }
    out += risk_table(report.value("calibration", nlohmann::json::object()), ja);
    const auto & rec = report["cost"]["recommendation"];
    out += std::string(w.recommendation) + " " +
           (rec["model"].is_null() ? std::string(w.none) : rec["model"].get<std::string>()) + "\n";
    for (const auto & r : rec["reasons"]) {
        out += "  - " + r.get<std::string>() + "\n";
    }
    for (const auto & r : rec.value("risk", nlohmann::json::array())) {
        out += "  - " + r.get<std::string>() + "\n";
    }
    return out;
}

}  // namespace compeval
