#include "report/calibration_markdown.hpp"

#include <fmt/core.h>

namespace compeval {
namespace {

std::string interval(const nlohmann::json & i, double scale = 1.0, const char * digits = "{:.3f}",
                     const char * unit = "") {
    const auto f = fmt::format("{0}{1} [{0}, {0}]", digits, unit);
    return fmt::format(fmt::runtime(f), scale * i["estimate"].get<double>(), scale * i["low"].get<double>(),
                       scale * i["high"].get<double>());
}

std::string threshold(const nlohmann::json & t) {
    return t.is_null() ? std::string("-") : fmt::format("{:.6g}", t.get<double>());
}

}  // namespace

std::string calibration_markdown(const nlohmann::json & section, bool ja) {
    const auto & c = section;
    if (c["tasks"].empty() && c["without_confidence"].empty()) {
        return "";
    }
    const auto L = [ja](const char * en, const char * japanese) { return std::string(ja ? japanese : en); };
    std::string md =
        L("\n## Risk and review: how far the confidence can be trusted\n\nConfidence is the probability of the chosen "
          "answer, the choices' likelihoods normalized to sum to 1. ECE: 10 equal-width confidence bins over [0, 1], "
          "the bins' |accuracy - mean confidence| weighted by their answers (it is biased upward on few answers); "
          "Brier: mean (confidence - correct)^2. *Alone at <= e*: the share of answers a model gives without a "
          "person when every answer below the confidence threshold goes to one, at the threshold that keeps most "
          "answers with at most e errors among them. The seen threshold is the one set on seen combinations, tried "
          "on unseen ones. Intervals: 95% bootstrap over items.\n\n",
          "\n## リスクと確認: 確信度はどこまで信頼できるか\n\n確信度は、選んだ答えの確率です (選択肢の尤度を合計 1 "
          "に正規化)。ECE: [0, 1] を 10 等分した確信度の区間ごとの |正解率 - 平均確信度| を回答数で重み付けした平均 "
          "(回答が少ないと大きめに出ます)。Brier: (確信度 - 正誤)^2 の平均。*単独 (誤り e 以下)*: しきい値未満の答えを"
          "すべて人に回すとき、答えた中の誤りを e 以下に保って最も多く答えるしきい値で、モデルが単独で答える割合です。"
          "既見のしきい値は既見の組み合わせで決めたもので、それを未見の組み合わせに当てはめます。区間: 項目の 95% "
          "ブートストラップ。\n\n");
    const auto & targets = c["max_errors"];
    md += L("| model | task | split | answers | accuracy | confidence | ECE [95% CI] | Brier [95% CI] |",
            "| モデル | タスク | 分割 | 回答数 | 正解率 | 確信度 | ECE [95% 信頼区間] | Brier [95% 信頼区間] |");
    for (const auto & e : targets) {
        md += fmt::format(fmt::runtime(L(" alone at <= {:g}% (threshold) |", " 単独 (誤り {:g}% 以下、しきい値) |")),
                          100 * e.get<double>());
    }
    md += L(" seen threshold on unseen: alone, errors |", " 既見のしきい値を未見に: 単独、誤り |");
    const bool priced = c.contains("review_cost");
    if (priced) {
        md += fmt::format(fmt::runtime(L(" cheapest at {:g}/review: cost per 1k, reviewed |",
                                         " 確認 1 件 {:g} で最安: 1,000 件あたり、確認 |")),
                          c["review_cost"].get<double>());
    }
    md += "\n|---|---|---|---|---|---|---|---|";
    for (size_t i = 0; i < targets.size() + 1 + (priced ? 1 : 0); ++i) {
        md += "---|";
    }
    md += "\n";
    for (const auto & m : c["models"]) {
        md += fmt::format("| {} | {} | {} | {} | {:.3f} | {:.3f} | {} | {} |", m["model"].get<std::string>(),
                          m["task"].get<std::string>(), m["split"].get<std::string>(), m["answers"].get<size_t>(),
                          m["accuracy"].get<double>(), m["confidence"].get<double>(), interval(m["ece"]),
                          interval(m["brier"]));
        for (const auto & s : m["selective"]) {
            md += fmt::format(" {} ({}) |", interval(s["coverage"], 100, "{:.0f}", "%"), threshold(s["threshold"]));
        }
        if (m.contains("seen_threshold") && !m["seen_threshold"][0]["threshold"].is_null()) {
            const auto & r = m["seen_threshold"][0];
            md += fmt::format(" {:.0f}%, {:.1f}% |", 100 * r["coverage"]["estimate"].get<double>(),
                              100 * r["risk"]["estimate"].get<double>());
        } else {
            md += " - |";
        }
        if (priced) {
            md += fmt::format(" {} ({:.0f}%) |", interval(m["review"]["cost_per_1k"], 1, "{:.2f}"),
                              100 * m["review"]["review_share"].get<double>());
        }
        md += "\n";
    }
    if (!c["seen_vs_unseen"].empty()) {
        md +=
            L("\n### Calibration on seen and unseen combinations\n\n| model | task | ECE seen | ECE unseen | "
              "overconfidence seen | overconfidence unseen | Brier unseen - seen [95% CI] | verdict |\n"
              "|---|---|---|---|---|---|---|---|\n",
              "\n### 既見と未見の組み合わせでの較正\n\n| モデル | タスク | ECE 既見 | ECE 未見 | 既見の過信 | "
              "未見の過信 | "
              "Brier 未見 - 既見 [95% 信頼区間] | 判定 |\n|---|---|---|---|---|---|---|---|\n");
        for (const auto & r : c["seen_vs_unseen"]) {
            const auto & b = r["brier_difference"];
            md += fmt::format("| {} | {} | {:.3f} | {:.3f} | {:+.3f} | {:+.3f} | {:+.3f} [{:+.3f}, {:+.3f}] | {} |\n",
                              r["model"].get<std::string>(), r["task"].get<std::string>(), r["ece_seen"].get<double>(),
                              r["ece_unseen"].get<double>(), r["overconfidence_seen"].get<double>(),
                              r["overconfidence_unseen"].get<double>(), b["estimate"].get<double>(),
                              b["low"].get<double>(), b["high"].get<double>(), r["verdict"].get<std::string>());
        }
    }
    if (!c["without_confidence"].empty()) {
        md +=
            L("\n### Answers without a confidence\n\nGenerated answers carry no probability, and a pair comparison's "
              "\"equal\" is not one of its choices: these answers are left out of the section above.\n\n| model | task "
              "| route | answers |\n|---|---|---|---|\n",
              "\n### 確信度のない答え\n\n生成した答えには確率がなく、対比較の「同じ」は選択肢のどれでもありません。"
              "これらの答えは上の集計に含めていません。\n\n| モデル | タスク | 読み取り方 | 回答数 "
              "|\n|---|---|---|---|\n");
        for (const auto & w : c["without_confidence"]) {
            md += fmt::format("| {} | {} | {} | {} |\n", w["model"].get<std::string>(), w["task"].get<std::string>(),
                              w["route"].get<std::string>(), w["answers"].get<size_t>());
        }
    }
    return md;
}

std::string calibration_recommendation_markdown(const nlohmann::json & sentences, bool ja) {
    if (sentences.empty()) {
        return "";
    }
    std::string md =
        ja ? "\n人の確認に回す割合 (確信度のしきい値):\n\n" : "\nWhat goes to a person (confidence threshold):\n\n";
    for (const auto & s : sentences) {
        md += "- " + s.get<std::string>() + "\n";
    }
    return md;
}

}  // namespace compeval
