#include "report/html_report_body.hpp"

#include <string_view>

namespace compeval {
namespace {

const char * kEnglish = R"(<body>
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
<h2>Risk and review: how far the confidence can be trusted</h2>
<p class="howto">Confidence is the probability of the chosen answer, the choices' likelihoods normalized to sum to 1
(generated answers have none). <b>Calibration</b>: answers in 10 equal-width confidence bins, each bin's accuracy
against its mean confidence (on the diagonal: confidence means what it says; below it: overconfident); ECE weighs
the bins' gaps by their answers, Brier is the mean (confidence - correct)<sup>2</sup>. <b>Selective
prediction</b>: answers below a confidence threshold go to a person; the curve is the error rate among the answers
kept against the share kept, and <i>alone at &le; e</i> is the largest share kept with at most e errors. The seen
threshold is set on seen combinations and tried on unseen ones, as a team would set it before meeting new
combinations. Intervals: 95% bootstrap over items.</p>
<section id="calibration"></section>
<div class="chart" id="chart-reliability"></div>
<div class="chart" id="chart-risk-coverage"></div>
<section id="calibration-seen-unseen"></section>
<h2>Accuracy per task and split</h2>
<section id="accuracy"></section>
<div id="attribute-block" hidden>
<h2>Unseen combinations by attribute value</h2>
<p class="howto">Accuracy on unseen combinations per value of each attribute of a slot (answers over items and
prompts, Wilson 95% intervals): where the errors fall.</p>
<section id="by-attribute"></section>
</div>
<div id="ceiling-block" hidden>
<h2>Observed outcomes and the noise ceiling</h2>
<p id="records-sentence"></p>
<p class="howto">Where one combination has several outcomes, no model agrees with more rows than its most frequent
outcome holds: the ceiling. Agreement is the share of rows whose outcome the model answered (mean over prompts), by
rows and by combination; accuracy is against each combination's majority.</p>
<section id="noise-ceiling"></section>
</div>
<div id="distribution-block" hidden>
<h2>Human answer distributions</h2>
<p class="howto">How far the model's distribution over the label words is from the observed one (the raters'
answers, or a records domain's outcome shares; 0 = the same; total variation, and Jensen-Shannon divergence in bits),
mean over items with a 95% item bootstrap.</p>
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

// Line breaks here next to a Japanese character are dropped when the page is
// written (report_body): Japanese runs on without spaces, and a browser would
// show a line break in the source as one. A space that is wanted is written out.
const char * kJapanese = R"(<body>
<h1>compeval レポート</h1>
<p class="meta" id="run-meta"></p>
<h2>推奨</h2>
<section id="recommendation"></section>
<h2>所見: 規模、指示チューニング、量子化</h2>
<p class="howto">ファミリー・タスク・分割・比較ごとに 1 行です。全項目について比較し、未見の組み合わせがあるタスクでは
未見の項目だけでも比較します。<b>指示チューニング</b>は、同じ項目でインストラクト版とそのベースを比べます (対応のある
ブートストラップ)。<b>規模</b>は、ファミリーのベースモデルにおけるパラメータ 10 倍あたりの正解率の傾きで、
3 サイズ以上あれば<b>最大 vs 最小</b>として両端も比べます。いずれも同じ重みの種類のモデル同士の比較です。
<b>量子化</b>は、量子化したモデルを量子化元と同じ項目でシードごとに比べます (対応のあるブートストラップと、
答えが食い違った項目についての McNemar の正確な p)。同じ <code>group</code> のモデルは、複数のシードで学習した
一つのレシピとしてまとめ、区間は項目だけでなくシードも再標本化します。p 値は表全体で Holm 補正しています。
「検出できません」の行には、その件数で検出できる最小の効果 (MDE) を示します。</p>
<section id="findings"></section>
<section id="recipes"></section>
<div id="quantization-block" hidden>
<h2>量子化: 答えはどう変わったか</h2>
<p class="howto">量子化した各モデルを量子化元と、答えごと (同じ項目・同じプロンプト) に比べます。答えが変わった割合、
対数尤度による選択肢の順位が変わった割合、各選択肢の対数尤度の合計がどれだけ動いたか (nats、
量子化版 − 量子化元) を示します。正解率が変わらなくても、答えは両方向に変わっていることがあります。</p>
<section id="quantization"></section>
</div>
<h2>グラフ</h2>
<p class="howto">規模: 各点はタスクでのモデルの正解率、棒は 95% 区間です。ファミリー内で線が右上がりなら規模が
効いています。指示チューニング: 0 より左の棒は、インストラクト版で正解率が下がったことを示します。既見と未見:
0 より右の棒は、新しい組み合わせよりも学習で見た組み合わせのほうがよくできることを示します。
層: 埋め込み層 (0) から最後の層までの表現の指標です。混同行列: 正答ごとに、モデルがどの答えを出したかを示します。
コスト: 左上ほどよいモデルで、線は正解率とコストの両方で他に負けないモデルを結びます。</p>
<div class="chart" id="chart-scaling"></div>
<div class="chart" id="chart-tuning"></div>
<div class="chart" id="chart-quantization"></div>
<div class="chart" id="chart-gaps"></div>
<div class="chart" id="chart-layers"></div>
<div class="chart" id="chart-confusion"></div>
<div class="chart" id="chart-pareto"></div>
<h2>構成的な能力はタスク性能と連動するか</h2>
<p class="howto">各構成的指標と、モデルの全項目での正解率との、モデル間の Spearman の順位相関 rho と、
正確な並べ替え検定による p 値です。</p>
<section id="correlation"></section>
<h2>コスト</h2>
<p class="note" id="cost-unit"></p>
<section id="cost"></section>
<h2>リスクと確認: 確信度はどこまで信頼できるか</h2>
<p class="howto">確信度は選んだ答えの確率です (選択肢の尤度を合計 1 に正規化。生成した答えにはありません)。
<b>較正</b>: 答えを確信度で 10 等分した区間に分け、区間ごとの正解率を平均確信度と比べます (対角線上なら確信度は
そのとおりの意味を持ち、下なら過信です)。ECE は区間ごとの差を回答数で重み付けし、Brier は (確信度 - 正誤)<sup>2</sup>
の平均です。<b>選択的予測</b>: しきい値未満の答えは人が確認します。曲線は、残した答えの中の誤り率と残した割合です。
<i>単独 (誤り e 以下)</i> は、誤りを e 以下に保って残せる最大の割合です。既見のしきい値は既見の組み合わせで決め、
未見の組み合わせに当てはめたものです。区間: 項目の 95% ブートストラップ。</p>
<section id="calibration"></section>
<div class="chart" id="chart-reliability"></div>
<div class="chart" id="chart-risk-coverage"></div>
<section id="calibration-seen-unseen"></section>
<h2>タスク・分割ごとの正解率</h2>
<section id="accuracy"></section>
<div id="attribute-block" hidden>
<h2>属性の値ごとの未見の組み合わせ</h2>
<p class="howto">スロットの各属性の値ごとの、未見の組み合わせでの正解率 (項目とプロンプトにわたる回答、Wilson 95% 区間):
誤りがどこに集まるか。</p>
<section id="by-attribute"></section>
</div>
<div id="ceiling-block" hidden>
<h2>観測された結果とノイズの上限</h2>
<p id="records-sentence"></p>
<p class="howto">一つの組み合わせに複数の結果があるとき、どのモデルもその最も多い結果の行数より多くの行とは一致しません:
これが上限です。一致率はモデルの答えと結果が一致した行の割合 (プロンプト平均) で、行ごとと組み合わせごとに示します。
正解率は各組み合わせの多数派に対するものです。</p>
<section id="noise-ceiling"></section>
</div>
<div id="distribution-block" hidden>
<h2>人間の回答分布</h2>
<p class="howto">ラベル語についてのモデルの分布が、評価者の分布からどれだけ離れているか (0 = 同じ。全変動距離と、
ビット単位の Jensen-Shannon ダイバージェンス)。項目平均と、95% の項目ブートストラップ区間です。</p>
<section id="distribution"></section>
</div>
<h2>答えの読み取り方</h2>
<p class="howto">各モデルの答えをどう読み取ったか: loglikelihood (プロセス内)、forced_tokens または echo
(サーバーの対数尤度)、first_token (ラベル語の最初のトークンの対数確率)、generate (モデル自身の言葉をラベルに
対応づけたもの。どのラベルも含まない答えは no_answer として不正解に数えます)。</p>
<section id="routes"></section>
<div id="methods-block" hidden>
<h2>読み取り方の比較</h2>
<p class="howto">同じモデルの同じ項目を 2 通りに読み取った結果: 95% ブートストラップ区間付きの正解率、
対応のある差 A - B と McNemar の正確な p。続いて、読み取り方ごとの指示チューニングの効果です。</p>
<section id="methods"></section>
<section id="tuning-by-route"></section>
</div>
<h2>トークン境界</h2>
<p class="howto">文脈の境界をまたいでトークンが結合したため、続きを文脈の変わらないトークンのあとで単独に
トークン化した答え (項目 × プロンプト) の数です。</p>
<section id="boundary"></section>
<h2>サンプル</h2>
<div class="filters">
<label>タスク <select id="filter-task"><option value="">すべて</option></select></label>
<label>クラス <select id="filter-class"><option value="">すべて</option></select></label>
<label>正誤 <select id="filter-correct"><option value="">すべて</option><option value="true">正解</option>
<option value="false">不正解</option></select></label>
</div>
<p id="samples-count"></p>
<table id="samples-table"><thead><tr><th>モデル</th><th>タスク</th><th>分割</th><th>ID</th><th>プロンプト</th>
<th>正答</th><th>予測</th><th>正誤</th><th>フィールド</th></tr></thead><tbody></tbody></table>
)";

// `body` without its line breaks that touch a Japanese (non-ASCII) character.
std::string join_japanese_lines(std::string_view body) {
    const auto japanese = [&](size_t i) { return i < body.size() && static_cast<unsigned char>(body[i]) >= 0x80; };
    std::string out;
    for (size_t i = 0; i < body.size(); ++i) {
        if (body[i] != '\n' || !((i > 0 && japanese(i - 1)) || japanese(i + 1))) {
            out += body[i];
        }
    }
    return out;
}

}  // namespace

std::string report_body(const std::string & lang) {
    if (lang == "ja") {
        static const std::string japanese = join_japanese_lines(kJapanese);
        return japanese;
    }
    return kEnglish;
}

}  // namespace compeval
