#include "data/mc_items.hpp"

#include "util/error.hpp"

#include <fstream>

namespace compeval {
namespace {

// nlohmann's messages carry an error-code prefix and the bytes read so far
// (which may be the invalid UTF-8 itself); keep only the cause.
std::string json_cause(const nlohmann::json::parse_error & e) {
    std::string what = e.what();
    const auto dash = what.find(" - ");
    if (dash != std::string::npos) {
        what = what.substr(dash + 3);
    }
    const auto semicolon = what.find(';');
    if (semicolon != std::string::npos) {
        what.resize(semicolon);
    }
    return what + " (byte " + std::to_string(e.byte) + ")";
}

}  // namespace

McItem parse_mc_item(const std::string & line_text, const std::string & path, size_t line) {
    const std::string where = path + ":" + std::to_string(line) + ": ";
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(line_text);
    } catch (const nlohmann::json::parse_error & e) {
        throw Error(where + "invalid JSON: " + json_cause(e));
    } catch (const nlohmann::json::exception & e) {  // a number too large for a double
        throw Error(where + "invalid JSON: " + e.what());
    }
    if (!j.is_object()) {
        throw Error(where + "expected a JSON object");
    }
    McItem item;
    item.line = line;
    item.id = j.contains("id") ? j["id"] : nlohmann::json(static_cast<int64_t>(line));
    if (!item.id.is_string() && !item.id.is_number_integer()) {
        throw Error(where + "field 'id' must be a string or an integer");
    }
    if (!j.contains("context")) {
        throw Error(where + "missing field 'context'");
    }
    if (!j["context"].is_string()) {
        throw Error(where + "field 'context' must be a string");
    }
    item.context = j["context"].get<std::string>();
    if (!j.contains("choices")) {
        throw Error(where + "missing field 'choices'");
    }
    const auto & choices = j["choices"];
    if (!choices.is_array() || choices.size() < 2) {
        throw Error(where + "field 'choices' must be an array of at least two strings");
    }
    for (size_t c = 0; c < choices.size(); ++c) {
        if (!choices[c].is_string()) {
            throw Error(where + "choice " + std::to_string(c) + " must be a string");
        }
        item.choices.push_back(choices[c].get<std::string>());
        if (item.choices.back().empty()) {
            throw Error(where + "choice " + std::to_string(c) + " is empty");
        }
    }
    if (!j.contains("gold")) {
        throw Error(where + "missing field 'gold'");
    }
    if (!j["gold"].is_number_integer()) {
        throw Error(where + "field 'gold' must be an integer");
    }
    const auto gold = j["gold"].get<int64_t>();
    if (gold < 0 || gold >= static_cast<int64_t>(item.choices.size())) {
        throw Error(where + "gold " + std::to_string(gold) + " is out of range for " +
                    std::to_string(item.choices.size()) + " choices");
    }
    item.gold = static_cast<int>(gold);
    return item;
}

std::vector<McItem> read_mc_items(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(path + ": cannot open items file");
    }
    std::vector<McItem> items;
    std::string text;
    size_t line = 0;
    while (std::getline(in, text)) {
        ++line;
        if (!text.empty() && text.back() == '\r') {
            text.pop_back();
        }
        if (text.find_first_not_of(" \t") == std::string::npos) {
            continue;
        }
        items.push_back(parse_mc_item(text, path, line));
    }
    if (items.empty()) {
        throw Error(path + ": no items");
    }
    return items;
}

}  // namespace compeval
