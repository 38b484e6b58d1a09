#pragma once
// The report's sentences in the reader's language. The analysis writes every
// sentence in English from a fixed set of forms; for another language each
// form is rewritten whole, its numbers and names carried over verbatim, so a
// translated report cannot hold a number the English one does not.
#include <nlohmann/json.hpp>

#include <string>

namespace compeval {

// "en" or "ja"; throws compeval::Error naming the choices otherwise.
void check_report_language(const std::string & lang);

// One of the analysis's sentences (a verdict, a recommendation reason, the
// cost unit) in `lang`; a sentence of no known form is returned unchanged.
std::string translate_sentence(const std::string & sentence, const std::string & lang);

// Rewrites every sentence field of a report's data (findings' and the
// correlation's verdicts, the routes' verdicts, the recommendation's reasons,
// the cost unit) into `lang` and records it as data["lang"].
void set_report_language(nlohmann::json & data, const std::string & lang);

}  // namespace compeval
