#include "data/synthetic_items.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <random>

namespace compeval {
namespace {

// Common English words; most are single tokens in the Llama-2 vocabulary.
constexpr std::array<const char *, 120> kWords = {
    "time",   "person",   "year",  "way",    "day",    "thing",  "man",     "world", "life",   "hand",   "part",
    "child",  "eye",      "woman", "place",  "work",   "week",   "case",    "point", "number", "group",  "problem",
    "fact",   "water",    "money", "story",  "month",  "book",   "job",     "word",  "house",  "night",  "home",
    "room",   "mother",   "area",  "market", "family", "side",   "game",    "line",  "end",    "member", "law",
    "car",    "city",     "name",  "team",   "minute", "idea",   "kid",     "body",  "back",   "parent", "face",
    "level",  "office",   "door",  "health", "art",    "war",    "history", "party", "result", "change", "morning",
    "reason", "research", "girl",  "guy",    "moment", "air",    "teacher", "force", "order",  "red",    "green",
    "blue",   "small",    "large", "old",    "new",    "good",   "bad",     "long",  "short",  "high",   "low",
    "young",  "early",    "big",   "great",  "little", "own",    "other",   "right", "wrong",  "real",   "best",
    "free",   "open",     "clear", "full",   "hot",    "cold",   "dark",    "light", "fast",   "slow",   "hard",
    "soft",   "happy",    "sad",   "rich",   "poor",   "strong", "weak",    "quiet", "loud",   "warm"};

std::string words(std::mt19937_64 & rng, size_t n) {
    std::uniform_int_distribution<size_t> pick(0, kWords.size() - 1);
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        if (i > 0) {
            out += ' ';
        }
        out += kWords[pick(rng)];
    }
    return out;
}

}  // namespace

std::vector<McItem> synthetic_mc_items(const SyntheticItemsSpec & spec) {
    if (spec.n_choices < 2 || spec.n_choices > kWords.size() || spec.choice_words < 1) {
        throw Error("synthetic items need 2+ choices of 1+ words");
    }
    std::mt19937_64 rng(spec.seed);
    const std::string preamble = spec.preamble_words > 0 ? words(rng, spec.preamble_words) + ".\n" : "";
    std::vector<McItem> items;
    for (size_t i = 0; i < spec.n_items; ++i) {
        McItem item;
        item.id = "synthetic-" + std::to_string(i);
        item.line = i + 1;
        item.context = preamble + words(rng, spec.context_words) + ":";
        std::vector<size_t> first(kWords.size());
        for (size_t w = 0; w < first.size(); ++w) {
            first[w] = w;
        }
        std::shuffle(first.begin(), first.end(), rng);
        for (size_t c = 0; c < spec.n_choices; ++c) {
            std::string choice = " ";
            choice += kWords[first[c]];
            if (spec.choice_words > 1) {
                choice += ' ';
                choice += words(rng, spec.choice_words - 1);
            }
            item.choices.push_back(choice);
        }
        item.gold = static_cast<int>(rng() % spec.n_choices);
        items.push_back(std::move(item));
    }
    return items;
}

void write_mc_items_jsonl(const std::vector<McItem> & items, const std::string & path) {
    std::ofstream out(path, std::ios::binary);
    if (!out) {
        throw Error(path + ": cannot write");
    }
    for (const auto & item : items) {
        out << nlohmann::json{{"id", item.id},
                              {"context", item.context},
                              {"choices", item.choices},
                              {"gold", item.gold}}
                   .dump()
            << '\n';
    }
}

}  // namespace compeval
