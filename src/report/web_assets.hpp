#pragma once
// Files compiled into the binary so every HTML report is self-contained: the
// pinned vega, vega-lite and vega-embed builds (npm, see cmake/WebAssets.cmake)
// and the report page's own script and style sheet (src/report/report_page.*).
#include <string_view>

namespace compeval::web_assets {

std::string_view vega_js();
std::string_view vega_lite_js();
std::string_view vega_embed_js();
std::string_view report_page_js();
std::string_view report_page_css();

}  // namespace compeval::web_assets
