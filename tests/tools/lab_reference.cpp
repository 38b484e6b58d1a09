// Writes tests/data/lab-reference.json: what libtorch's autograd and
// torch::optim::AdamW (after clip_grad_norm_) compute on the lab's model, from
// the same initial weights the lab's own trainer starts from. The tests hold
// the hand-written trainer (FlatDecoder, FlatAdamW) to these values, so the
// project needs libtorch only to write them again, here:
//
//   apt-get install libtorch-dev
//   cmake -S . -B build-ref -DCOMPEVAL_LAB_REFERENCE=ON && cmake --build build-ref --target compeval_lab_reference
//   build-ref/tests/compeval_lab_reference tests/data/lab-reference.json
//
// The decoder below is the one the lab trained with libtorch until the
// hand-written loop replaced it (llama.cpp's layout: RMSNorm, rotary
// positions on adjacent pairs, SwiGLU, no biases).
#include "lab_reference_cases.hpp"
#include "util/sha256.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <random>

namespace {

using namespace compeval;

constexpr double kRmsEps = 1e-5;
constexpr double kRopeBase = 10000.0;
constexpr int64_t kIgnore = -100;

torch::Tensor rms_norm(const torch::Tensor & x, const torch::Tensor & weight) {
    return x * torch::rsqrt(x.pow(2).mean(-1, true) + kRmsEps) * weight;
}

torch::Tensor rope(const torch::Tensor & x, const torch::Tensor & cos, const torch::Tensor & sin) {
    const auto s = x.sizes();  // [B, T, H, D]
    auto pairs = x.reshape({s[0], s[1], s[2], s[3] / 2, 2});
    auto even = pairs.select(-1, 0);
    auto odd = pairs.select(-1, 1);
    auto c = cos.unsqueeze(0).unsqueeze(2);
    auto n = sin.unsqueeze(0).unsqueeze(2);
    return torch::stack({even * c - odd * n, even * n + odd * c}, -1).reshape(s);
}

// The model's weights as torch tensors, one per GGUF tensor, copied from the
// lab model's flat array.
struct Decoder {
    LabModelShape shape;
    std::map<std::string, torch::Tensor> w;

    Decoder(const LabModel & model, const LabModelShape & s) : shape(s) {
        for (const auto & t : model.weight_tensors()) {
            auto tensor = torch::from_blob(const_cast<float *>(model.weights().data() + t.offset), {t.rows, t.cols},
                                           torch::kFloat32)
                              .clone();
            if (t.rows == 1) {
                tensor = tensor.reshape({t.cols});
            }
            w[t.name] = tensor.set_requires_grad(true);
        }
    }

    std::vector<torch::Tensor> parameters() const {
        std::vector<torch::Tensor> out;
        for (const auto & [name, t] : w) {
            out.push_back(t);
        }
        return out;
    }

    torch::Tensor linear(const torch::Tensor & x, const std::string & name) const {
        return torch::matmul(x, w.at(name).t());
    }

    torch::Tensor forward(const torch::Tensor & ids) const {
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
        auto x = torch::embedding(w.at("token_embd.weight"), ids);
        for (int l = 0; l < shape.n_layer; ++l) {
            const std::string blk = "blk." + std::to_string(l) + ".";
            auto h = rms_norm(x, w.at(blk + "attn_norm.weight"));
            auto q = rope(linear(h, blk + "attn_q.weight").view({b, t, heads, hd}), cos, sin).transpose(1, 2);
            auto k = rope(linear(h, blk + "attn_k.weight").view({b, t, heads, hd}), cos, sin).transpose(1, 2);
            auto v = linear(h, blk + "attn_v.weight").view({b, t, heads, hd}).transpose(1, 2);
            auto att = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(hd)) + mask;
            auto out = torch::matmul(torch::softmax(att, -1), v).transpose(1, 2).reshape({b, t, shape.n_embd});
            x = x + linear(out, blk + "attn_output.weight");
            h = rms_norm(x, w.at(blk + "ffn_norm.weight"));
            x = x + linear(torch::silu(linear(h, blk + "ffn_gate.weight")) * linear(h, blk + "ffn_up.weight"),
                           blk + "ffn_down.weight");
        }
        return linear(rms_norm(x, w.at("output_norm.weight")), "output.weight");
    }
};

struct Batch {
    torch::Tensor inputs;
    torch::Tensor targets;
    int64_t n_targets = 0;
};

Batch make_batch(const std::vector<const std::vector<int> *> & sentences) {
    size_t longest = 0;
    int64_t n_targets = 0;
    for (const auto * s : sentences) {
        longest = std::max(longest, s->size() + 1);
        n_targets += static_cast<int64_t>(s->size()) + 1;
    }
    const int eos = WordVocab::eos();
    auto inputs =
        torch::full({static_cast<int64_t>(sentences.size()), static_cast<int64_t>(longest)}, eos, torch::kInt64);
    auto targets = torch::full_like(inputs, kIgnore);
    auto in = inputs.accessor<int64_t, 2>();
    auto tg = targets.accessor<int64_t, 2>();
    for (size_t r = 0; r < sentences.size(); ++r) {
        const auto & s = *sentences[r];
        const auto row = static_cast<int64_t>(r);
        in[row][0] = WordVocab::bos();
        for (size_t i = 0; i < s.size(); ++i) {
            in[row][static_cast<int64_t>(i + 1)] = s[i];
            tg[row][static_cast<int64_t>(i)] = s[i];
        }
        tg[row][static_cast<int64_t>(s.size())] = eos;
    }
    return {inputs, targets, n_targets};
}

torch::Tensor mean_loss(const Decoder & model, const Batch & batch, int vocab) {
    return torch::nn::functional::cross_entropy(model.forward(batch.inputs).reshape({-1, vocab}),
                                                batch.targets.reshape({-1}),
                                                torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnore));
}

// The loss and the gradient in the flat array's order (LabModel::weights()).
std::pair<double, std::vector<float>> loss_and_gradient(Decoder & model, const LabModel & lab,
                                                        const std::vector<std::vector<int>> & sentences, int vocab) {
    std::vector<const std::vector<int> *> rows;
    for (const auto & s : sentences) {
        rows.push_back(&s);
    }
    for (auto & p : model.parameters()) {
        p.mutable_grad() = torch::Tensor();
    }
    auto loss = mean_loss(model, make_batch(rows), vocab);
    loss.backward();
    std::vector<float> gradient(lab.weights().size());
    for (const auto & t : lab.weight_tensors()) {
        const auto g = model.w.at(t.name).grad().contiguous();
        std::copy_n(g.data_ptr<float>(), t.size(), gradient.begin() + t.offset);
    }
    return {loss.item<double>(), gradient};
}

// The lab trainer's schedule and batches (lab_model.cpp) with
// torch::optim::AdamW and clip_grad_norm_ over each tensor.
std::vector<std::pair<double, double>> train(Decoder & model, const std::vector<std::vector<int>> & train_set,
                                             const std::vector<std::vector<int>> & validation,
                                             const TrainConfig & config, int vocab) {
    torch::optim::AdamW optimizer(model.parameters(), torch::optim::AdamWOptions(config.learning_rate)
                                                          .betas({0.9, 0.95})
                                                          .eps(1e-8)
                                                          .weight_decay(config.weight_decay));
    const auto batch_size = static_cast<size_t>(config.batch);
    const auto steps_per_epoch = static_cast<int64_t>((train_set.size() + batch_size - 1) / batch_size);
    const int64_t total_steps = steps_per_epoch * config.epochs;
    const auto warmup =
        std::max<int64_t>(1, static_cast<int64_t>(config.warmup_share * static_cast<double>(total_steps)));
    std::vector<size_t> order(train_set.size());
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 shuffle_rng(config.seed);
    int64_t step = 0;
    std::vector<std::pair<double, double>> epochs;
    for (int epoch = 1; epoch <= config.epochs; ++epoch) {
        std::shuffle(order.begin(), order.end(), shuffle_rng);
        double loss_sum = 0;
        double tokens = 0;
        for (size_t first = 0; first < order.size(); first += batch_size) {
            std::vector<const std::vector<int> *> rows;
            for (size_t i = first; i < std::min(order.size(), first + batch_size); ++i) {
                rows.push_back(&train_set[order[i]]);
            }
            const double progress = static_cast<double>(std::max<int64_t>(0, step - warmup)) /
                                    static_cast<double>(std::max<int64_t>(1, total_steps - warmup));
            const double lr = step < warmup
                                  ? config.learning_rate * static_cast<double>(step + 1) / static_cast<double>(warmup)
                                  : config.learning_rate * (0.1 + 0.45 * (1.0 + std::cos(M_PI * progress)));
            for (auto & group : optimizer.param_groups()) {
                // NOLINTNEXTLINE(cppcoreguidelines-pro-type-static-cast-downcast)
                static_cast<torch::optim::AdamWOptions &>(group.options()).lr(lr);
            }
            optimizer.zero_grad();
            const auto batch = make_batch(rows);
            auto loss = mean_loss(model, batch, vocab);
            loss.backward();
            torch::nn::utils::clip_grad_norm_(model.parameters(), config.clip);
            optimizer.step();
            loss_sum += loss.item<double>() * static_cast<double>(batch.n_targets);
            tokens += static_cast<double>(batch.n_targets);
            ++step;
        }
        torch::NoGradGuard no_grad;
        double validation_sum = 0;
        double validation_tokens = 0;
        for (size_t first = 0; first < validation.size(); first += batch_size) {
            std::vector<const std::vector<int> *> rows;
            for (size_t i = first; i < std::min(validation.size(), first + batch_size); ++i) {
                rows.push_back(&validation[i]);
            }
            const auto batch = make_batch(rows);
            validation_sum += mean_loss(model, batch, vocab).item<double>() * static_cast<double>(batch.n_targets);
            validation_tokens += static_cast<double>(batch.n_targets);
        }
        epochs.emplace_back(loss_sum / tokens, validation_sum / validation_tokens);
    }
    return epochs;
}

std::vector<double> token_logprobs(const Decoder & model, const std::vector<int> & ids) {
    torch::NoGradGuard no_grad;
    const auto batch = make_batch({&ids});
    auto logp = torch::log_softmax(model.forward(batch.inputs).to(torch::kFloat64), -1)[0];
    std::vector<double> out;
    for (size_t i = 0; i <= ids.size(); ++i) {
        const int64_t target = i < ids.size() ? ids[i] : WordVocab::eos();
        out.push_back(logp[static_cast<int64_t>(i)][target].item<double>());
    }
    return out;
}

// A gradient as the tests read it: each tensor's L2 norm and sum (every
// element counts) and every kStride-th element of the flat array.
constexpr size_t kStride = 11;

// A float as the nine digits that give it back (a shorter file than the
// seventeen of the double it widens to).
double nine_digits(float value) {
    return std::stod(fmt::format("{:.9g}", value));
}

nlohmann::json gradient_json(const LabModel & lab, const std::vector<float> & gradient) {
    nlohmann::json out;
    for (const auto & t : lab.weight_tensors()) {
        const auto sums = test::tensor_sums(gradient, t);
        out["tensors"][t.name] = {{"norm", sums.norm}, {"sum", sums.sum}};
    }
    out["stride"] = kStride;
    for (size_t i = 0; i < gradient.size(); i += kStride) {
        out["elements"].push_back(nine_digits(gradient[i]));
    }
    return out;
}

nlohmann::json epochs_json(const std::vector<std::pair<double, double>> & epochs) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto & [train_loss, validation_loss] : epochs) {
        out.push_back({{"train_loss", train_loss}, {"validation_loss", validation_loss}});
    }
    return out;
}

}  // namespace

int main(int argc, char ** argv) {
    if (argc != 2) {
        std::cerr << "usage: compeval_lab_reference OUT.json\n";
        return 2;
    }
    torch::set_num_threads(1);
    nlohmann::json out;
    out["written_by"] = "tests/tools/lab_reference.cpp, libtorch " TORCH_VERSION;

    const auto g = test::gradient_case();
    LabModel lab(g.shape, g.vocab, g.seed);
    out["gradient"]["initial_weights_sha256"] = sha256_string(
        std::string(reinterpret_cast<const char *>(lab.weights().data()), lab.weights().size() * sizeof(float)));
    Decoder model(lab, g.shape);
    const auto [loss, gradient] = loss_and_gradient(model, lab, g.sentences, g.vocab);
    out["gradient"]["initial"] = {{"loss", loss}, {"gradient", gradient_json(lab, gradient)}};
    test::perturb_weights(lab.weights());
    Decoder moved(lab, g.shape);
    const auto [moved_loss, moved_gradient] = loss_and_gradient(moved, lab, g.sentences, g.vocab);
    out["gradient"]["perturbed"] = {{"loss", moved_loss}, {"gradient", gradient_json(lab, moved_gradient)}};

    const uint64_t seed = 5;
    const auto c = test::loop_case(seed);
    const LabModel start(c.shape, static_cast<int>(c.vocab.size()), seed);
    Decoder loop_model(start, c.shape);
    const int vocab = static_cast<int>(c.vocab.size());
    out["loop"]["seed"] = seed;
    out["loop"]["epochs"] = epochs_json(train(loop_model, c.train, c.validation, c.config, vocab));
    for (const auto & probe : c.probes) {
        out["loop"]["probe_logprobs"].push_back(token_logprobs(loop_model, probe));
    }
    std::ofstream(argv[1]) << out.dump(1) << '\n';
    std::cout << "wrote " << argv[1] << "\n";
    return 0;
}
