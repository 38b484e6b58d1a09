#include "analysis/report_language.hpp"

#include "util/error.hpp"

#include <regex>
#include <utility>
#include <vector>

namespace compeval {
namespace {

// A number or name as the English forms print it.
const std::string kNum = R"(([-+]?[0-9.]+(?:e[-+]?[0-9]+)?))";
const std::string kInterval = R"(\[([-+]?[0-9.]+), ([-+]?[0-9.]+)\])";

std::string japanese_comparison(const std::string & what) {
    if (what == "instruction tuning") {
        return "指示チューニング";
    }
    if (what == "scale") {
        return "規模";
    }
    if (what == "quantization") {
        return "量子化";
    }
    return what;
}

std::string japanese_unit(const std::string & unit) {
    if (unit == "machine-seconds per 1k items") {
        return "1,000 件あたりの計算機秒";
    }
    if (unit == "price per 1k items") {
        return "1,000 件あたりの料金";
    }
    return unit;
}

// "A on T (+0.123)" items of the instruction-tuning reason.
std::string japanese_list(const std::string & list, const std::regex & item, const std::string & format) {
    std::string out;
    size_t start = 0;
    while (start <= list.size()) {
        const size_t end = std::min(list.find("; ", start), list.size());
        const std::string part = list.substr(start, end - start);
        std::smatch m;
        out += out.empty() ? "" : "、";
        out += std::regex_match(part, m, item) ? m.format(format) : part;
        start = end + 2;
    }
    return out;
}

std::string to_japanese(const std::string & s) {
    static const std::regex helps("(instruction tuning|scale|quantization) (helps|hurts): " + kNum +
                                  "( per 10x params)? " + kInterval);
    static const std::regex none("no detectable effect of (instruction tuning|scale|quantization) at n=([0-9]+): " +
                                 kNum + "( per 10x params)? " + kInterval + ", MDE ([0-9.]+)");
    static const std::regex few(R"(too few models with distinct values to tell \(n=([0-9]+)\))");
    static const std::regex together("(goes together|goes against) with task performance: rho " + kNum + ", p " + kNum +
                                     ", n=([0-9]+)");
    static const std::regex no_assoc("no detectable association at n=([0-9]+): rho " + kNum + ", p " + kNum);
    static const std::regex robust(
        R"(Robustness: the highest compositional accuracy is (.+)'s, ([0-9.]+ \[[0-9.]+, [0-9.]+\]); not detectably worse: (.*)\.)");
    static const std::regex baseline(
        R"(No model is detectably above the majority-answer baseline \(([0-9.]+)\) on these items: none is fit for unseen combinations on this evidence\.)");
    static const std::regex cheapest(R"(Cost: the cheapest of them is (.+) at (\S+) (.+)\.)");
    static const std::regex hurt(
        R"(Instruction tuning detectably hurt: (.*); prefer the base model with a prompt where the instruct variant is not needed\.)");
    static const std::regex hurt_item(R"((.+) on (.+) \(([-+0-9.]+)\))");
    static const std::regex lost(R"(Quantization detectably cost accuracy: (.*)\.)");
    static const std::regex lost_item(R"((.+) vs (.+) on (.+) \((\S+) items, ([-+0-9.]+)\))");
    static const std::vector<std::pair<std::string, std::string>> fixed = {
        {"no scored tasks", "採点されたタスクがありません"},
        {"Recipes: models trained with several seeds are weighed as their recipe, pooled over its seeds (the interval "
         "resamples seeds and items), never by their luckiest seed.",
         "レシピ: 複数のシードで学習したモデルは、最も運のよいシードではなく、シードをまとめたレシピとして評価します"
         "（区間はシードと項目の両方を再標本化します）。"},
        {"Cost: not measured for the contenders (all requests were reused from the store).",
         "コスト: 候補のモデルでは測定されていません（すべてのリクエストを保存済みの結果から再利用しました）。"},
        {"Instruction tuning: no detectable loss of compositional accuracy in these findings.",
         "指示チューニング: これらの所見では、構成的汎化の正解率の低下は検出されません。"},
        {"Quantization: no quantized variant detectably lost accuracy against the weights it was quantized from.",
         "量子化: 量子化元の重みに比べて正解率が検出できるほど下がった量子化版はありません。"},
    };
    for (const auto & [en, ja] : fixed) {
        if (s == en) {
            return ja;
        }
    }
    std::smatch m;
    if (std::regex_match(s, m, helps)) {
        return japanese_comparison(m[1]) + (m[2] == "helps" ? "は正解率を上げます: " : "は正解率を下げます: ") +
               m.str(3) + (m[4].matched ? "（パラメータ 10 倍あたり）" : "") + " [" + m.str(5) + ", " + m.str(6) + "]";
    }
    if (std::regex_match(s, m, none)) {
        return japanese_comparison(m[1]) + "の効果は n=" + m.str(2) + " では検出できません: " + m.str(3) +
               (m[4].matched ? "（パラメータ 10 倍あたり）" : "") + " [" + m.str(5) + ", " + m.str(6) +
               "]、検出可能な最小効果 (MDE) " + m.str(7);
    }
    if (std::regex_match(s, m, few)) {
        return "値の異なるモデルが少なすぎて判断できません (n=" + m.str(1) + ")";
    }
    if (std::regex_match(s, m, together)) {
        return std::string(m[1] == "goes together" ? "タスク性能と同じ向きに動きます"
                                                   : "タスク性能と逆向きに動きます") +
               ": rho " + m.str(2) + ", p " + m.str(3) + ", n=" + m.str(4);
    }
    if (std::regex_match(s, m, no_assoc)) {
        return "n=" + m.str(1) + " では関連は検出できません: rho " + m.str(2) + ", p " + m.str(3);
    }
    if (std::regex_match(s, m, robust)) {
        return "頑健性: 構成的汎化の正解率が最も高いのは " + m.str(1) + " で " + m.str(2) +
               "。これと比べて検出できるほど劣らないもの: " + m.str(3) + "。";
    }
    if (std::regex_match(s, m, baseline)) {
        return "この項目では、多数派の答えの基準 (" + m.str(1) +
               ") "
               "を検出できるほど上回るモデルはありません。この結果からは、未見の組み合わせに使えるモデルはありません。";
    }
    if (std::regex_match(s, m, cheapest)) {
        return "コスト: その中で最も安いのは " + m.str(1) + " で、" + m.str(2) + " (" + japanese_unit(m.str(3)) + ")。";
    }
    if (std::regex_match(s, m, hurt)) {
        return "指示チューニングで正解率が検出できるほど下がりました: " +
               japanese_list(m.str(1), hurt_item, "$1（$2、$3）") +
               "。インストラクト版が不要な場面では、プロンプトを工夫したベースモデルを選んでください。";
    }
    if (std::regex_match(s, m, lost)) {
        return "量子化で正解率が検出できるほど下がりました: " +
               japanese_list(m.str(1), lost_item, "$1 vs $2（$3、$4 の項目、$5）") + "。";
    }
    const std::string unit = japanese_unit(s);
    return unit;
}

}  // namespace

void check_report_language(const std::string & lang) {
    if (lang != "en" && lang != "ja") {
        throw Error("report language '" + lang + "' is not one of en, ja");
    }
}

std::string translate_sentence(const std::string & sentence, const std::string & lang) {
    check_report_language(lang);
    return lang == "ja" ? to_japanese(sentence) : sentence;
}

void set_report_language(nlohmann::json & data, const std::string & lang) {
    check_report_language(lang);
    data["lang"] = lang;
    if (lang == "en") {
        return;
    }
    auto rewrite = [&](nlohmann::json & row, const char * key) {
        if (row.contains(key) && row[key].is_string()) {
            row[key] = translate_sentence(row[key].get<std::string>(), lang);
        }
    };
    for (const char * section : {"findings", "ability_correlation"}) {
        for (auto & row : data[section]) {
            rewrite(row, "verdict");
        }
    }
    for (auto & row : data["instruction_tuning_by_route"]) {
        for (auto & r : row["routes"]) {
            rewrite(r, "verdict");
        }
    }
    if (data.contains("cost")) {
        rewrite(data["cost"], "unit");
        for (auto & r : data["cost"]["recommendation"]["reasons"]) {
            r = translate_sentence(r.get<std::string>(), lang);
        }
    }
}

}  // namespace compeval
