// The lab's model: every weight in one flat float array laid out for
// FlatDecoder, trained by its hand-written forward and backward and
// FlatAdamW, exported as an F32 llama GGUF.
#include "lab/flat_adamw.hpp"
#include "lab/flat_decoder.hpp"
#include "lab/trainer.hpp"
#include "model/random_model.hpp"
#include "util/error.hpp"
#include "util/parallel.hpp"

#include <dlfcn.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <numbers>
#include <numeric>
#include <random>

namespace compeval {
namespace {

constexpr double kRmsEps = 1e-5;  // what the GGUF says (llama.attention.layer_norm_rms_epsilon)
constexpr double kRopeBase = 10000.0;

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

using Tensor = LabModel::WeightTensor;

// Every weight in the array's order: the token embedding, per layer the two
// norms, q/k/v (one [3d, d] block), the attention output, gate/up (one
// [2ff, d] block), down, then the output norm and the output layer.
std::vector<Tensor> tensors_of(const LabModelShape & s, int n_vocab) {
    std::vector<Tensor> out;
    int64_t offset = 0;
    const auto add = [&](const std::string & name, int64_t rows, int64_t cols) {
        out.push_back({name, offset, rows, cols});
        offset += rows * cols;
    };
    add("token_embd.weight", n_vocab, s.n_embd);
    for (int l = 0; l < s.n_layer; ++l) {
        const std::string blk = "blk." + std::to_string(l) + ".";
        add(blk + "attn_norm.weight", 1, s.n_embd);
        add(blk + "ffn_norm.weight", 1, s.n_embd);
        for (const char * part : {"attn_q", "attn_k", "attn_v", "attn_output"}) {
            add(blk + part + ".weight", s.n_embd, s.n_embd);
        }
        add(blk + "ffn_gate.weight", s.n_ff, s.n_embd);
        add(blk + "ffn_up.weight", s.n_ff, s.n_embd);
        add(blk + "ffn_down.weight", s.n_embd, s.n_ff);
    }
    add("output_norm.weight", 1, s.n_embd);
    add("output.weight", n_vocab, s.n_embd);
    return out;
}

FlatDecoderLayout layout_of(const std::vector<Tensor> & tensors, int n_layer) {
    std::map<std::string, int64_t> at;
    for (const auto & t : tensors) {
        at[t.name] = t.offset;
    }
    FlatDecoderLayout l;
    l.embed = at["token_embd.weight"];
    for (int i = 0; i < n_layer; ++i) {
        const std::string blk = "blk." + std::to_string(i) + ".";
        // q, k, v (and gate, up) lie one after another: one matrix each.
        l.layers.push_back({at[blk + "attn_norm.weight"], at[blk + "ffn_norm.weight"], at[blk + "attn_q.weight"],
                            at[blk + "attn_output.weight"], at[blk + "ffn_gate.weight"], at[blk + "ffn_down.weight"]});
    }
    l.output_norm = at["output_norm.weight"];
    l.output = at["output.weight"];
    return l;
}

// The initial weights, drawn from the seed alone: norms 1, the token
// embedding N(0, 0.02), every linear layer U(-1/sqrt(in), 1/sqrt(in)) (the
// initialization of torch.nn.Embedding after normal_(0, 0.02) and of
// torch.nn.Linear). Uniforms take 53 bits of a 64-bit Mersenne twister; the
// normals come from Box-Muller in double, rounded once to float, so the same
// seed gives the same bytes on every CPU.
std::vector<float> initial_weights(const std::vector<Tensor> & tensors, uint64_t seed) {
    std::mt19937_64 rng(seed);
    const auto uniform01 = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
    std::vector<float> w(static_cast<size_t>(tensors.back().offset + tensors.back().size()));
    for (const auto & t : tensors) {
        float * p = w.data() + t.offset;
        if (t.rows == 1) {  // a norm
            std::fill(p, p + t.size(), 1.0F);
        } else if (t.name == "token_embd.weight") {
            for (int64_t i = 0; i < t.size(); i += 2) {
                const double radius = std::sqrt(-2.0 * std::log(1.0 - uniform01()));
                const double angle = 2.0 * std::numbers::pi * uniform01();
                p[i] = static_cast<float>(0.02 * radius * std::cos(angle));
                if (i + 1 < t.size()) {
                    p[i + 1] = static_cast<float>(0.02 * radius * std::sin(angle));
                }
            }
        } else {
            const double bound = 1.0 / std::sqrt(static_cast<double>(t.cols));
            for (int64_t i = 0; i < t.size(); ++i) {
                p[i] = static_cast<float>(bound * (2.0 * uniform01() - 1.0));
            }
        }
    }
    return w;
}

}  // namespace

struct LabModel::Impl {
    Impl(const LabModelShape & s, int vocab)
        : shape(s),
          n_vocab(vocab),
          tensors(tensors_of(s, vocab)),
          decoder(FlatDecoderShape{s.n_embd, s.n_head, s.n_ff, vocab}, layout_of(tensors, s.n_layer), kRmsEps,
                  kRopeBase) {}
    LabModelShape shape;
    int n_vocab;
    std::vector<Tensor> tensors;
    FlatDecoder decoder;
    std::vector<float> weights;
    std::vector<float> grads;

    double mean_loss(const std::vector<std::vector<int>> & data, int batch) {
        double sum = 0;
        size_t count = 0;
        std::vector<const std::vector<int> *> rows;
        for (size_t first = 0; first < data.size(); first += static_cast<size_t>(batch)) {
            rows.clear();
            for (size_t i = first; i < std::min(data.size(), first + static_cast<size_t>(batch)); ++i) {
                rows.push_back(&data[i]);
            }
            const auto tokens = make_token_batch(rows, WordVocab::bos(), WordVocab::eos());
            sum += decoder.loss_sum(weights.data(), tokens);
            count += tokens.ids.size();
        }
        return count > 0 ? sum / static_cast<double>(count) : 0.0;
    }
};

LabModel::LabModel(const LabModelShape & shape, int n_vocab, uint64_t seed) {
    if (shape.n_embd % shape.n_head != 0 || (shape.n_embd / shape.n_head) % 2 != 0) {
        throw Error("lab model: n_embd must split into heads of even size");
    }
    impl_ = std::make_unique<Impl>(shape, n_vocab);
    impl_->weights = initial_weights(impl_->tensors, seed);
    impl_->grads.assign(impl_->weights.size(), 0.0F);
}
LabModel::~LabModel() = default;
LabModel::LabModel(LabModel && other) noexcept = default;
LabModel & LabModel::operator=(LabModel && other) noexcept = default;

uint64_t LabModel::n_params() const {
    return impl_->weights.size();
}

std::vector<float> & LabModel::weights() {
    return impl_->weights;
}
const std::vector<float> & LabModel::weights() const {
    return impl_->weights;
}

double LabModel::loss_and_gradient(const std::vector<std::vector<int>> & sentences, std::vector<float> & gradient) {
    std::vector<const std::vector<int> *> rows;
    rows.reserve(sentences.size());
    for (const auto & s : sentences) {
        rows.push_back(&s);
    }
    gradient.assign(impl_->weights.size(), 0.0F);
    return impl_->decoder.forward_backward(impl_->weights.data(), gradient.data(),
                                           make_token_batch(rows, WordVocab::bos(), WordVocab::eos()));
}

std::vector<LabModel::WeightTensor> LabModel::weight_tensors() const {
    return impl_->tensors;
}

namespace {

// The baseline: validation tokens under the training unigram distribution (add-one).
double unigram_loss(const std::vector<std::vector<int>> & train, const std::vector<std::vector<int>> & validation,
                    int n_vocab) {
    std::vector<double> counts(static_cast<size_t>(n_vocab), 1.0);
    for (const auto & s : train) {
        for (int id : s) {
            counts[static_cast<size_t>(id)] += 1;
        }
        counts[static_cast<size_t>(WordVocab::eos())] += 1;
    }
    const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
    double loss = 0;
    double n_tokens = 0;
    for (const auto & s : validation) {
        for (int id : s) {
            loss -= std::log(counts[static_cast<size_t>(id)] / total);
        }
        loss -= std::log(counts[static_cast<size_t>(WordVocab::eos())] / total);
        n_tokens += static_cast<double>(s.size() + 1);
    }
    return n_tokens > 0 ? loss / n_tokens : 0.0;
}

// Warmup, then cosine decay to a tenth of the peak.
double learning_rate_at(const TrainConfig & config, int64_t step, int64_t warmup, int64_t total_steps) {
    if (step < warmup) {
        return config.learning_rate * static_cast<double>(step + 1) / static_cast<double>(warmup);
    }
    const double progress =
        static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total_steps - warmup));
    return config.learning_rate * (0.1 + 0.45 * (1.0 + std::cos(std::numbers::pi * progress)));
}

}  // namespace

TrainResult LabModel::train(const std::vector<std::vector<int>> & train,
                            const std::vector<std::vector<int>> & validation, const TrainConfig & config) {
    set_blas_threads(resolve_threads(config.threads));
    auto & m = *impl_;
    TrainResult result;
    result.n_params = n_params();
    result.unigram_loss = unigram_loss(train, validation, m.n_vocab);

    AdamWSettings settings;
    settings.weight_decay = config.weight_decay;
    settings.clip = config.clip;
    FlatAdamW optimizer(m.weights.size(), settings);
    const auto batch_size = static_cast<size_t>(config.batch);
    const auto steps_per_epoch = static_cast<int64_t>((train.size() + batch_size - 1) / batch_size);
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
        double loss_sum = 0;
        double loss_tokens = 0;
        for (size_t first = 0; first < order.size(); first += batch_size) {
            rows.clear();
            for (size_t i = first; i < std::min(order.size(), first + batch_size); ++i) {
                rows.push_back(&train[order[i]]);
            }
            const auto batch = make_token_batch(rows, WordVocab::bos(), WordVocab::eos());
            std::fill(m.grads.begin(), m.grads.end(), 0.0F);
            const double loss = m.decoder.forward_backward(m.weights.data(), m.grads.data(), batch);
            optimizer.step(m.weights.data(), m.grads.data(), learning_rate_at(config, step, warmup, total_steps));
            const auto n = static_cast<double>(batch.ids.size());
            loss_sum += loss * n;
            loss_tokens += n;
            ++step;
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        trained_tokens += loss_tokens;
        trained_seconds += seconds;
        result.epochs.push_back({epoch, loss_sum / loss_tokens, m.mean_loss(validation, config.batch), seconds});
    }
    result.tokens_per_second = trained_seconds > 0 ? trained_tokens / trained_seconds : 0.0;
    return result;
}

std::vector<double> LabModel::token_logprobs(const std::vector<int> & ids) const {
    return impl_->decoder.token_logprobs(impl_->weights.data(),
                                         make_token_batch({&ids}, WordVocab::bos(), WordVocab::eos()));
}

std::string lab_blas_warning() {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    bool blas = false;
    while (std::getline(maps, line)) {
        if (line.find("openblas") != std::string::npos) {
            return "";
        }
        blas = blas || line.find("libblas") != std::string::npos;
    }
    return blas ? "the BLAS library in use is not OpenBLAS (install libopenblas0-pthread): training will be slow" : "";
}

LabModel LabModel::clone() const {
    LabModel copy(impl_->shape, impl_->n_vocab, 0);
    copy.impl_->weights = impl_->weights;
    return copy;
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
    std::map<std::string, const Tensor *> by_name;
    for (const auto & t : impl_->tensors) {
        by_name[t.name] = &t;
    }
    write_model(
        spec,
        [&](size_t, const std::string & tensor_name, int64_t ne0, int64_t ne1, std::vector<float> & values) {
            const auto it = by_name.find(tensor_name);
            if (it == by_name.end() || it->second->size() != ne0 * ne1) {
                throw Error("lab export: no weight for " + tensor_name);
            }
            const float * data = impl_->weights.data() + it->second->offset;
            values.assign(data, data + it->second->size());
        },
        path, metadata);
}

}  // namespace compeval
