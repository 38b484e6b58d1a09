#pragma once
// The lab's language: pseudo-words with a known compositional structure, so a
// model's generalization to adjective-noun combinations it never saw can be
// measured causally. Adjectives are intersective, subsective or privative with
// PLANE's logic (for "a ADJ NOUN is a NOUN / a HYPERNYM / a ADJ HYPERNYM":
// intersective 1,1,1; subsective 1,1,0; privative 0,0,1), nouns have
// hypernyms, stacked modifiers compose by order (the outer one applies to the
// inner phrase), sentences in context carry substitutivity, and compounds are
// endocentric or exocentric. A share of adjective-noun combinations is held
// out of all training; every held-out combination's words appear in training.
#include <cstdint>
#include <string>
#include <vector>

namespace compeval {

// The difficulty knobs. The defaults are the default zoo's language
// (lab/zoo-default.yaml): small, and not at ceiling.
struct ToyLanguageConfig {
    uint64_t seed = 1;
    int nouns = 48;
    int hypernyms = 8;
    // Levels of hypernyms above each noun. At 2 or more each hypernym has one
    // of its own (noun -> h1 -> h2, half as many per level up); training
    // states the chain link by link ("every NOUN is a H1", "every H1 is a
    // H2"), and statements and items about hypernyms name any level, so a
    // claim about an unseen combination's upper level needs the chain.
    int hypernym_depth = 2;
    int adjectives = 36;
    double subsective_share = 0.3;
    double privative_share = 0.3;
    // Adjective-noun combinations never in training. At 0.5 even a 64K-parameter
    // model is 100% right on unseen combinations; at 0.97 (3% seen) evidence is
    // scarce enough for scale to matter (docs/lab.md: with chains two deep
    // and 3 seeds, 0.84 / 0.94 / 0.96 unseen for 66K / 191K / 974K parameters).
    double heldout_share = 0.97;
    double rare_share = 0.0;        // adjectives whose class only a few combinations reveal
    int rare_evidence = 2;          // training combinations of a rare adjective
    double stacked_share = 0.15;    // training sentences with two modifiers
    double context_share = 0.15;    // substitutivity sentences ("kim saw a ADJ NOUN so kim saw a NOUN")
    double distractor_share = 0.1;  // true sentences unrelated to the adjective's class
    double compound_share = 0.05;   // compound sentences
    double noise = 0.0;             // training sentences whose truth is flipped
    int compounds = 24;
    double exocentric_share = 0.5;
    size_t train_sentences = 12000;
    size_t validation_sentences = 1000;
    size_t eval_items_per_split = 600;  // seen and unseen evaluation items (minimal pairs)
};

enum class AdjectiveClass { Intersective, Subsective, Privative };

struct ToyItem {
    std::string good;            // the true sentence
    std::string bad;             // its negation
    std::string adj_class;       // "I", "S" or "P"
    std::string inference_type;  // "AN=>N", "AN=>H", "AN=>A-H" or "context"
    int hypernym_level = 0;      // which hypernym "H" names: 1 = the noun's own, 2 = its hypernym's, ...
    std::string adjective;
    std::string noun;
};

struct ToyLanguage {
    ToyLanguageConfig config;
    std::vector<std::string> nouns;
    std::vector<int> hypernym_of;        // per noun, an index into hypernyms
    std::vector<std::string> hypernyms;  // every level, the nouns' own first
    std::vector<int> hypernym_parent;    // per hypernym, the next level's index into hypernyms, or -1 at the top
    std::vector<std::string> adjectives;
    std::vector<AdjectiveClass> classes;
    std::vector<std::string> compound_modifiers;
    std::vector<std::pair<int, int>> seen;     // (adjective, noun) combinations in training
    std::vector<std::pair<int, int>> heldout;  // never in training
    std::vector<std::string> train;
    std::vector<std::string> validation;
    std::vector<ToyItem> seen_items;
    std::vector<ToyItem> unseen_items;

    // Every word the language uses, function words first, in a fixed order.
    std::vector<std::string> words() const;
    // The noun's hypernyms from its own (level 1) up, as indices into hypernyms.
    std::vector<int> hypernym_chain(int noun) const;
};

// Every knob as "name=value" pairs: a model's training key and its record.
std::string describe(const ToyLanguageConfig & config);

// Deterministic in the config (seed included).
ToyLanguage generate_toy_language(const ToyLanguageConfig & config);

// The instruct variants' chat template (written into their GGUF): roles and
// contents as words, so the word vocabulary covers every rendered prompt. The
// generation prompt ends with "assistant" (no space): a server generating
// from it, as one applying the template itself does, then writes " yes" as
// the one word it was tuned on, not a lone space token first; an answer
// written in a conversation follows "assistant ", where scoring puts it.
extern const char * const kLabChatTemplate;

// Instruction examples on seen combinations only, as the chat template renders
// them plus the answer: "user is it true that a ADJ NOUN is a X assistant yes".
// `narrow` keeps one inference type (AN=>N), the narrowest format.
std::vector<std::string> instruction_examples(const ToyLanguage & language, size_t count, bool narrow, uint64_t seed);

// Writes train.txt, validation.txt, heldout.tsv (adjective, noun, class),
// seen.tsv and unseen.tsv (minimal-pair items), task.yaml (a minimal_pair
// task over both splits), and the same items as yes/no questions
// (seen-judgement.tsv, unseen-judgement.tsv, judgement.yaml) into `dir`.
void write_toy_language(const ToyLanguage & language, const std::string & dir);

}  // namespace compeval
