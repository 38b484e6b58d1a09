#pragma once
// The report page's static body (headings, explanations, the explorer's
// controls; report_page.js fills the sections), one per report language.
#include <string>

namespace compeval {

// "en" or "ja" (anything else: English).
std::string report_body(const std::string & lang);

}  // namespace compeval
