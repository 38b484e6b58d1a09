#include "report/html_report.hpp"

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

const char * kBody = R"(<body>
<h1>compeval report</h1>
<p class="meta" id="run-meta"></p>
<h2>Recommendation</h2>
<section id="recommendation"></section>
<h2>Findings: scale, instruction tuning and quantization</h2>
<p class="howto">One row per family, task, split and comparison: over all items, and again over the unseen
combinations where a task has them. <b>Instruction tuning</b> compares an instruct model with its base on the same
items (paired bootstrap); <b>scale</b> is the slope of accuracy per 10&times; parameters across a family's base
models, and with three or more sizes <b>largest vs smallest</b> compares the series' ends; both compare models of
one weight type. <b>Quantization</b> compares a quantized model with the model it was quantized from on the same
items, seed by seed (paired bootstrap, and McNemar's exact p on the discordant answers). Models given the same
<code>group</code> are one recipe trained with several seeds: they are pooled, and the intervals resample seeds as
well as items. p-values are Holm-corrected over the table; "no detectable effect" rows give the minimum detectable
effect (MDE) for their item count.</p>
<section id="findings"></section>
<section id="recipes"></section>
<div id="quantization-block" hidden>
<h2>Quantization: what moved underneath</h2>
<p class="howto">Each quantized model against its source, answer by answer (same item and prompt): how often the
answer changed and how often the choices' order by log-likelihood changed, and how far each choice's summed
log-likelihood moved (nats, quantized minus source). Accuracy can stay put while answers change both ways.</p>
<section id="quantization"></section>
</div>
<h2>Charts</h2>
<p class="howto">Scaling: each point is a model's accuracy on a task, bars are 95% intervals; a rising line within
a family means scale helps. Instruction tuning: bars left of zero mean the instruct variant lost accuracy. Seen vs
unseen: bars right of zero mean the model does better on combinations it was shown than on new ones. Layers: the
representational measures from the embedding layer (0) to the last. Confusion: which answers the models give for
each gold answer. Cost: models up and to the left are better; the line joins the models no other beats on both.</p>
<div class="chart" id="chart-scaling"></div>
<div class="chart" id="chart-tuning"></div>
<div class="chart" id="chart-quantization"></div>
<div class="chart" id="chart-gaps"></div>
<div class="chart" id="chart-layers"></div>
<div class="chart" id="chart-confusion"></div>
<div class="chart" id="chart-pareto"></div>
<h2>Does compositional ability go with task performance?</h2>
<p class="howto">Spearman's rho across models between each compositional measure and the model's accuracy over
all items, with an exact permutation p-value.</p>
<section id="correlation"></section>
<h2>Cost</h2>
<p class="note" id="cost-unit"></p>
<section id="cost"></section>
<h2>Accuracy per task and split</h2>
<section id="accuracy"></section>
<div id="distribution-block" hidden>
<h2>Human answer distributions</h2>
<p class="howto">How far the model's distribution over the label words is from the raters' (0 = the same; total
variation, and Jensen-Shannon divergence in bits), mean over items with a 95% item bootstrap.</p>
<section id="distribution"></section>
</div>
<h2>Scoring routes</h2>
<p class="howto">How each model's answers were read: loglikelihood (in-process), forced_tokens or echo (a
server's log-likelihoods), first_token (the label words' first-token log-probabilities) or generate (the model's
own words mapped to a label; an answer naming none is no_answer, counted wrong).</p>
<section id="routes"></section>
<div id="methods-block" hidden>
<h2>Scoring-method comparison</h2>
<p class="howto">The same model on the same items, read two ways: accuracy with 95% bootstrap intervals, the
paired difference A - B and McNemar's exact p; then instruction tuning's effect under each route.</p>
<section id="methods"></section>
<section id="tuning-by-route"></section>
</div>
<h2>Token boundary</h2>
<p class="howto">Answers (items x prompts) whose continuation was tokenized on its own, after the context's
unchanged tokens, because a token merged across the context boundary.</p>
<section id="boundary"></section>
<h2>Samples</h2>
<div class="filters">
<label>task <select id="filter-task"><option value="">all</option></select></label>
<label>class <select id="filter-class"><option value="">all</option></select></label>
<label>correct <select id="filter-correct"><option value="">all</option><option value="true">correct</option>
<option value="false">wrong</option></select></label>
</div>
<p id="samples-count"></p>
<table id="samples-table"><thead><tr><th>model</th><th>task</th><th>split</th><th>id</th><th>prompt</th>
<th>gold</th><th>predicted</th><th>correct</th><th>fields</th></tr></thead><tbody></tbody></table>
)";

}  // namespace

std::string report_html(const RunReport & report) {
    std::string html =
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>compeval report: ";
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
    html += kBody;
    html += R"(<script type="application/json" id="report-data">)";
    html += json_for_script(report.data);
    html += "</script>\n<script>\n";
    html += script_safe(web_assets::report_page_js());
    html += "\n</script>\n</body>\n</html>\n";
    return html;
}

}  // namespace compeval
