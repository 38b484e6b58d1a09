// The only file that includes libtorch (each such file takes ~35 s to compile).
#include "lab/flat_adamw.hpp"
#include "lab/flat_decoder.hpp"
#include "lab/trainer.hpp"
#include "model/random_model.hpp"
#include "util/error.hpp"
#include "util/parallel.hpp"

#include <torch/torch.h>

#include <dlfcn.h>

#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <numeric>
#include <random>

namespace compeval {
namespace {

constexpr double kRmsEps = 1e-5;  // what the GGUF says (llama.attention.layer_norm_rms_epsilon)
constexpr double kRopeBase = 10000.0;
constexpr int64_t kIgnore = -100;

torch::Tensor rms_norm(const torch::Tensor & x, const torch::Tensor & weight) {
    return x * torch::rsqrt(x.pow(2).mean(-1, true) + kRmsEps) * weight;
}

// llama.cpp's "normal" rotary embedding: adjacent pairs (2i, 2i+1) of each
// head rotate by pos * base^(-2i/head_dim). Trained this way, the weights need
// no permutation on export (HF checkpoints rotate halves and do).
torch::Tensor rope(const torch::Tensor & x, const torch::Tensor & cos, const torch::Tensor & sin) {
    const auto s = x.sizes();  // [B, T, H, D]
    auto pairs = x.reshape({s[0], s[1], s[2], s[3] / 2, 2});
    auto even = pairs.select(-1, 0);
    auto odd = pairs.select(-1, 1);
    auto c = cos.unsqueeze(0).unsqueeze(2);  // [1, T, 1, D/2]
    auto n = sin.unsqueeze(0).unsqueeze(2);
    return torch::stack({even * c - odd * n, even * n + odd * c}, -1).reshape(s);
}

struct Block : torch::nn::Module {
    Block(int d, int ff) {
        // Torch modules register their parts in the constructor body.
        // cppcheck-suppress useInitializationList
        attn_norm = register_parameter("attn_norm", torch::ones({d}));
        ffn_norm = register_parameter("ffn_norm", torch::ones({d}));
        auto linear = [&](const char * name, int in, int out) {
            return register_module(name, torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false)));
        };
        wq = linear("attn_q", d, d);
        wk = linear("attn_k", d, d);
        wv = linear("attn_v", d, d);
        wo = linear("attn_output", d, d);
        gate = linear("ffn_gate", d, ff);
        up = linear("ffn_up", d, ff);
        down = linear("ffn_down", ff, d);
    }
    torch::Tensor attn_norm, ffn_norm;
    torch::nn::Linear wq{nullptr}, wk{nullptr}, wv{nullptr}, wo{nullptr}, gate{nullptr}, up{nullptr}, down{nullptr};
};

struct Decoder : torch::nn::Module {
    Decoder(const LabModelShape & s, int vocab) : shape(s) {
        // cppcheck-suppress useInitializationList
        embed = register_module("token_embd", torch::nn::Embedding(vocab, s.n_embd));
        for (int i = 0; i < s.n_layer; ++i) {
            blocks.push_back(register_module("blk" + std::to_string(i), std::make_shared<Block>(s.n_embd, s.n_ff)));
        }
        output_norm = register_parameter("output_norm", torch::ones({s.n_embd}));
        output = register_module("output", torch::nn::Linear(torch::nn::LinearOptions(s.n_embd, vocab).bias(false)));
        torch::nn::init::normal_(embed->weight, 0.0, 0.02);
    }

    torch::Tensor forward(const torch::Tensor & ids) {
        const int64_t b = ids.size(0);
        const int64_t t = ids.size(1);
        const int64_t heads = shape.n_head;
        const int64_t hd = shape.n_embd / heads;
        auto pos = torch::arange(t, torch::kFloat32).unsqueeze(1);
        auto inv = torch::pow(kRopeBase, -torch::arange(0, hd, 2, torch::kFloat32) / static_cast<double>(hd));
        auto angle = pos * inv.unsqueeze(0);
        auto cos = angle.cos();
        auto sin = angle.sin();
        auto mask = torch::full({t, t}, -std::numeric_limits<float>::infinity()).triu(1);
        auto x = embed(ids);
        for (auto & blk : blocks) {
            auto h = rms_norm(x, blk->attn_norm);
            auto q = rope(blk->wq(h).view({b, t, heads, hd}), cos, sin).transpose(1, 2);
            auto k = rope(blk->wk(h).view({b, t, heads, hd}), cos, sin).transpose(1, 2);
            auto v = blk->wv(h).view({b, t, heads, hd}).transpose(1, 2);
            auto att = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(hd)) + mask;
            auto out = torch::matmul(torch::softmax(att, -1), v).transpose(1, 2).reshape({b, t, shape.n_embd});
            x = x + blk->wo(out);
            h = rms_norm(x, blk->ffn_norm);
            x = x + blk->down(torch::silu(blk->gate(h)) * blk->up(h));
        }
        return output(rms_norm(x, output_norm));
    }

    LabModelShape shape;
    torch::nn::Embedding embed{nullptr};
    std::vector<std::shared_ptr<Block>> blocks;
    torch::Tensor output_norm;
    torch::nn::Linear output{nullptr};
};

struct Batch {
    torch::Tensor inputs;
    torch::Tensor targets;
    int64_t n_targets = 0;  // predicted tokens (not padding)
};

// A padded batch: inputs [BOS, w..., EOS] and targets shifted by one.
Batch make_batch(const std::vector<const std::vector<int> *> & sentences, int bos, int eos) {
    size_t longest = 0;
    for (const auto * s : sentences) {
        longest = std::max(longest, s->size() + 1);
    }
    auto inputs =
        torch::full({static_cast<int64_t>(sentences.size()), static_cast<int64_t>(longest)}, eos, torch::kInt64);
    auto targets = torch::full_like(inputs, kIgnore);
    auto in = inputs.accessor<int64_t, 2>();
    auto tg = targets.accessor<int64_t, 2>();
    for (size_t r = 0; r < sentences.size(); ++r) {
        const auto & s = *sentences[r];
        in[static_cast<int64_t>(r)][0] = bos;
        for (size_t i = 0; i < s.size(); ++i) {
            in[static_cast<int64_t>(r)][static_cast<int64_t>(i + 1)] = s[i];
            tg[static_cast<int64_t>(r)][static_cast<int64_t>(i)] = s[i];
        }
        tg[static_cast<int64_t>(r)][static_cast<int64_t>(s.size())] = eos;
    }
    int64_t n_targets = 0;
    for (const auto * s : sentences) {
        n_targets += static_cast<int64_t>(s->size()) + 1;
    }
    return {inputs, targets, n_targets};
}

// OpenBLAS keeps its own thread pool; a model trained on one thread must not
// hand its matrix products to it (and models trained side by side would
// contend for it).
void set_blas_threads(int threads) {
    using SetThreads = void (*)(int);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
    if (auto * set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
        set(threads);
    }
}

// torch's default generator is process-wide: a model's initial weights are
// drawn under this lock so that models built in parallel threads get the
// weights of their own seed.
std::mutex & init_mutex() {
    static std::mutex m;
    return m;
}

}  // namespace

struct LabModel::Impl {
    Impl(const LabModelShape & s, int vocab, uint64_t seed) : shape(s), n_vocab(vocab) {
        const std::lock_guard<std::mutex> lock(init_mutex());
        torch::manual_seed(seed);
        model = std::make_shared<Decoder>(s, vocab);
    }
    LabModelShape shape;
    int n_vocab;
    std::shared_ptr<Decoder> model;
    // The fused loop's storage: every parameter is a view into flat_params
    // (so export and evaluation read what FlatDecoder trains), flat_grads
    // lies parallel to it.
    torch::Tensor flat_params;
    std::vector<float> flat_grads;
    std::unique_ptr<FlatDecoder> decoder;

    void flatten() {
        if (flat_params.defined()) {
            return;
        }
        torch::NoGradGuard no_grad;
        auto params = model->parameters();
        int64_t n = 0;
        for (const auto & p : params) {
            n += p.numel();
        }
        flat_params = torch::empty({n});
        flat_grads.assign(static_cast<size_t>(n), 0.0F);
        int64_t offset = 0;
        for (auto & p : params) {
            const int64_t k = p.numel();
            auto view = flat_params.narrow(0, offset, k).view(p.sizes());
            view.copy_(p);
            p.set_data(view);
            offset += k;
        }
        decoder = std::make_unique<FlatDecoder>(FlatDecoderShape{shape.n_embd, shape.n_head, shape.n_ff, n_vocab},
                                                layout(), kRmsEps, kRopeBase);
    }

    // Where each weight lies in flat_params; wq, wk, wv (and gate, up) are
    // registered one after another, so each set is one matrix there.
    FlatDecoderLayout layout() const {
        const auto at = [&](const torch::Tensor & t) { return t.data_ptr<float>() - flat_params.data_ptr<float>(); };
        const auto stacked = [&](const std::vector<torch::Tensor> & parts) {
            int64_t next = at(parts.front());
            for (const auto & p : parts) {
                if (at(p) != next) {
                    throw Error("lab model: weights to stack are not adjacent");
                }
                next += p.numel();
            }
            return at(parts.front());
        };
        FlatDecoderLayout l;
        l.embed = at(model->embed->weight);
        for (const auto & blk : model->blocks) {
            l.layers.push_back({at(blk->attn_norm), at(blk->ffn_norm),
                                stacked({blk->wq->weight, blk->wk->weight, blk->wv->weight}), at(blk->wo->weight),
                                stacked({blk->gate->weight, blk->up->weight}), at(blk->down->weight)});
        }
        l.output_norm = at(model->output_norm);
        l.output = at(model->output->weight);
        return l;
    }

    double mean_loss(const std::vector<std::vector<int>> & data, int batch, bool fused) {
        torch::NoGradGuard no_grad;
        model->eval();
        double sum = 0;
        int64_t count = 0;
        for (size_t first = 0; first < data.size(); first += static_cast<size_t>(batch)) {
            std::vector<const std::vector<int> *> rows;
            for (size_t i = first; i < std::min(data.size(), first + static_cast<size_t>(batch)); ++i) {
                rows.push_back(&data[i]);
            }
            if (fused) {
                const auto batch = make_token_batch(rows, WordVocab::bos(), WordVocab::eos());
                sum += decoder->loss_sum(flat_params.data_ptr<float>(), batch);
                count += static_cast<int64_t>(batch.ids.size());
                continue;
            }
            const auto batch = make_batch(rows, WordVocab::bos(), WordVocab::eos());
            auto logits = model->forward(batch.inputs);
            auto loss = torch::nn::functional::cross_entropy(
                logits.reshape({-1, n_vocab}), batch.targets.reshape({-1}),
                torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnore).reduction(torch::kSum));
            sum += loss.item<double>();
            count += batch.n_targets;
        }
        return count > 0 ? sum / static_cast<double>(count) : 0.0;
    }
};

bool lab_training_available() {
    return true;
}

LabModel::LabModel(const LabModelShape & shape, int n_vocab, uint64_t seed)
    : impl_(std::make_unique<Impl>(shape, n_vocab, seed)) {
    if (shape.n_embd % shape.n_head != 0 || (shape.n_embd / shape.n_head) % 2 != 0) {
        throw Error("lab model: n_embd must split into heads of even size");
    }
}
LabModel::~LabModel() = default;
LabModel::LabModel(LabModel && other) noexcept = default;
LabModel & LabModel::operator=(LabModel && other) noexcept = default;

uint64_t LabModel::n_params() const {
    uint64_t n = 0;
    for (const auto & p : impl_->model->parameters()) {
        n += static_cast<uint64_t>(p.numel());
    }
    return n;
}

TrainResult LabModel::train(const std::vector<std::vector<int>> & train,
                            const std::vector<std::vector<int>> & validation, const TrainConfig & config) {
    // Per thread: models trained side by side each set their own.
    const int threads = resolve_threads(config.threads);
    torch::set_num_threads(threads);
    set_blas_threads(threads);
    auto & model = *impl_->model;
    TrainResult result;
    result.n_params = n_params();
    // The baseline: validation tokens under the training unigram distribution (add-one).
    std::vector<double> counts(static_cast<size_t>(impl_->n_vocab), 1.0);
    for (const auto & s : train) {
        for (int id : s) {
            counts[static_cast<size_t>(id)] += 1;
        }
        counts[static_cast<size_t>(WordVocab::eos())] += 1;
    }
    const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
    double unigram = 0;
    double n_tokens = 0;
    for (const auto & s : validation) {
        for (int id : s) {
            unigram -= std::log(counts[static_cast<size_t>(id)] / total);
        }
        unigram -= std::log(counts[static_cast<size_t>(WordVocab::eos())] / total);
        n_tokens += static_cast<double>(s.size() + 1);
    }
    result.unigram_loss = n_tokens > 0 ? unigram / n_tokens : 0.0;

    const bool fused = config.loop == TrainLoop::fused;
    // One set of optimizer settings for both loops.
    AdamWSettings settings;
    settings.weight_decay = config.weight_decay;
    settings.clip = config.clip;
    std::unique_ptr<FlatAdamW> flat_optimizer;
    std::unique_ptr<torch::optim::AdamW> reference_optimizer;
    if (fused) {
        impl_->flatten();
        flat_optimizer = std::make_unique<FlatAdamW>(impl_->flat_grads.size(), settings);
    } else {
        reference_optimizer =
            std::make_unique<torch::optim::AdamW>(model.parameters(), torch::optim::AdamWOptions(config.learning_rate)
                                                                          .betas({settings.beta1, settings.beta2})
                                                                          .eps(settings.eps)
                                                                          .weight_decay(settings.weight_decay));
    }
    const auto steps_per_epoch = static_cast<int64_t>((train.size() + static_cast<size_t>(config.batch) - 1) /
                                                      static_cast<size_t>(config.batch));
    const int64_t total_steps = steps_per_epoch * config.epochs;
    const auto warmup =
        std::max<int64_t>(1, static_cast<int64_t>(config.warmup_share * static_cast<double>(total_steps)));
    std::vector<size_t> order(train.size());
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 shuffle_rng(config.seed);
    int64_t step = 0;
    double trained_tokens = 0;
    double trained_seconds = 0;
    std::vector<const std::vector<int> *> rows;
    for (int epoch = 1; epoch <= config.epochs; ++epoch) {
        const auto start = std::chrono::steady_clock::now();
        std::shuffle(order.begin(), order.end(), shuffle_rng);
        model.train();
        double loss_sum = 0;
        double loss_tokens = 0;
        for (size_t first = 0; first < order.size(); first += static_cast<size_t>(config.batch)) {
            rows.clear();
            for (size_t i = first; i < std::min(order.size(), first + static_cast<size_t>(config.batch)); ++i) {
                rows.push_back(&train[order[i]]);
            }
            // Warmup, then cosine decay to a tenth of the peak.
            const double progress = static_cast<double>(std::max<int64_t>(0, step - warmup)) /
                                    static_cast<double>(std::max<int64_t>(1, total_steps - warmup));
            const double lr = step < warmup
                                  ? config.learning_rate * static_cast<double>(step + 1) / static_cast<double>(warmup)
                                  : config.learning_rate * (0.1 + 0.45 * (1.0 + std::cos(M_PI * progress)));
            double loss = 0;
            int64_t n_targets = 0;
            if (fused) {
                const auto batch = make_token_batch(rows, WordVocab::bos(), WordVocab::eos());
                std::fill(impl_->flat_grads.begin(), impl_->flat_grads.end(), 0.0F);
                loss = impl_->decoder->forward_backward(impl_->flat_params.data_ptr<float>(), impl_->flat_grads.data(),
                                                        batch);
                flat_optimizer->step(impl_->flat_params.data_ptr<float>(), impl_->flat_grads.data(), lr);
                n_targets = static_cast<int64_t>(batch.ids.size());
            } else {
                for (auto & group : reference_optimizer->param_groups()) {
                    // torch's documented way to set a group's learning rate.
                    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-static-cast-downcast)
                    static_cast<torch::optim::AdamWOptions &>(group.options()).lr(lr);
                }
                reference_optimizer->zero_grad();
                const auto batch = make_batch(rows, WordVocab::bos(), WordVocab::eos());
                auto batch_loss = torch::nn::functional::cross_entropy(
                    model.forward(batch.inputs).reshape({-1, impl_->n_vocab}), batch.targets.reshape({-1}),
                    torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnore));
                batch_loss.backward();
                torch::nn::utils::clip_grad_norm_(model.parameters(), settings.clip);
                reference_optimizer->step();
                loss = batch_loss.item<double>();
                n_targets = batch.n_targets;
            }
            const auto n = static_cast<double>(n_targets);
            loss_sum += loss * n;
            loss_tokens += n;
            ++step;
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        trained_tokens += loss_tokens;
        trained_seconds += seconds;
        result.epochs.push_back(
            {epoch, loss_sum / loss_tokens, impl_->mean_loss(validation, config.batch, fused), seconds});
    }
    result.tokens_per_second = trained_seconds > 0 ? trained_tokens / trained_seconds : 0.0;
    return result;
}

std::vector<double> LabModel::token_logprobs(const std::vector<int> & ids) const {
    torch::NoGradGuard no_grad;
    impl_->model->eval();
    const auto batch = make_batch({&ids}, WordVocab::bos(), WordVocab::eos());
    auto logp = torch::log_softmax(impl_->model->forward(batch.inputs).to(torch::kFloat64), -1)[0];
    std::vector<double> out;
    for (size_t i = 0; i <= ids.size(); ++i) {
        const int64_t target = i < ids.size() ? ids[i] : WordVocab::eos();
        out.push_back(logp[static_cast<int64_t>(i)][target].item<double>());
    }
    return out;
}

LabModel LabModel::clone() const {
    LabModel copy(impl_->shape, impl_->n_vocab, 0);
    torch::NoGradGuard no_grad;
    auto from = impl_->model->parameters();
    auto to = copy.impl_->model->parameters();
    for (size_t i = 0; i < from.size(); ++i) {
        to[i].copy_(from[i]);
    }
    return copy;
}

LabModel::GradientAgreement LabModel::compare_gradients(const std::vector<std::vector<int>> & sentences) {
    impl_->flatten();
    std::vector<const std::vector<int> *> rows;
    for (const auto & s : sentences) {
        rows.push_back(&s);
    }
    auto & model = *impl_->model;
    model.train();
    model.zero_grad();
    const auto batch = make_batch(rows, WordVocab::bos(), WordVocab::eos());
    auto loss = torch::nn::functional::cross_entropy(
        model.forward(batch.inputs).reshape({-1, impl_->n_vocab}), batch.targets.reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnore));
    loss.backward();

    std::vector<float> fused(static_cast<size_t>(impl_->flat_params.numel()), 0.0F);
    const double fused_loss = impl_->decoder->forward_backward(
        impl_->flat_params.data_ptr<float>(), fused.data(), make_token_batch(rows, WordVocab::bos(), WordVocab::eos()));
    GradientAgreement agreement;
    agreement.loss_difference = std::abs(fused_loss - loss.item<double>());
    // Parameters were flattened in this order.
    size_t offset = 0;
    for (const auto & p : model.parameters()) {
        const auto grad = p.grad().contiguous();
        const float * g = grad.data_ptr<float>();
        for (int64_t i = 0; i < grad.numel(); ++i, ++offset) {
            agreement.max_grad = std::max(agreement.max_grad, static_cast<double>(std::abs(g[i])));
            agreement.max_grad_difference =
                std::max(agreement.max_grad_difference, static_cast<double>(std::abs(g[i] - fused[offset])));
        }
    }
    model.zero_grad();
    return agreement;
}

void LabModel::export_gguf(const std::string & vocab_gguf, const std::string & path, const std::string & name,
                           const std::vector<std::pair<std::string, std::string>> & metadata,
                           const std::string & chat_template) const {
    const auto & s = impl_->shape;
    RandomModelSpec spec;
    spec.name = name;
    spec.n_embd = s.n_embd;
    spec.n_layer = s.n_layer;
    spec.n_head = s.n_head;
    spec.n_head_kv = s.n_head;
    spec.n_ff = s.n_ff;
    spec.n_ctx_train = s.n_ctx;
    spec.weights = WeightType::F32;
    spec.vocab_path = vocab_gguf;
    spec.chat_template = chat_template;
    // llama.cpp's tensor names -> this model's parameters.
    std::map<std::string, torch::Tensor> tensors;
    for (const auto & p : impl_->model->named_parameters()) {
        std::string key = p.key();  // e.g. "blk0.attn_q.weight", "token_embd.weight", "output_norm"
        if (key.rfind("blk", 0) == 0) {
            const auto dot = key.find('.');
            key = "blk." + key.substr(3, dot - 3) + key.substr(dot);
        }
        if (key.find(".weight") == std::string::npos) {
            key += ".weight";
        }
        tensors[key] = p.value().detach().contiguous().to(torch::kFloat32);
    }
    write_model(
        spec,
        [&](size_t, const std::string & tensor_name, int64_t ne0, int64_t ne1, std::vector<float> & values) {
            const auto it = tensors.find(tensor_name);
            if (it == tensors.end() || it->second.numel() != ne0 * ne1) {
                throw Error("lab export: no parameter for " + tensor_name);
            }
            const float * data = it->second.data_ptr<float>();
            values.assign(data, data + it->second.numel());
        },
        path, metadata);
}

}  // namespace compeval
