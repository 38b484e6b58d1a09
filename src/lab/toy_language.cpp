#include "lab/toy_language.hpp"

#include "util/error.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <tuple>

namespace compeval {
namespace {

// The last seven are the instruct variants' chat words ("user ... assistant yes").
const std::vector<std::string> kFunctionWords = {"a",         "is",  "not", "every", "so",   "saw",  "did",
                                                 "see",       "kim", "lee", "sam",   "the",  "near", "user",
                                                 "assistant", "yes", "no",  "true",  "that", "it"};
const std::vector<std::string> kNames = {"kim", "lee", "sam"};

// Pseudo-words from consonant-vowel syllables: no English word, so nothing
// is known before training.
std::vector<std::string> pseudo_words(size_t n, std::mt19937_64 & rng, std::set<std::string> & used) {
    static const std::string consonants = "bdfgklmnprstvz";
    static const std::string vowels = "aeiou";
    std::uniform_int_distribution<size_t> c(0, consonants.size() - 1);
    std::uniform_int_distribution<size_t> v(0, vowels.size() - 1);
    std::uniform_int_distribution<int> syllables(2, 3);
    std::vector<std::string> out;
    while (out.size() < n) {
        std::string w;
        for (int s = syllables(rng); s > 0; --s) {
            w += consonants[c(rng)];
            w += vowels[v(rng)];
        }
        if (used.insert(w).second) {
            out.push_back(w);
        }
    }
    return out;
}

const char * class_code(AdjectiveClass c) {
    return c == AdjectiveClass::Intersective ? "I" : c == AdjectiveClass::Subsective ? "S" : "P";
}

// PLANE's truth table: inference types AN=>N, AN=>H, AN=>A-H.
bool entailed(AdjectiveClass c, int type) {
    switch (c) {
        case AdjectiveClass::Intersective:
            return true;
        case AdjectiveClass::Subsective:
            return type != 2;
        case AdjectiveClass::Privative:
            return type == 2;
    }
    return false;
}

class Generator {
  public:
    explicit Generator(const ToyLanguage & lang) : lang_(lang), rng_(lang.config.seed * 7919 + 17) {}

    // "a ADJ NOUN is (not) a X" for inference type 0, 1, 2; X names the
    // hypernym `level` steps up the noun's chain.
    std::pair<std::string, std::string> statement(int adj, int noun, int type, int level = 1) const {
        const auto & a = lang_.adjectives[static_cast<size_t>(adj)];
        const auto & n = lang_.nouns[static_cast<size_t>(noun)];
        const auto & h =
            lang_.hypernyms[static_cast<size_t>(lang_.hypernym_chain(noun)[static_cast<size_t>(level - 1)])];
        const std::string target = type == 0 ? n : type == 1 ? h : a + " " + h;
        const std::string head = "a " + a + " " + n + " is ";
        const std::string yes = head + "a " + target;
        const std::string no = head + "not a " + target;
        return entailed(lang_.classes[static_cast<size_t>(adj)], type) ? std::pair{yes, no} : std::pair{no, yes};
    }

    // Substitutivity in context: does seeing an ADJ NOUN mean seeing a NOUN?
    std::pair<std::string, std::string> in_context(int adj, int noun, const std::string & name) const {
        const auto & a = lang_.adjectives[static_cast<size_t>(adj)];
        const auto & n = lang_.nouns[static_cast<size_t>(noun)];
        const std::string head = name + " saw a " + a + " " + n + " so " + name + " ";
        const std::string yes = head + "saw a " + n;
        const std::string no = head + "did not see a " + n;
        return entailed(lang_.classes[static_cast<size_t>(adj)], 0) ? std::pair{yes, no} : std::pair{no, yes};
    }

    std::string training_sentence() {
        const auto & c = lang_.config;
        std::uniform_real_distribution<double> u(0.0, 1.0);
        const double form = u(rng_);
        auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); };
        const auto & [adj, noun] = lang_.seen[pick(lang_.seen.size())];
        const bool flip = u(rng_) < c.noise;
        auto choose = [&](const std::pair<std::string, std::string> & p) { return flip ? p.second : p.first; };
        double edge = c.distractor_share;
        if (form < edge) {
            // One link of a chain: a noun's own hypernym or, with chains, a hypernym's.
            const size_t n = pick(lang_.nouns.size() + (c.hypernym_depth > 1 ? links_above_nouns() : 0));
            if (n >= lang_.nouns.size()) {
                const size_t h = n - lang_.nouns.size();
                return "every " + lang_.hypernyms[h] + " is a " +
                       lang_.hypernyms[static_cast<size_t>(lang_.hypernym_parent[h])];
            }
            return "every " + lang_.nouns[n] + " is a " + lang_.hypernyms[static_cast<size_t>(lang_.hypernym_of[n])];
        }
        if (form < (edge += c.context_share)) {
            return choose(in_context(adj, noun, kNames[pick(kNames.size())]));
        }
        if (form < (edge += c.compound_share) && !compounds_.empty()) {
            const auto & [modifier, head, exocentric] = compounds_[pick(compounds_.size())];
            const std::string base = "a " + modifier + " " + head + " is ";
            return choose({exocentric ? base + "not a " + head : base + "a " + head,
                           exocentric ? base + "a " + head : base + "not a " + head});
        }
        if (form < edge + c.stacked_share) {
            // Two modifiers of one noun, each seen with it (a stacked phrase must not
            // leak a held-out pair); the outer applies to the inner phrase.
            const auto & partners = seen_with(noun);
            const int inner = partners[pick(partners.size())];
            const int noun2 = noun;
            const int outer = adj;
            const auto & ao = lang_.adjectives[static_cast<size_t>(outer)];
            const auto & ai = lang_.adjectives[static_cast<size_t>(inner)];
            const auto & n = lang_.nouns[static_cast<size_t>(noun2)];
            const auto oc = lang_.classes[static_cast<size_t>(outer)];
            const auto ic = lang_.classes[static_cast<size_t>(inner)];
            const std::string head = "a " + ao + " " + ai + " " + n + " is ";
            if (u(rng_) < 0.5) {  // drop the outer modifier
                const bool t = oc != AdjectiveClass::Privative;
                return choose(
                    {head + (t ? "a " : "not a ") + ai + " " + n, head + (t ? "not a " : "a ") + ai + " " + n});
            }
            const bool t = ic != AdjectiveClass::Privative && oc == AdjectiveClass::Intersective;
            return choose({head + (t ? "a " : "not a ") + ao + " " + n, head + (t ? "not a " : "a ") + ao + " " + n});
        }
        const auto type = static_cast<int>(pick(3));
        return choose(statement(adj, noun, type, type > 0 ? level(noun, rng_) : 1));
    }

    // A hypernym level for a statement about `noun`: 1 unless the language has chains.
    int level(int noun, std::mt19937_64 & rng) const {
        if (lang_.config.hypernym_depth <= 1) {
            return 1;
        }
        const auto chain = lang_.hypernym_chain(noun).size();
        return 1 + static_cast<int>(std::uniform_int_distribution<size_t>(0, chain - 1)(rng));
    }

    // Hypernyms that have one above them (chain links beyond the nouns').
    size_t links_above_nouns() const {
        return static_cast<size_t>(
            std::count_if(lang_.hypernym_parent.begin(), lang_.hypernym_parent.end(), [](int p) { return p >= 0; }));
    }

    void make_compounds(std::set<std::string> & used) {
        const auto modifiers = pseudo_words(static_cast<size_t>(lang_.config.compounds), rng_, used);
        std::uniform_int_distribution<size_t> noun(0, lang_.nouns.size() - 1);
        for (size_t i = 0; i < modifiers.size(); ++i) {
            const bool exocentric =
                static_cast<double>(i) < lang_.config.exocentric_share * static_cast<double>(modifiers.size());
            compounds_.emplace_back(modifiers[i], lang_.nouns[noun(rng_)], exocentric);
        }
        compound_modifiers_ = modifiers;
    }

    // Adjectives seen in training with `noun`.
    const std::vector<int> & seen_with(int noun) {
        if (seen_by_noun_.empty()) {
            seen_by_noun_.resize(lang_.nouns.size());
            for (const auto & [a, n] : lang_.seen) {
                seen_by_noun_[static_cast<size_t>(n)].push_back(a);
            }
        }
        return seen_by_noun_[static_cast<size_t>(noun)];
    }

    std::mt19937_64 & rng() { return rng_; }
    const std::vector<std::string> & compound_modifiers() const { return compound_modifiers_; }

  private:
    const ToyLanguage & lang_;
    std::mt19937_64 rng_;
    std::vector<std::tuple<std::string, std::string, bool>> compounds_;
    std::vector<std::string> compound_modifiers_;
    std::vector<std::vector<int>> seen_by_noun_;
};

std::vector<ToyItem> items_for(const ToyLanguage & lang, const Generator & g,
                               const std::vector<std::pair<int, int>> & combos, size_t limit, uint64_t seed) {
    std::vector<ToyItem> all;
    std::mt19937_64 levels(seed * 31 + 7);  // drawn from only when the language has chains
    for (const auto & [adj, noun] : combos) {
        const char * cls = class_code(lang.classes[static_cast<size_t>(adj)]);
        static const std::array<const char *, 3> types = {"AN=>N", "AN=>H", "AN=>A-H"};
        for (int t = 0; t < 3; ++t) {
            const int level = t > 0 ? g.level(noun, levels) : 0;
            const auto [good, bad] = g.statement(adj, noun, t, std::max(level, 1));
            all.push_back({good, bad, cls, types[static_cast<size_t>(t)], level,
                           lang.adjectives[static_cast<size_t>(adj)], lang.nouns[static_cast<size_t>(noun)]});
        }
        const auto [good, bad] = g.in_context(adj, noun, "kim");
        all.push_back({good, bad, cls, "context", 0, lang.adjectives[static_cast<size_t>(adj)],
                       lang.nouns[static_cast<size_t>(noun)]});
    }
    std::mt19937_64 rng(seed);
    std::shuffle(all.begin(), all.end(), rng);
    if (all.size() > limit) {
        all.resize(limit);
    }
    return all;
}

// An item's statement in the affirmative ("a ADJ NOUN is a X") and whether it holds.
std::pair<std::string, bool> affirmative(const ToyItem & item) {
    const bool good_negated = item.good.find(" not ") != std::string::npos;
    return good_negated ? std::pair{item.bad, false} : std::pair{item.good, true};
}

}  // namespace

const char * const kLabChatTemplate =
    "{% for message in messages %}{{ message.role }} {{ message.content }} {% endfor %}"
    "{% if add_generation_prompt %}assistant{% endif %}";

std::vector<std::string> instruction_examples(const ToyLanguage & language, size_t count, bool narrow, uint64_t seed) {
    const Generator g(language);
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<size_t> combo(0, language.seen.size() - 1);
    std::uniform_int_distribution<int> type(0, narrow ? 0 : 2);
    std::vector<std::string> out;
    out.reserve(count);
    while (out.size() < count) {
        const auto & [adj, noun] = language.seen[combo(rng)];
        const int t = type(rng);
        const auto [truth, falsehood] = g.statement(adj, noun, t, t > 0 ? g.level(noun, rng) : 1);
        const bool negated_truth = truth.find(" not ") != std::string::npos;
        const std::string & positive = negated_truth ? falsehood : truth;
        out.push_back("user is it true that " + positive + " assistant " + (negated_truth ? "no" : "yes"));
    }
    return out;
}

std::vector<int> ToyLanguage::hypernym_chain(int noun) const {
    std::vector<int> chain = {hypernym_of[static_cast<size_t>(noun)]};
    while (hypernym_parent[static_cast<size_t>(chain.back())] >= 0) {
        chain.push_back(hypernym_parent[static_cast<size_t>(chain.back())]);
    }
    return chain;
}

std::string describe(const ToyLanguageConfig & c) {
    return fmt::format(
        "seed={} nouns={} hypernyms={} hypernym_depth={} adjectives={} subsective={} privative={} heldout={} "
        "rare={} rare_evidence={} stacked={} context={} distractors={} compound_sentences={} noise={} "
        "compounds={} exocentric={} train_sentences={} validation_sentences={} eval_items={}",
        c.seed, c.nouns, c.hypernyms, c.hypernym_depth, c.adjectives, c.subsective_share, c.privative_share,
        c.heldout_share, c.rare_share, c.rare_evidence, c.stacked_share, c.context_share, c.distractor_share,
        c.compound_share, c.noise, c.compounds, c.exocentric_share, c.train_sentences, c.validation_sentences,
        c.eval_items_per_split);
}

std::vector<std::string> ToyLanguage::words() const {
    std::vector<std::string> out = kFunctionWords;
    std::set<std::string> seen_words(out.begin(), out.end());
    auto add = [&](const std::vector<std::string> & ws) {
        for (const auto & w : ws) {
            if (seen_words.insert(w).second) {
                out.push_back(w);
            }
        }
    };
    add(hypernyms);
    add(nouns);
    add(adjectives);
    add(compound_modifiers);
    return out;
}

ToyLanguage generate_toy_language(const ToyLanguageConfig & config) {
    if (config.nouns < 2 || config.adjectives < 3 || config.hypernyms < 1 || config.heldout_share < 0 ||
        config.heldout_share >= 1 || config.hypernym_depth < 1 || config.hypernym_depth > 4) {
        throw Error(
            "toy language: need >= 2 nouns, >= 3 adjectives, >= 1 hypernym, 0 <= heldout_share < 1 and a "
            "hypernym depth of 1 to 4");
    }
    ToyLanguage lang;
    lang.config = config;
    Generator g(lang);
    std::set<std::string> used(kFunctionWords.begin(), kFunctionWords.end());
    lang.hypernyms = pseudo_words(static_cast<size_t>(config.hypernyms), g.rng(), used);
    lang.nouns = pseudo_words(static_cast<size_t>(config.nouns), g.rng(), used);
    lang.adjectives = pseudo_words(static_cast<size_t>(config.adjectives), g.rng(), used);
    for (size_t n = 0; n < lang.nouns.size(); ++n) {
        lang.hypernym_of.push_back(static_cast<int>(n % lang.hypernyms.size()));
    }
    // Chains: each level up has half as many hypernyms (at least one); a
    // level's hypernyms come before the next's, so those with a parent are a prefix.
    lang.hypernym_parent.assign(lang.hypernyms.size(), -1);
    size_t level_start = 0;
    for (int level = 2; level <= config.hypernym_depth; ++level) {
        const size_t level_size = lang.hypernyms.size() - level_start;
        const size_t next_size = std::max<size_t>(1, level_size / 2);
        const auto above = pseudo_words(next_size, g.rng(), used);
        const size_t next_start = lang.hypernyms.size();
        for (size_t i = 0; i < level_size; ++i) {
            lang.hypernym_parent[level_start + i] = static_cast<int>(next_start + i % next_size);
        }
        lang.hypernyms.insert(lang.hypernyms.end(), above.begin(), above.end());
        lang.hypernym_parent.resize(lang.hypernyms.size(), -1);
        level_start = next_start;
    }
    const auto n_adj = static_cast<double>(config.adjectives);
    for (int a = 0; a < config.adjectives; ++a) {
        const double x = static_cast<double>(a) / n_adj;
        lang.classes.push_back(x < config.privative_share                             ? AdjectiveClass::Privative
                               : x < config.privative_share + config.subsective_share ? AdjectiveClass::Subsective
                                                                                      : AdjectiveClass::Intersective);
    }
    g.make_compounds(used);
    lang.compound_modifiers = g.compound_modifiers();

    // Hold out a share of the combinations, keeping at least one training
    // combination per adjective and per noun (every test atom is seen).
    std::vector<std::pair<int, int>> combos;
    for (int a = 0; a < config.adjectives; ++a) {
        for (int n = 0; n < config.nouns; ++n) {
            combos.emplace_back(a, n);
        }
    }
    std::shuffle(combos.begin(), combos.end(), g.rng());
    const auto target = static_cast<size_t>(config.heldout_share * static_cast<double>(combos.size()));
    std::vector<int> adj_left(static_cast<size_t>(config.adjectives), config.nouns);
    std::vector<int> noun_left(static_cast<size_t>(config.nouns), config.adjectives);
    const auto rare = static_cast<int>(config.rare_share * n_adj);
    std::vector<int> rare_kept(static_cast<size_t>(config.adjectives), 0);
    for (const auto & [a, n] : combos) {
        auto & al = adj_left[static_cast<size_t>(a)];
        auto & nl = noun_left[static_cast<size_t>(n)];
        // Rare adjectives (the last `rare` of each class order) keep only rare_evidence combinations.
        const bool is_rare = a >= config.adjectives - rare;
        const bool hold = is_rare ? rare_kept[static_cast<size_t>(a)] >= config.rare_evidence && nl > 1
                                  : lang.heldout.size() < target && al > 1 && nl > 1;
        if (hold) {
            lang.heldout.emplace_back(a, n);
            --al;
            --nl;
        } else {
            lang.seen.emplace_back(a, n);
            rare_kept[static_cast<size_t>(a)] += is_rare ? 1 : 0;
        }
    }
    std::sort(lang.seen.begin(), lang.seen.end());
    std::sort(lang.heldout.begin(), lang.heldout.end());

    for (size_t i = 0; i < config.train_sentences; ++i) {
        lang.train.push_back(g.training_sentence());
    }
    for (size_t i = 0; i < config.validation_sentences; ++i) {
        lang.validation.push_back(g.training_sentence());
    }
    lang.seen_items = items_for(lang, g, lang.seen, config.eval_items_per_split, config.seed + 1);
    lang.unseen_items = items_for(lang, g, lang.heldout, config.eval_items_per_split, config.seed + 2);
    return lang;
}

void write_toy_language(const ToyLanguage & lang, const std::string & dir) {
    std::filesystem::create_directories(dir);
    auto open = [&](const std::string & name) {
        std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
        if (!out) {
            throw Error(dir + "/" + name + ": cannot write");
        }
        return out;
    };
    auto lines = [&](const std::string & name, const std::vector<std::string> & v) {
        auto out = open(name);
        for (const auto & s : v) {
            out << s << '\n';
        }
    };
    lines("train.txt", lang.train);
    lines("validation.txt", lang.validation);
    {
        auto out = open("heldout.tsv");
        out << "adjective\tnoun\tadj_class\n";
        for (const auto & [a, n] : lang.heldout) {
            out << lang.adjectives[static_cast<size_t>(a)] << '\t' << lang.nouns[static_cast<size_t>(n)] << '\t'
                << class_code(lang.classes[static_cast<size_t>(a)]) << '\n';
        }
    }
    for (const auto & [name, items] : {std::pair{"seen.tsv", &lang.seen_items}, {"unseen.tsv", &lang.unseen_items}}) {
        auto out = open(name);
        out << "good\tbad\tadj_class\tinference_type\thypernym_level\tadjective\tnoun\n";
        for (const auto & it : *items) {
            out << it.good << '\t' << it.bad << '\t' << it.adj_class << '\t' << it.inference_type << '\t'
                << it.hypernym_level << '\t' << it.adjective << '\t' << it.noun << '\n';
        }
    }
    for (const auto & [name, items] :
         {std::pair{"seen-judgement.tsv", &lang.seen_items}, {"unseen-judgement.tsv", &lang.unseen_items}}) {
        auto out = open(name);
        out << "statement\tanswer\tadj_class\tinference_type\thypernym_level\tadjective\tnoun\n";
        for (const auto & it : *items) {
            if (it.inference_type == "context") {
                continue;  // a yes/no question about a sentence pair reads badly; judged by minimal pairs
            }
            const auto [statement, holds] = affirmative(it);
            out << statement << '\t' << (holds ? "yes" : "no") << '\t' << it.adj_class << '\t' << it.inference_type
                << '\t' << it.hypernym_level << '\t' << it.adjective << '\t' << it.noun << '\n';
        }
    }
    open("judgement.yaml") << R"(# Generated by compeval's lab: the toy language's entailments as yes/no
# questions, the format the instruct variants were tuned on. Base models get
# the same question as a plain prompt.
name: toy-judgement
category: lab
description: Is it true that a ADJ NOUN is a X? Seen vs unseen combinations.
data:
  format: tsv
  splits:
    seen: "{data_dir}/seen-judgement.tsv"
    unseen: "{data_dir}/unseen-judgement.tsv"
  keep: [adj_class, inference_type, hypernym_level]
scoring:
  mode: label_words
  label: answer
  label_words: {"yes": " yes", "no": " no"}
  calibration: "assistant"
  generate: {max_tokens: 4}  # the generative route: a tuned model says one word and ends its turn
metrics: [acc, acc_calibrated]
prompts:
  - name: question
    plain: "user is it true that {{statement}} assistant"
    chat:
      user: "is it true that {{statement}}"
)";
    open("task.yaml") << R"(# Generated by compeval's lab: the toy language's entailments as minimal
# pairs (is the true sentence more likely than its negation?), on adjective-noun
# combinations seen in training and held out of it.
name: toy-entailment
category: lab
description: Seen vs unseen adjective-noun combinations of the lab's toy language.
data:
  format: tsv
  splits:
    seen: "{data_dir}/seen.tsv"
    unseen: "{data_dir}/unseen.tsv"
  keep: [adj_class, inference_type, hypernym_level]
scoring:
  mode: minimal_pair
  good: good
  bad: bad
metrics: [acc, acc_norm_tok]
prompts:
  - name: sentence
    plain: ""
)";
}

}  // namespace compeval
