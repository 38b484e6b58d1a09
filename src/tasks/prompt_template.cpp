#include "tasks/prompt_template.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <cctype>

namespace compeval {
namespace {

std::string trim(const std::string & s) {
    const auto b = s.find_first_not_of(" \t");
    const auto e = s.find_last_not_of(" \t");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Removes markup such as AddOne-RTE's "<b><u>...</u></b>" around the phrase,
// then collapses the whitespace it leaves.
std::string strip_tags(const std::string & value) {
    std::string out;
    bool in_tag = false;
    for (const char c : value) {
        if (c == '<') {
            in_tag = true;
        } else if (c == '>' && in_tag) {
            in_tag = false;
        } else if (!in_tag) {
            const bool space = c == ' ' || c == '\t' || c == '\n';
            if (!space) {
                out += c;
            } else if (!out.empty() && out.back() != ' ') {
                out += ' ';
            }
        }
    }
    if (!out.empty() && out.back() == ' ') {
        out.pop_back();
    }
    return out;
}

std::string apply_filter(const std::string & filter, std::string value) {
    if (filter == "lower_first" && !value.empty()) {
        value[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(value[0])));
    } else if (filter == "upper_first" && !value.empty()) {
        value[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(value[0])));
    } else if (filter == "lower") {
        std::transform(value.begin(), value.end(), value.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    } else if (filter == "strip_tags") {
        value = strip_tags(value);
    } else if (filter == "no_period") {
        while (!value.empty() && (value.back() == '.' || value.back() == ' ')) {
            value.pop_back();
        }
    }
    return value;
}

}  // namespace

PromptTemplate::PromptTemplate(std::string text) : text_(std::move(text)) {
    size_t pos = 0;
    while (pos < text_.size()) {
        const auto open = text_.find("{{", pos);
        if (open == std::string::npos) {
            parts_.push_back({text_.substr(pos), "", {}});
            break;
        }
        if (open > pos) {
            parts_.push_back({text_.substr(pos, open - pos), "", {}});
        }
        const auto close = text_.find("}}", open);
        if (close == std::string::npos) {
            throw Error("unclosed '{{' in template \"" + text_ + "\"");
        }
        std::string inner = text_.substr(open + 2, close - open - 2);
        Part part;
        // Peel filters off the end, then restore their left-to-right order.
        for (size_t bar = inner.rfind('|'); bar != std::string::npos; bar = inner.rfind('|')) {
            part.filters.push_back(trim(inner.substr(bar + 1)));
            inner.resize(bar);
        }
        std::reverse(part.filters.begin(), part.filters.end());
        part.field = trim(inner);
        if (part.field.empty()) {
            throw Error("empty '{{}}' in template \"" + text_ + "\"");
        }
        static const std::vector<std::string> known = {"lower_first", "upper_first", "lower", "no_period",
                                                       "strip_tags"};
        for (const auto & f : part.filters) {
            if (std::find(known.begin(), known.end(), f) == known.end()) {
                throw Error("unknown filter '" + f + "' in template \"" + text_ +
                            "\" (lower_first, upper_first, lower, no_period, strip_tags)");
            }
        }
        if (std::find(fields_.begin(), fields_.end(), part.field) == fields_.end()) {
            fields_.push_back(part.field);
        }
        parts_.push_back(std::move(part));
        pos = close + 2;
    }
}

std::string PromptTemplate::render(const std::map<std::string, std::string> & fields) const {
    std::string out;
    for (const auto & part : parts_) {
        if (part.field.empty()) {
            out += part.literal;
            continue;
        }
        const auto it = fields.find(part.field);
        if (it == fields.end()) {
            throw Error("template field '" + part.field + "' has no value");
        }
        std::string value = it->second;
        for (const auto & f : part.filters) {
            value = apply_filter(f, std::move(value));
        }
        out += value;
    }
    return out;
}

}  // namespace compeval
