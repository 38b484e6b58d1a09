#include "report/html_report.hpp"

#include "report/explorer_samples.hpp"
#include "report/html_report_body.hpp"
#include "report/web_assets.hpp"

#include <cctype>
#include <string_view>

namespace compeval {
namespace {

// Only "</script" ends a script element early (HTML's script data state);
// "<\/script" reads the same inside a JavaScript string or regular expression.
std::string script_safe(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        out += text[i];
        if (text[i] != '<' || i + 7 >= text.size() || text[i + 1] != '/') {
            continue;
        }
        std::string word(text.substr(i + 2, 6));
        for (auto & c : word) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        if (word == "script") {
            out += '\\';
        }
    }
    return out;
}

// The report's JSON with every '<' as \u003c, so no text in it (a sample
// reading "</script>" or "<!--") can change how the page parses.
std::string json_for_script(const nlohmann::json & data) {
    const std::string text = data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (c == '<') {
            out += "\\u003c";
        } else {
            out += c;
        }
    }
    return out;
}

std::string html_escape(std::string_view text) {
    std::string out;
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

}  // namespace

std::string report_html(const RunReport & report) {
    const std::string lang = report.data.value("lang", "en");
    std::string html = "<!DOCTYPE html>\n<html lang=\"" + lang + "\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
                       (lang == "ja" ? "compeval レポート: " : "compeval report: ");
    html += html_escape(report.data.value("run", ""));
    html += "</title>\n<style>\n";
    html += web_assets::report_page_css();
    html += "</style>\n";
    for (const auto js : {web_assets::vega_js(), web_assets::vega_lite_js(), web_assets::vega_embed_js()}) {
        html += "<script>\n";
        html += script_safe(js);
        html += "\n</script>\n";
    }
    html += "</head>\n";
    html += report_body(lang);
    html += R"(<script type="application/json" id="report-data">)";
    html += json_for_script(report.data);
    html += "</script>\n";
    html += R"(<script type="application/json" id="report-samples">)";
    html += json_for_script(explorer_samples(report.samples));
    html += "</script>\n<script>\n";
    html += script_safe(web_assets::report_page_js());
    html += "\n</script>\n</body>\n</html>\n";
    return html;
}

}  // namespace compeval
