// The compeval report page. Every table and chart is drawn from the report's
// JSON embedded in the page (#report-data), the same object compeval writes to
// report.json: one source for every number. The sample explorer reads the
// run's samples from #report-samples, column by column with each text stored
// once (report/explorer_samples.hpp).
// Numbers print as the Markdown report prints them (3 decimals, signed effects).
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('report-data').textContent);

  // Every label the page writes, in the report's language (data.lang); the
  // numbers and the data's own names (models, tasks, splits) are not translated.
  const JA = {
    family: 'ファミリー', task: 'タスク', split: '分割', comparison: '比較', 'A vs B': 'A 対 B',
    'effect [95% CI]': '効果 [95% 信頼区間]', 'p (Holm)': 'p (Holm 補正)', verdict: '判定', weights: '重み',
    'McNemar p': 'McNemar p', model: 'モデル', source: '量子化元', answers: '回答数', accuracy: '正解率',
    'source accuracy': '量子化元の正解率', 'answer changed': '答えが変わった割合', 'order changed': '順位が変わった割合',
    'mean |drift| (nats)': '平均 |ずれ| (nats)', 'mean drift': '平均ずれ', 'max |drift|': '最大 |ずれ|',
    recipe: 'レシピ', seeds: 'シード数', 'accuracy [95% CI]': '正解率 [95% 信頼区間]', 'per seed': 'シードごと',
    'rework/item': '手戻り/件', items: '項目数', 'total variation': '全変動距離', 'Jensen-Shannon': 'Jensen-Shannon',
    route: '読み取り方', 'no answer [95% CI]': '無回答 [95% 信頼区間]', 'label not in top-k': '上位 k にないラベル',
    A: 'A', B: 'B', 'accuracy A': '正解率 A', 'accuracy B': '正解率 B', 'A - B [95% CI]': 'A - B [95% 信頼区間]',
    'direction differs': '向きが異なる', 'separate boundary': '境界を分けた数', measure: '指標', models: 'モデル数',
    params: 'パラメータ数', 'file MB': 'ファイル MB', 'load s': '読込時間 (秒)', 'items/s': '件/秒',
    'tokens/s': 'トークン/秒', attribute: '属性', combinations: '組み合わせ', rows: '行', 'ceiling (rows)': '上限 (行)',
    'agreement (rows)': '一致率 (行)', 'ceiling (per combination)': '上限 (組み合わせ)',
    'agreement (per combination)': '一致率 (組み合わせ)', 'accuracy vs majority': '多数派に対する正解率',
    'ms/item': 'ミリ秒/件', 'peak RSS MB': '最大メモリ MB', 'cost/1k items': 'コスト/1k 件', Pareto: 'パレート',
    'bits/weight': 'ビット/重み', layer: '層', value: '値', effect: '効果', gap: '差', variant: '種別',
    label: '比較', row: 'タスク (分割)', count: '件数', frontier: 'パレート', cost: 'コスト', low: '正解率',
    yes: 'はい', no: 'いいえ', 'as given': 'そのまま',
    'instruction tuning': '指示チューニング', scale: '規模', 'scale (largest vs smallest)': '規模 (最大 vs 最小)',
    quantization: '量子化', parameters: 'パラメータ数', 'accuracy difference': '正解率の差',
    'seen - unseen accuracy': '既見 - 未見の正解率', predicted: '予測', gold: '正答', 'Recipes: seeds pooled':
      'レシピ: シードをまとめた結果',
    'Models with the same group are one recipe trained with different seeds; the interval resamples seeds and items.':
      '同じグループのモデルは、異なるシードで学習した一つのレシピです。区間はシードと項目の両方を再標本化します。',
    'Accuracy by model size, per family (mean over prompts; 95% bootstrap interval)':
      'ファミリーごとの、モデルの規模と正解率 (プロンプト平均、95% ブートストラップ区間)',
    'Instruction tuning: instruct minus base accuracy on the same items (paired bootstrap 95% CI)':
      '指示チューニング: 同じ項目でのインストラクト版 − ベースの正解率 (対応のあるブートストラップ 95% 信頼区間)',
    'Quantization: quantized minus source accuracy on the same items (paired bootstrap 95% CI)':
      '量子化: 同じ項目での量子化版 − 量子化元の正解率 (対応のあるブートストラップ 95% 信頼区間)',
    'Seen minus unseen combination accuracy (95% CI): a positive gap means memorized combinations':
      '既見 − 未見の組み合わせの正解率 (95% 信頼区間): 正の差は組み合わせを覚えているだけであることを示します',
    'Representational measures per layer (layer 0 = token embeddings)': '層ごとの表現の指標 (層 0 = トークン埋め込み)',
    'Confusion matrices (gold answer by predicted answer, counts over items and prompts)':
      '混同行列 (正答と予測の組ごとの件数、項目とプロンプトの合計)',
    'Nothing to draw: this run has no data for this chart.': '描画なし: この実行にはこのグラフのデータがありません。',
    'No model is recommended on this evidence.': 'この結果から推奨できるモデルはありません。',
    'What goes to a person (confidence threshold):': '人の確認に回す割合 (確信度のしきい値):',
    confidence: '確信度', 'ECE [95% CI]': 'ECE [95% 信頼区間]', 'Brier [95% CI]': 'Brier [95% 信頼区間]',
    'seen threshold on unseen: alone, errors': '既見のしきい値を未見に: 単独、誤り', 'ECE seen': 'ECE 既見', 'ECE unseen': 'ECE 未見',
    'overconfidence seen': '既見の過信', 'overconfidence unseen': '未見の過信',
    'Brier unseen - seen [95% CI]': 'Brier 未見 - 既見 [95% 信頼区間]', 'answered alone': '単独で答える割合',
    'error rate among them': 'その中の誤り率',
    'Calibration: accuracy against mean confidence in 10 confidence bins (on the diagonal: confidence means what it says)':
      '較正: 確信度で 10 等分した区間ごとの平均確信度と正解率 (対角線上なら確信度はそのとおりの意味を持ちます)',
    'Risk-coverage: errors among the answers a model gives alone against the share it gives alone':
      'リスクとカバー率: モデルが単独で答える割合と、その答えの中の誤り率',
  };
  const ja = data.lang === 'ja';
  const t = (text) => (ja && JA[text] !== undefined ? JA[text] : text);
  // Chart specs: every axis, legend, facet and tooltip title in the report's language.
  // Vega-Lite names an untitled channel by its field; in Japanese the field is named in words instead,
  // but only where no layer of the view titles that channel: Vega-Lite then shows the given title alone,
  // while a second given title would be joined to it ("予測, pred").
  const titledChannels = (layers) => new Set(layers.flatMap((l) => Object.entries((l && l.encoding) || {})
    .filter(([, def]) => def !== null && typeof def === 'object' && 'title' in def).map(([channel]) => channel)));
  const named = (def, sayField) => {
    const out = localize(def);
    if (ja && sayField && out !== null && typeof out === 'object' && typeof out.field === 'string' &&
      !('title' in out)) {
      out.title = t(out.field);
    }
    return out;
  };
  const localizeEncoding = (encoding, titled) => Object.fromEntries(Object.entries(encoding).map(([channel, def]) =>
    [channel, Array.isArray(def) ? def.map((d) => named(d, true)) // tooltip fields
      : named(def, def !== null && typeof def === 'object' && typeof def.type === 'string' && !titled.has(channel))]));
  function localize(node, titled = new Set()) {
    if (Array.isArray(node)) return node.map((n) => localize(n, titled));
    if (node === null || typeof node !== 'object') return node;
    const layered = Array.isArray(node.layer) ? titledChannels(node.layer) : titled;
    return Object.fromEntries(Object.entries(node).map(([k, v]) => {
      if (k === 'title' && typeof v === 'string') return [k, t(v)];
      if (k === 'encoding') return [k, localizeEncoding(v, layered)];
      return [k, localize(v, k === 'layer' ? layered : new Set())];
    }));
  }
  // The correlation's measures are named in English in the data, where they are keys: say them in words.
  const measureName = (m) => (!ja ? m : m === 'unseen-combination accuracy' ? '未見の組み合わせの正解率'
    : m.replace(/ \(last layer\)$/, ' (最終層)'));

  const fixed = (x, digits = 3) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits));
  const signed = (x) => (x < 0 || Object.is(x, -0) ? '' : '+') + x.toFixed(3);

  function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      node.setAttribute(k, v);
    }
    for (const c of [].concat(children)) {
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function table(id, header, rows) {
    const head = el('thead', {}, el('tr', {}, header.map((h) => el('th', {}, t(h)))));
    const body = el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, c)))));
    return el('table', { id }, [head, body]);
  }

  // ---- header and recommendation ----
  document.getElementById('run-meta').textContent = ja
    ? `実行 ${data.run}、指標 ${data.metric}。区間は 95% (割合は Wilson、パーセンタイル・ブートストラップは ` +
      `${data.bootstrap.iterations} 回、シード ${data.bootstrap.seed})。`
    : `Run ${data.run}; metric ${data.metric}; intervals are 95% (Wilson for proportions, percentile bootstrap with ` +
      `${data.bootstrap.iterations} iterations, seed ${data.bootstrap.seed}).`;
  const rec = data.cost.recommendation;
  document.getElementById('recommendation').append(
    el('p', { class: 'verdict' }, rec.model === null ? t('No model is recommended on this evidence.')
      : `${ja ? '推奨: ' : 'Recommended: '}${rec.model}`),
    el('ul', {}, rec.reasons.map((r) => el('li', {}, r))));
  if ((rec.risk || []).length > 0) {
    document.getElementById('recommendation').append(
      el('p', {}, t('What goes to a person (confidence threshold):')),
      el('ul', { id: 'risk-sentences' }, rec.risk.map((r) => el('li', {}, r))));
  }

  // ---- tables ----
  document.getElementById('findings').append(table('findings-table',
    ['family', 'task', 'split', 'comparison', 'A vs B', 'n', 'effect [95% CI]', 'p (Holm)', 'verdict',
      'weights', 'McNemar p'],
    data.findings.map((f) => [f.family, f.task, f.split, t(f.comparison), `${f.a} vs ${f.b}`, f.n,
      `${signed(f.effect)} [${signed(f.low)}, ${signed(f.high)}]`, fixed(f.p_holm), f.verdict,
      f.quant || t('as given'), f.p_mcnemar === undefined ? '-' : f.p_mcnemar.toPrecision(3)])));

  // What quantizing moved underneath the accuracy: answer by answer against the source.
  const drift = data.quantization || [];
  if (drift.length > 0) {
    document.getElementById('quantization-block').hidden = false;
    document.getElementById('quantization').append(table('quantization-table',
      ['model', 'source', 'weights', 'task', 'split', 'answers', 'accuracy', 'source accuracy', 'answer changed',
        'order changed', 'mean |drift| (nats)', 'mean drift', 'max |drift|'],
      drift.map((q) => [q.model, q.source, q.quant, q.task, q.split, q.n, fixed(q.accuracy), fixed(q.source_accuracy),
        fixed(q.flipped), fixed(q.reordered), q.mean_abs_drift === undefined ? '-' : q.mean_abs_drift.toPrecision(3),
        q.mean_drift === undefined ? '-' : q.mean_drift.toPrecision(3),
        q.max_abs_drift === undefined ? '-' : q.max_abs_drift.toPrecision(3)])));
  }

  if (data.recipes.length > 0) {
    document.getElementById('recipes').append(
      el('h2', {}, t('Recipes: seeds pooled')),
      el('p', {}, t('Models with the same group are one recipe trained with different seeds; the interval ' +
        'resamples seeds and items.')),
      table('recipes-table', ['recipe', 'task', 'split', 'seeds', 'n', 'accuracy [95% CI]', 'per seed'],
        data.recipes.map((r) => [r.recipe, r.task, r.split, r.models.length, r.n,
          `${fixed(r.accuracy.estimate)} [${fixed(r.accuracy.low)}, ${fixed(r.accuracy.high)}]`,
          r.per_seed.map((v) => fixed(v)).join(' ')])));
  }

  const accuracyRows = [];
  for (const t of data.tasks) {
    for (const a of t.accuracy_mean_over_prompts) {
      const b = a.bootstrap;
      accuracyRows.push([t.model, t.task, a.split, a.n, `${fixed(b.estimate)} [${fixed(b.low)}, ${fixed(b.high)}]`,
        fixed(t.rework_per_item)]);
    }
  }
  document.getElementById('accuracy').append(table('accuracy-table',
    ['model', 'task', 'split', 'n', 'accuracy [95% CI]', 'rework/item'], accuracyRows));

  const attributeRows = [];
  for (const t of data.tasks) {
    for (const c of t.by_class || []) {
      if (c.split !== 'unseen' || !c.field.includes('.')) continue;
      attributeRows.push([t.model, t.task, c.field, c.value, c.n,
        `${fixed(c.wilson.estimate)} [${fixed(c.wilson.low)}, ${fixed(c.wilson.high)}]`]);
    }
  }
  if (attributeRows.length > 0) {
    document.getElementById('attribute-block').hidden = false;
    document.getElementById('by-attribute').append(table('attribute-table',
      ['model', 'task', 'attribute', 'value', 'answers', 'accuracy [95% CI]'], attributeRows));
  }

  const ceilingRows = [];
  for (const t of data.tasks) {
    const accuracy = {};
    for (const a of t.accuracy_mean_over_prompts || []) accuracy[a.split] = a.bootstrap.estimate;
    for (const c of t.noise_ceiling || []) {
      ceilingRows.push([t.model, t.task, c.split, c.combinations, c.rows, fixed(c.ceiling.rows),
        fixed(c.agreement.rows), fixed(c.ceiling.combinations), fixed(c.agreement.combinations),
        fixed(accuracy[c.split] || 0)]);
    }
  }
  if (ceilingRows.length > 0) {
    document.getElementById('ceiling-block').hidden = false;
    if (data.records) document.getElementById('records-sentence').textContent = data.records.sentence;
    document.getElementById('noise-ceiling').append(table('ceiling-table',
      ['model', 'task', 'split', 'combinations', 'rows', 'ceiling (rows)', 'agreement (rows)',
        'ceiling (per combination)', 'agreement (per combination)', 'accuracy vs majority'], ceilingRows));
  }

  const distributionRows = [];
  const interval = (b) => `${fixed(b.estimate)} [${fixed(b.low)}, ${fixed(b.high)}]`;
  for (const t of data.tasks) {
    for (const row of t.distribution || []) {
      distributionRows.push([t.model, t.task, row.split, row.n, interval(row.total_variation),
        interval(row.jensen_shannon)]);
    }
  }
  if (distributionRows.length > 0) {
    document.getElementById('distribution-block').hidden = false;
    document.getElementById('distribution').append(table('distribution-table',
      ['model', 'task', 'split', 'items', 'total variation', 'Jensen-Shannon'], distributionRows));
  }

  const rates = {};
  for (const r of data.answer_routes || []) rates[`${r.model}\u001f${r.task}`] = r;
  document.getElementById('routes').append(table('routes-table',
    ['model', 'task', 'route', 'answers', 'no answer [95% CI]', 'label not in top-k'],
    data.tasks.map((t) => {
      const r = rates[`${t.model}\u001f${t.task}`];
      return [t.model, t.task, t.route || 'loglikelihood', t.answers,
        r ? `${r.no_answer} (${interval(r.no_answer_rate)})` : '-',
        r && r.top_k_missing !== undefined ? r.top_k_missing : '-'];
    })));
  if ((data.scoring_methods || []).length > 0 || (data.instruction_tuning_by_route || []).length > 0) {
    document.getElementById('methods-block').hidden = false;
    document.getElementById('methods').append(table('methods-table',
      ['model', 'task', 'split', 'A', 'B', 'n', 'accuracy A', 'accuracy B', 'A - B [95% CI]', 'McNemar p'],
      (data.scoring_methods || []).map((r) => [r.model, r.task, r.split, r.route_a, r.route_b, r.n,
        interval(r.accuracy_a), interval(r.accuracy_b),
        `${signed(r.difference.estimate)} [${signed(r.difference.low)}, ${signed(r.difference.high)}]`,
        r.mcnemar_p.toPrecision(3)])));
    const tuning = [];
    for (const row of data.instruction_tuning_by_route || []) {
      for (const r of row.routes) {
        tuning.push([row.family, row.task, row.split, `${row.a} vs ${row.b}`, r.route,
          `${signed(r.effect)} [${signed(r.low)}, ${signed(r.high)}]`, r.verdict, t(row.flips ? 'yes' : 'no')]);
      }
    }
    document.getElementById('tuning-by-route').append(table('tuning-by-route-table',
      ['family', 'task', 'split', 'A vs B', 'route', 'effect [95% CI]', 'verdict', 'direction differs'], tuning));
  }

  document.getElementById('boundary').append(table('boundary-table', ['model', 'answers', 'separate boundary'],
    data.token_boundary.map((b) => [b.model, b.answers, b.separate])));

  document.getElementById('correlation').append(table('correlation-table',
    ['measure', 'models', 'rho', 'p', 'verdict'],
    data.ability_correlation.map((r) => [measureName(r.measure), r.n_models, r.rho === null ? '-' : signed(r.rho),
      r.p === null ? '-' : fixed(r.p), r.verdict])));

  const cost = data.cost;
  document.getElementById('cost-unit').textContent = ja ? `コストの単位: ${cost.unit}。` : `Cost unit: ${cost.unit}.`;
  document.getElementById('cost').append(table('cost-table',
    ['model', 'params', 'file MB', 'load s', 'items/s', 'tokens/s', 'ms/item', 'peak RSS MB', 'cost/1k items',
      'accuracy', 'Pareto', 'weights', 'bits/weight'],
    cost.models.map((m) => [m.model, m.n_params.toPrecision(3), fixed(m.file_bytes / 1e6, 1), fixed(m.load_seconds),
      m.measured ? fixed(m.items_per_s, 2) : '-', m.measured ? fixed(m.tokens_per_s, 0) : '-',
      m.measured ? fixed(m.latency_ms_per_item, 1) : '-', fixed(m.peak_rss_bytes / 1e6, 1),
      m.measured ? m.cost_per_1k_items.toPrecision(4) : '-', m.accuracy ? fixed(m.accuracy.estimate) : '-',
      m.on_pareto_frontier ? t('yes') : '', m.quant || t('as given'), m.bits_per_weight ? fixed(m.bits_per_weight, 2) : '-'])));

  // ---- risk and review ----
  const calib = data.calibration;
  const pct = (i) => `${(100 * i.estimate).toFixed(0)}% [${(100 * i.low).toFixed(0)}, ${(100 * i.high).toFixed(0)}]`;
  const ci = (i) => `${fixed(i.estimate)} [${fixed(i.low)}, ${fixed(i.high)}]`;
  const threshold = (x) => (x === null ? '-' : String(+x.toPrecision(6)));
  const priced = calib.review_cost !== undefined;
  document.getElementById('calibration').append(table('calibration-table',
    ['model', 'task', 'split', 'answers', 'accuracy', 'confidence', 'ECE [95% CI]', 'Brier [95% CI]',
      ...calib.max_errors.map((e) => (ja ? `単独 (誤り ${+(100 * e).toPrecision(6)}% 以下、しきい値)`
        : `alone at <= ${+(100 * e).toPrecision(6)}% (threshold)`)),
      'seen threshold on unseen: alone, errors',
      ...(priced ? [ja ? `確認 1 件 ${calib.review_cost} で最安: 1,000 件あたり、確認`
        : `cheapest at ${calib.review_cost}/review: cost per 1k, reviewed`] : [])],
    calib.models.map((m) => [m.model, m.task, m.split, m.answers, fixed(m.accuracy), fixed(m.confidence), ci(m.ece), ci(m.brier),
      ...m.selective.map((x) => `${pct(x.coverage)} (${threshold(x.threshold)})`),
      m.seen_threshold && m.seen_threshold[0].threshold !== null
        ? `${(100 * m.seen_threshold[0].coverage.estimate).toFixed(0)}%, ${(100 * m.seen_threshold[0].risk.estimate).toFixed(1)}%`
        : '-',
      ...(priced ? [`${fixed(m.review.cost_per_1k.estimate, 2)} [${fixed(m.review.cost_per_1k.low, 2)}, ` +
        `${fixed(m.review.cost_per_1k.high, 2)}] (${(100 * m.review.review_share).toFixed(0)}%)`] : [])])));
  document.getElementById('calibration-seen-unseen').append(table('calibration-seen-unseen-table',
    ['model', 'task', 'ECE seen', 'ECE unseen', 'overconfidence seen', 'overconfidence unseen',
      'Brier unseen - seen [95% CI]', 'verdict'],
    calib.seen_vs_unseen.map((r) => [r.model, r.task, fixed(r.ece_seen), fixed(r.ece_unseen),
      signed(r.overconfidence_seen), signed(r.overconfidence_unseen),
      `${signed(r.brier_difference.estimate)} [${signed(r.brier_difference.low)}, ${signed(r.brier_difference.high)}]`,
      r.verdict])));

  // ---- charts ----
  const charts = {};
  charts['chart-scaling'] = {
    title: 'Accuracy by model size, per family (mean over prompts; 95% bootstrap interval)',
    values: data.tasks.filter((t) => t.accuracy_overall && t.n_params > 0).map((t) => ({
      family: t.family, task: t.task, model: t.model, variant: t.variant, params: t.n_params,
      accuracy: t.accuracy_overall.bootstrap.estimate, low: t.accuracy_overall.bootstrap.low,
      high: t.accuracy_overall.bootstrap.high })),
    spec: {
      facet: { column: { field: 'family', title: 'family' } },
      spec: {
        width: 260, height: 200,
        layer: [
          // Through the base models' mean at each size: several seeds of one size are one point of the line.
          { mark: { type: 'line', opacity: 0.5 }, transform: [{ filter: "datum.variant == 'base'" },
            { aggregate: [{ op: 'mean', field: 'accuracy', as: 'accuracy' }], groupby: ['family', 'task', 'params'] }],
            encoding: { x: { field: 'params', type: 'quantitative', scale: { type: 'log' }, title: 'parameters',
              axis: { format: '~s' } },
              y: { field: 'accuracy', type: 'quantitative' }, color: { field: 'task', type: 'nominal' } } },
          { mark: 'errorbar',
            encoding: { x: { field: 'params', type: 'quantitative', scale: { type: 'log' } },
              y: { field: 'low', type: 'quantitative', scale: { domain: [0, 1] }, title: 'accuracy' },
              y2: { field: 'high' }, color: { field: 'task', type: 'nominal' } } },
          { mark: { type: 'point', filled: true, size: 60 },
            encoding: { x: { field: 'params', type: 'quantitative', scale: { type: 'log' } },
              y: { field: 'accuracy', type: 'quantitative' }, color: { field: 'task', type: 'nominal' },
              shape: { field: 'variant', type: 'nominal' },
              tooltip: [{ field: 'model' }, { field: 'task' }, { field: 'accuracy', format: '.3f' }] } },
        ],
      },
    },
  };
  charts['chart-tuning'] = {
    title: 'Instruction tuning: instruct minus base accuracy on the same items (paired bootstrap 95% CI)',
    values: data.findings.filter((f) => f.comparison === 'instruction tuning').map((f) => ({
      label: `${f.family}: ${f.a} vs ${f.b}`, task: f.task, effect: f.effect, low: f.low, high: f.high })),
    spec: {
      width: 420, height: { step: 22 },
      layer: [
        { mark: 'bar', encoding: { y: { field: 'task', type: 'nominal' }, yOffset: { field: 'label' },
          x: { field: 'effect', type: 'quantitative', title: 'accuracy difference' },
          color: { field: 'label', type: 'nominal', title: 'comparison' } } },
        { mark: 'errorbar', encoding: { y: { field: 'task', type: 'nominal' }, yOffset: { field: 'label' },
          x: { field: 'low', type: 'quantitative', title: 'accuracy difference' }, x2: { field: 'high' } } },
        { mark: { type: 'rule', color: '#333' }, encoding: { x: { datum: 0 } } },
      ],
    },
  };
  charts['chart-quantization'] = {
    title: 'Quantization: quantized minus source accuracy on the same items (paired bootstrap 95% CI)',
    values: data.findings.filter((f) => f.comparison === 'quantization').map((f) => ({
      label: `${f.a} vs ${f.b}`, row: `${f.task} (${f.split})`, weights: f.quant, effect: f.effect, low: f.low,
      high: f.high })),
    spec: {
      width: 420, height: { step: 14 },
      layer: [
        { mark: 'bar', encoding: { y: { field: 'row', type: 'nominal', title: null }, yOffset: { field: 'label' },
          x: { field: 'effect', type: 'quantitative', title: 'accuracy difference' },
          color: { field: 'weights', type: 'nominal', title: 'weights' },
          tooltip: [{ field: 'label' }, { field: 'row' }, { field: 'effect', format: '+.3f' }] } },
        { mark: 'errorbar', encoding: { y: { field: 'row', type: 'nominal' }, yOffset: { field: 'label' },
          x: { field: 'low', type: 'quantitative', title: 'accuracy difference' }, x2: { field: 'high' } } },
        { mark: { type: 'rule', color: '#333' }, encoding: { x: { datum: 0 } } },
      ],
    },
  };
  charts['chart-gaps'] = {
    title: 'Seen minus unseen combination accuracy (95% CI): a positive gap means memorized combinations',
    values: data.tasks.filter((t) => t.seen_unseen_gap).map((t) => ({ model: t.model, task: t.task,
      gap: t.seen_unseen_gap.gap, low: t.seen_unseen_gap.low, high: t.seen_unseen_gap.high })),
    spec: {
      width: 420, height: { step: 22 },
      layer: [
        { mark: 'bar', encoding: { y: { field: 'model', type: 'nominal' }, x: { field: 'gap', type: 'quantitative',
          title: 'seen - unseen accuracy' }, color: { field: 'task', type: 'nominal' } } },
        { mark: 'errorbar', encoding: { y: { field: 'model', type: 'nominal' },
          x: { field: 'low', type: 'quantitative', title: 'seen - unseen accuracy' }, x2: { field: 'high' } } },
        { mark: { type: 'rule', color: '#333' }, encoding: { x: { datum: 0 } } },
      ],
    },
  };
  charts['chart-layers'] = {
    title: 'Representational measures per layer (layer 0 = token embeddings)',
    values: data.layers.filter((l) => l.value !== null).map((l) => ({ ...l, panel: `${l.task}: ${l.metric}` })),
    spec: {
      facet: { field: 'panel', type: 'nominal', title: null }, columns: 3,
      resolve: { scale: { y: 'independent' } },
      spec: { width: 220, height: 150, mark: { type: 'line', point: true },
        encoding: { x: { field: 'layer', type: 'quantitative', axis: { tickMinStep: 1 } },
          y: { field: 'value', type: 'quantitative', scale: { zero: false } },
          color: { field: 'model', type: 'nominal' },
          tooltip: [{ field: 'model' }, { field: 'layer' }, { field: 'value', format: '.3f' }] } },
    },
  };
  const confusion = [];
  for (const t of data.tasks) {
    for (const [gold, preds] of Object.entries(t.confusion || {})) {
      for (const [pred, count] of Object.entries(preds)) {
        confusion.push({ model: t.model, task: t.task, gold, pred, count });
      }
    }
  }
  // Ranking tasks answer with whole sentences: only short answer sets make a readable matrix.
  const labelTasks = new Set();
  const answers = {};
  for (const c of confusion) {
    (answers[c.task] = answers[c.task] || new Set()).add(c.gold);
  }
  for (const [task, set] of Object.entries(answers)) {
    if (set.size <= 6) labelTasks.add(task);
  }
  charts['chart-confusion'] = {
    title: 'Confusion matrices (gold answer by predicted answer, counts over items and prompts)',
    values: confusion.filter((c) => labelTasks.has(c.task)),
    spec: {
      facet: { row: { field: 'task', title: null }, column: { field: 'model', title: null } },
      resolve: { scale: { x: 'independent', y: 'independent', color: 'independent' } },
      spec: { width: 120, height: 120,
        layer: [
          { mark: 'rect', encoding: { x: { field: 'pred', type: 'nominal', title: 'predicted' },
            y: { field: 'gold', type: 'nominal', title: 'gold' },
            color: { field: 'count', type: 'quantitative', legend: null } } },
          { mark: { type: 'text', color: 'black' }, encoding: { x: { field: 'pred', type: 'nominal' },
            y: { field: 'gold', type: 'nominal' }, text: { field: 'count', type: 'quantitative' } } },
        ] },
    },
  };
  const paretoPoints = cost.models.filter((m) => m.measured && m.accuracy).map((m) => ({ model: m.model,
    cost: m.cost_per_1k_items, accuracy: m.accuracy.estimate, low: m.accuracy.low, high: m.accuracy.high,
    frontier: m.on_pareto_frontier, weights: m.quant || t('as given'), bits: m.bits_per_weight }));
  charts['chart-pareto'] = {
    title: ja ? `コストと正解率 (${cost.unit})。線はパレート最前線を結びます`
      : `Accuracy against cost (${cost.unit}); the line joins the Pareto frontier`,
    values: paretoPoints,
    spec: {
      width: 420, height: 260,
      layer: [
        { mark: { type: 'line', color: '#888' }, transform: [{ filter: 'datum.frontier' }],
          encoding: { x: { field: 'cost', type: 'quantitative', title: cost.unit, scale: { zero: false } },
            y: { field: 'accuracy', type: 'quantitative' }, order: { field: 'cost' } } },
        { mark: 'errorbar', encoding: { x: { field: 'cost', type: 'quantitative' },
          y: { field: 'low', type: 'quantitative', title: 'accuracy', scale: { zero: false } }, y2: { field: 'high' } } },
        // Colour is the weight type and shape the frontier, so a 4-bit larger model and a 16-bit smaller
        // one sit on one chart.
        { mark: { type: 'point', filled: true, size: 80 }, encoding: { x: { field: 'cost', type: 'quantitative' },
          y: { field: 'accuracy', type: 'quantitative' }, color: { field: 'weights', type: 'nominal', title: 'weights' },
          shape: { field: 'frontier', type: 'nominal', title: 'Pareto',
            ...(ja ? { legend: { labelExpr: "datum.label === 'true' ? 'はい' : 'いいえ'" } } : {}) },
          tooltip: [{ field: 'model' }, { field: 'weights' }, { field: 'bits', format: '.2f', title: 'bits/weight' },
            { field: 'cost', format: '.4g' }, { field: 'accuracy', format: '.3f' }] } },
        { mark: { type: 'text', dx: 8, align: 'left' }, encoding: { x: { field: 'cost', type: 'quantitative' },
          y: { field: 'accuracy', type: 'quantitative' }, text: { field: 'model' } } },
      ],
    },
  };

  charts['chart-reliability'] = {
    title: 'Calibration: accuracy against mean confidence in 10 confidence bins (on the diagonal: confidence means what it says)',
    values: calib.models.flatMap((m) => m.reliability.map((b) => ({ model: `${m.model}: ${m.task}`, split: m.split,
      confidence: b.confidence, accuracy: b.accuracy, low: b.accuracy_low, high: b.accuracy_high, answers: b.n }))),
    spec: {
      facet: { field: 'model', type: 'nominal', title: null }, columns: 4,
      spec: { width: 160, height: 160,
        layer: [
          { mark: { type: 'rule', color: '#aaa', strokeDash: [4, 4] },
            encoding: { x: { datum: 0 }, y: { datum: 0 }, x2: { datum: 1 }, y2: { datum: 1 } } },
          { mark: 'errorbar', encoding: { x: { field: 'confidence', type: 'quantitative' },
            y: { field: 'low', type: 'quantitative', title: 'accuracy' }, y2: { field: 'high' },
            color: { field: 'split', type: 'nominal' } } },
          { mark: { type: 'line', point: true }, encoding: {
            x: { field: 'confidence', type: 'quantitative', scale: { domain: [0, 1] }, title: 'confidence' },
            y: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] } },
            color: { field: 'split', type: 'nominal' },
            tooltip: [{ field: 'model' }, { field: 'split' }, { field: 'confidence', format: '.3f' },
              { field: 'accuracy', format: '.3f' }, { field: 'answers' }] } },
        ] },
    },
  };
  charts['chart-risk-coverage'] = {
    title: 'Risk-coverage: errors among the answers a model gives alone against the share it gives alone',
    values: calib.models.flatMap((m) => m.risk_coverage.map((p) => ({ model: `${m.model}: ${m.task}`, split: m.split,
      coverage: p.coverage, risk: p.risk, threshold: p.threshold }))),
    spec: {
      facet: { field: 'model', type: 'nominal', title: null }, columns: 4,
      spec: { width: 160, height: 160,
        layer: [
          { mark: { type: 'line', interpolate: 'step-after' }, encoding: {
            x: { field: 'coverage', type: 'quantitative', scale: { domain: [0, 1] }, title: 'answered alone' },
            y: { field: 'risk', type: 'quantitative', title: 'error rate among them' },
            color: { field: 'split', type: 'nominal' },
            tooltip: [{ field: 'model' }, { field: 'split' }, { field: 'threshold', format: '.3f' },
              { field: 'coverage', format: '.3f' }, { field: 'risk', format: '.3f' }] } },
          { mark: { type: 'rule', color: '#c00', strokeDash: [4, 4] }, encoding: { y: { datum: calib.max_errors[0] } } },
        ] },
    },
  };

  const rendered = [];
  for (const [id, chart] of Object.entries(charts)) {
    const holder = document.getElementById(id);
    holder.before(el('h3', {}, t(chart.title)));
    if (chart.values.length === 0) {
      holder.setAttribute('data-empty', 'true');
      holder.append(el('p', { class: 'empty' }, t('Nothing to draw: this run has no data for this chart.')));
      continue;
    }
    const spec = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', data: { values: chart.values },
      ...localize(chart.spec) };
    rendered.push(vegaEmbed(holder, spec, { actions: false, renderer: 'svg' }));
  }

  // ---- sample explorer ----
  // Filters run over the index columns; only the rows shown become strings and DOM.
  const S = JSON.parse(document.getElementById('report-samples').textContent);
  const str = S.strings;
  const total = S.correct.length;
  const column = (name) => Int32Array.from(S[name]);
  const cols = { model: column('model'), task: column('task'), split: column('split'), id: column('id'),
    prompt: column('prompt'), gold: column('gold'), pred: column('pred'), fields: column('fields') };
  const correctCol = Uint8Array.from(S.correct);
  const taskSelect = document.getElementById('filter-task');
  const classSelect = document.getElementById('filter-class');
  const correctSelect = document.getElementById('filter-correct');
  const option = (value, text) => el('option', { value }, text);
  const distinct = (values) => [...new Set(values)].map((i) => str[i]).sort();
  for (const task of distinct(cols.task)) {
    taskSelect.append(option(task, task));
  }
  for (const c of distinct(S.field_sets.flat())) {
    classSelect.append(option(c, c));
  }
  const indexOf = new Map(str.map((text, i) => [text, i]));
  const shown = 200;
  function applyFilters() {
    const task = taskSelect.value ? (indexOf.get(taskSelect.value) ?? -2) : -1;
    const cls = classSelect.value ? (indexOf.get(classSelect.value) ?? -2) : -1;
    const correct = correctSelect.value === '' ? -1 : (correctSelect.value === 'true' ? 1 : 0);
    // Which field sets hold the class: one test per set, not per sample.
    const setMatches = Uint8Array.from(S.field_sets, (set) => (cls === -1 || set.includes(cls) ? 1 : 0));
    const rows = [];
    let matches = 0;
    for (let i = 0; i < total; ++i) {
      if (task !== -1 && cols.task[i] !== task) continue;
      if (correct !== -1 && correctCol[i] !== correct) continue;
      if (!setMatches[cols.fields[i]]) continue;
      if (++matches <= shown) rows.push(i);
    }
    const body = document.querySelector('#samples-table tbody');
    body.replaceChildren(...rows.map((i) => el('tr', { class: correctCol[i] ? 'right' : 'wrong' },
      [str[cols.model[i]], str[cols.task[i]], str[cols.split[i]], str[cols.id[i]], str[cols.prompt[i]],
        str[cols.gold[i]], str[cols.pred[i]],
        ja ? (correctCol[i] ? '正解' : '不正解') : (correctCol[i] ? 'yes' : 'no'),
        S.field_sets[cols.fields[i]].map((f) => str[f]).join(' ')].map((c) => el('td', {}, c)))));
    const count = document.getElementById('samples-count');
    count.dataset.matches = String(matches);
    count.textContent = ja
      ? `${total} 件のサンプルのうち ${matches} 件が条件に合います` +
        (matches > shown ? `。最初の ${shown} 件を表示しています。` : '。')
      : `${matches} of ${total} samples match` +
        (matches > shown ? `; the first ${shown} are shown.` : '.');
  }
  for (const s of [taskSelect, classSelect, correctSelect]) {
    s.addEventListener('change', applyFilters);
  }
  applyFilters();

  // compevalReadyAt: milliseconds from navigation until every chart is drawn
  // and the explorer filled (scripts/full-study.sh reports it).
  Promise.all(rendered).then(() => {
    window.compevalReadyAt = performance.now();
    window.compevalReady = true;
  }).catch((e) => {
    console.error('chart failed: ' + e);
    window.compevalReadyAt = performance.now();
    window.compevalReady = true;
  });
})();
