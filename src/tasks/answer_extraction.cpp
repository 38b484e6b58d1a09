#include "tasks/answer_extraction.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <regex>

namespace compeval {
namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string trim(const std::string & s) {
    const auto b = s.find_first_not_of(" \t\n\r");
    if (b == std::string::npos) {
        return "";
    }
    const auto e = s.find_last_not_of(" \t\n\r");
    return s.substr(b, e - b + 1);
}

// Normalised token text: leading whitespace (and SentencePiece's U+2581) dropped, lower-cased.
std::string normalise_piece(std::string s) {
    const std::string sp = "\xE2\x96\x81";
    while (s.rfind(sp, 0) == 0) {
        s = s.substr(sp.size());
    }
    const auto b = s.find_first_not_of(" \t\n\r");
    return b == std::string::npos ? "" : lower(s.substr(b));
}

bool word_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

}  // namespace

int extract_label(const std::string & text, const std::vector<std::string> & labels, const AnswerOptions & options) {
    std::vector<std::string> wanted;
    wanted.reserve(labels.size());
    for (const auto & l : labels) {
        wanted.push_back(lower(trim(l)));
    }
    const std::string hay = lower(text);
    if (!options.regex.empty()) {
        const std::regex re(options.regex, std::regex::ECMAScript | std::regex::icase);
        std::vector<std::string> found;
        for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
            const auto & m = *it;
            found.push_back(lower(trim(m.size() > 1 && m[1].matched ? m[1].str() : m[0].str())));
        }
        if (found.empty()) {
            return -1;
        }
        const std::string & pick = options.last_match ? found.back() : found.front();
        const auto at = std::find(wanted.begin(), wanted.end(), pick);
        return at == wanted.end() ? -1 : static_cast<int>(at - wanted.begin());
    }
    int best = -1;
    size_t best_at = 0;
    for (size_t l = 0; l < wanted.size(); ++l) {
        const std::string & w = wanted[l];
        if (w.empty()) {
            continue;
        }
        for (size_t at = hay.find(w); at != std::string::npos; at = hay.find(w, at + 1)) {
            const bool starts = at == 0 || !word_char(hay[at - 1]);
            const bool ends = at + w.size() == hay.size() || !word_char(hay[at + w.size()]);
            if (!starts || !ends) {
                continue;
            }
            const bool better = best < 0 || (options.last_match ? at > best_at : at < best_at) ||
                                (at == best_at && w.size() > wanted[static_cast<size_t>(best)].size());
            if (better) {
                best = static_cast<int>(l);
                best_at = at;
            }
            if (!options.last_match) {
                break;  // the first occurrence of this label is all that matters
            }
        }
    }
    return best;
}

std::set<std::string> first_token_forms(const LanguageModel & model, const std::string & label) {
    const std::string word = trim(label);
    std::string capital = lower(word);
    std::string upper = capital;
    if (!capital.empty()) {
        capital[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(capital[0])));
    }
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    std::set<std::string> forms;
    for (const auto & w : {word, lower(word), capital, upper}) {
        for (const auto & text : {w, " " + w}) {
            std::vector<Token> tokens;
            try {
                tokens = model.tokenize(text, false);
            } catch (const Error &) {
                // A chat-only API has no tokenizer: only the whole word counts.
                return {normalise_piece(word)};
            }
            if (!tokens.empty()) {
                const std::string piece = normalise_piece(model.detokenize({tokens.front()}));
                if (!piece.empty()) {
                    forms.insert(piece);
                }
            }
        }
    }
    return forms;
}

FirstTokenScores rank_first_tokens(const std::vector<TokenLogprob> & top,
                                   const std::vector<std::set<std::string>> & forms) {
    FirstTokenScores out;
    const size_t n = forms.size();
    std::vector<std::vector<double>> parts(n);
    double least = std::numeric_limits<double>::infinity();
    for (const auto & t : top) {
        least = std::min(least, t.logprob);
        const std::string piece = normalise_piece(t.token);
        std::vector<size_t> owners;
        for (size_t l = 0; l < n; ++l) {
            if (!piece.empty() && forms[l].contains(piece)) {
                owners.push_back(l);
            }
        }
        if (owners.size() == 1) {
            parts[owners[0]].push_back(t.logprob);
        }
    }
    for (size_t l = 0; l < n; ++l) {
        if (parts[l].empty()) {
            out.listed.push_back(false);
            out.logprob.push_back(top.empty() ? -std::numeric_limits<double>::infinity() : least);
            continue;
        }
        const double peak = *std::max_element(parts[l].begin(), parts[l].end());
        double sum = 0;
        for (double p : parts[l]) {
            sum += std::exp(p - peak);
        }
        out.listed.push_back(true);
        out.logprob.push_back(peak + std::log(sum));
    }
    for (size_t l = 0; l < n; ++l) {
        if (out.listed[l] && (out.pred < 0 || out.logprob[l] > out.logprob[static_cast<size_t>(out.pred)])) {
            out.pred = static_cast<int>(l);
        }
    }
    return out;
}

}  // namespace compeval
