#include "report/explorer_samples.hpp"

#include <map>
#include <string>
#include <unordered_map>

namespace compeval {
namespace {

// Hands out one index per distinct string, in order of first use.
class StringTable {
  public:
    size_t operator()(const std::string & text) {
        const auto [it, added] = index_.try_emplace(text, strings_.size());
        if (added) {
            strings_.push_back(text);
        }
        return it->second;
    }
    nlohmann::json take() { return std::move(strings_); }

  private:
    std::unordered_map<std::string, size_t> index_;
    std::vector<std::string> strings_;
};

}  // namespace

nlohmann::json explorer_samples(const std::vector<RunSample> & samples) {
    StringTable strings;
    // The shown texts of each sample, column by column, as string indices.
    const std::vector<std::pair<const char *, std::string RunSample::*>> texts = {
        {"model", &RunSample::model},   {"task", &RunSample::task},      {"split", &RunSample::split},
        {"id", &RunSample::id},         {"prompt", &RunSample::variant}, {"gold", &RunSample::gold_text},
        {"pred", &RunSample::pred_text}};
    std::vector<std::vector<size_t>> columns(texts.size());
    std::map<std::vector<size_t>, size_t> field_set_index;
    nlohmann::json field_sets = nlohmann::json::array();
    std::vector<size_t> fields;
    std::vector<int> correct;
    for (const auto & s : samples) {
        for (size_t c = 0; c < texts.size(); ++c) {
            columns[c].push_back(strings(s.*texts[c].second));
        }
        correct.push_back(s.correct ? 1 : 0);
        std::vector<size_t> set;  // s.fields is a std::map: keys in order, so equal sets compare equal
        for (const auto & [key, value] : s.fields) {
            set.push_back(strings(key + "=" + value));
        }
        const auto [it, added] = field_set_index.try_emplace(set, field_sets.size());
        if (added) {
            field_sets.push_back(set);
        }
        fields.push_back(it->second);
    }
    nlohmann::json out = nlohmann::json::object();
    for (size_t c = 0; c < texts.size(); ++c) {
        out[texts[c].first] = std::move(columns[c]);
    }
    out["strings"] = strings.take();
    out["correct"] = std::move(correct);
    out["fields"] = std::move(fields);
    out["field_sets"] = std::move(field_sets);
    return out;
}

}  // namespace compeval
