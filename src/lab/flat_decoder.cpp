#include "lab/flat_decoder.hpp"

#include "util/fixed_order_sum.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>

namespace compeval {
namespace {

// Y[n, out] = X[n, in] * W[out, in]^T (+ Y when accumulate).
void linear(const float * x, const float * w, float * y, int n, int in, int out, bool accumulate = false) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0F, x, in, w, in, accumulate ? 1.0F : 0.0F, y,
                out);
}

// dX[n, in] (+)= dY[n, out] * W[out, in]; dW[out, in] += dY^T * X.
void linear_backward(const float * x, const float * w, const float * dy, float * dx, float * dw, int n, int in, int out,
                     bool accumulate_dx) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0F, dy, out, w, in,
                accumulate_dx ? 1.0F : 0.0F, dx, in);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0F, dy, out, x, in, 1.0F, dw, in);
}

// y = x * r * g with r = 1 / sqrt(mean(x^2) + eps), per row of d.
void rms_norm(const float * x, const float * g, float * r, float * y, int n, int d, float eps) {
    for (int t = 0; t < n; ++t) {
        const float * xt = x + static_cast<ptrdiff_t>(t) * d;
        float sum = 0;
        for (int k = 0; k < d; ++k) {
            sum += xt[k] * xt[k];
        }
        r[t] = 1.0F / std::sqrt(sum / static_cast<float>(d) + eps);
        float * yt = y + static_cast<ptrdiff_t>(t) * d;
        for (int k = 0; k < d; ++k) {
            yt[k] = xt[k] * r[t] * g[k];
        }
    }
}

// dx (+)= d(rms_norm)/dx * dy, dg += d/dg: with u = dy * g,
// dx = r u - x r^3 (u . x) / d.
void rms_norm_backward(const float * x, const float * g, const float * r, const float * dy, float * dx, float * dg,
                       int n, int d, bool accumulate_dx) {
    for (int t = 0; t < n; ++t) {
        const float * xt = x + static_cast<ptrdiff_t>(t) * d;
        const float * dyt = dy + static_cast<ptrdiff_t>(t) * d;
        float * dxt = dx + static_cast<ptrdiff_t>(t) * d;
        float dot = 0;
        for (int k = 0; k < d; ++k) {
            dot += dyt[k] * g[k] * xt[k];
            dg[k] += dyt[k] * xt[k] * r[t];
        }
        const float c = r[t] * r[t] * r[t] * dot / static_cast<float>(d);
        for (int k = 0; k < d; ++k) {
            const float v = r[t] * dyt[k] * g[k] - xt[k] * c;
            dxt[k] = accumulate_dx ? dxt[k] + v : v;
        }
    }
}

// e^x as a polynomial the compiler vectorizes: glibc's expf is one call per
// element, and the softmax over the vocabulary and the SiLU gates spent most
// of a small model's step in it. Cephes' expf (relative error below 2e-7),
// with the input clamped to where a float e^x is finite.
[[gnu::always_inline]] inline float exp_poly(float x) {
    x = x < -87.0F ? -87.0F : x;
    x = x > 88.0F ? 88.0F : x;
    const float fx = x * 1.44269504088896341F + 0.5F;
    auto n = static_cast<int32_t>(fx);
    n = static_cast<float>(n) > fx ? n - 1 : n;  // floor
    const auto nf = static_cast<float>(n);
    x = x - nf * 0.693359375F + nf * 2.12194440e-4F;
    float y = 1.9875691500e-4F;
    y = y * x + 1.3981999507e-3F;
    y = y * x + 8.3334519073e-3F;
    y = y * x + 4.1665795894e-2F;
    y = y * x + 1.6666665459e-1F;
    y = y * x + 5.0000001201e-1F;
    y = y * x * x + x + 1.0F;
    const int32_t bits = (n + 127) << 23;  // 2^n
    float scale = 0;
    std::memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

[[gnu::always_inline]] inline float sigmoid(float x) {
    return 1.0F / (1.0F + exp_poly(-x));
}

}  // namespace

TokenBatch make_token_batch(const std::vector<const std::vector<int> *> & sentences, int bos, int eos) {
    TokenBatch batch;
    batch.starts.push_back(0);
    for (const auto * s : sentences) {
        batch.ids.push_back(bos);
        batch.ids.insert(batch.ids.end(), s->begin(), s->end());
        batch.targets.insert(batch.targets.end(), s->begin(), s->end());
        batch.targets.push_back(eos);
        batch.starts.push_back(static_cast<int>(batch.ids.size()));
    }
    return batch;
}

FlatDecoder::FlatDecoder(const FlatDecoderShape & shape, FlatDecoderLayout layout, double rms_eps, double rope_base)
    : shape_(shape),
      layout_(std::move(layout)),
      rms_eps_(static_cast<float>(rms_eps)),
      rope_base_(rope_base),
      states_(layout_.layers.size()) {}

void FlatDecoder::prepare(const TokenBatch & batch) {
    const int hd = shape_.n_embd / shape_.n_head;
    const int half = hd / 2;
    positions_.resize(batch.ids.size());
    prob_offsets_.assign(1, 0);
    int longest = 0;
    for (size_t s = 0; s + 1 < batch.starts.size(); ++s) {
        const int len = batch.starts[s + 1] - batch.starts[s];
        for (int i = 0; i < len; ++i) {
            positions_[static_cast<size_t>(batch.starts[s]) + static_cast<size_t>(i)] = i;
        }
        longest = std::max(longest, len);
        prob_offsets_.push_back(prob_offsets_.back() + static_cast<int64_t>(len) * len * shape_.n_head);
    }
    // The rotation angles, in float.
    for (auto p = static_cast<int>(cos_.size() / static_cast<size_t>(half)); p < longest; ++p) {
        for (int i = 0; i < half; ++i) {
            const float inv =
                std::pow(static_cast<float>(rope_base_), -static_cast<float>(2 * i) / static_cast<float>(hd));
            const float angle = static_cast<float>(p) * inv;
            cos_.push_back(std::cos(angle));
            sin_.push_back(std::sin(angle));
        }
    }
}

// Rotates q and k (the first 2d columns of each qkv row) in place by their
// position; inverse applies the transpose (backward through the rotation).
void FlatDecoder::rope(float * qkv, bool inverse) const {
    const ptrdiff_t d = shape_.n_embd;
    const ptrdiff_t heads = shape_.n_head;
    const ptrdiff_t half = d / heads / 2;
    const float sign = inverse ? -1.0F : 1.0F;
    for (size_t t = 0; t < positions_.size(); ++t) {
        float * row = qkv + static_cast<ptrdiff_t>(t) * 3 * d;
        const float * c = cos_.data() + static_cast<ptrdiff_t>(positions_[t]) * half;
        const float * s = sin_.data() + static_cast<ptrdiff_t>(positions_[t]) * half;
        // The heads of q, then those of k: pairs (2i, 2i+1) of each.
        for (ptrdiff_t h = 0; h < 2 * heads; ++h) {
            float * head = row + h * 2 * half;
            for (ptrdiff_t i = 0; i < half; ++i) {
                const float a = head[2 * i];
                const float b = head[2 * i + 1];
                const float si = sign * s[i];
                head[2 * i] = a * c[i] - b * si;
                head[2 * i + 1] = a * si + b * c[i];
            }
        }
    }
}

// Causal attention within each sentence: probs and the heads' outputs.
void FlatDecoder::attention_forward(LayerState & st, const TokenBatch & batch) {
    const ptrdiff_t d = shape_.n_embd;
    const ptrdiff_t heads = shape_.n_head;
    const ptrdiff_t hd = d / heads;
    const float scale = 1.0F / std::sqrt(static_cast<float>(hd));
    st.probs.resize(static_cast<size_t>(prob_offsets_.back()));
    std::fill(st.att.begin(), st.att.end(), 0.0F);
    for (size_t s = 0; s + 1 < batch.starts.size(); ++s) {
        const ptrdiff_t first = batch.starts[s];
        const ptrdiff_t len = batch.starts[s + 1] - first;
        for (ptrdiff_t h = 0; h < heads; ++h) {
            float * p = st.probs.data() + prob_offsets_[s] + static_cast<ptrdiff_t>(h) * len * len;
            for (ptrdiff_t i = 0; i < len; ++i) {
                const float * q = st.qkv.data() + static_cast<ptrdiff_t>(first + i) * 3 * d + h * hd;
                float * pi = p + static_cast<ptrdiff_t>(i) * len;
                float top = -INFINITY;
                for (ptrdiff_t j = 0; j <= i; ++j) {
                    const float * k = st.qkv.data() + static_cast<ptrdiff_t>(first + j) * 3 * d + d + h * hd;
                    float dot = 0;
                    for (ptrdiff_t e = 0; e < hd; ++e) {
                        dot += q[e] * k[e];
                    }
                    pi[j] = dot * scale;
                    top = std::max(top, pi[j]);
                }
                float sum = 0;
                for (ptrdiff_t j = 0; j <= i; ++j) {
                    pi[j] = exp_poly(pi[j] - top);
                    sum += pi[j];
                }
                float * out = st.att.data() + static_cast<ptrdiff_t>(first + i) * d + h * hd;
                for (ptrdiff_t j = 0; j <= i; ++j) {
                    pi[j] /= sum;
                    const float * v = st.qkv.data() + static_cast<ptrdiff_t>(first + j) * 3 * d + 2 * d + h * hd;
                    for (ptrdiff_t e = 0; e < hd; ++e) {
                        out[e] += pi[j] * v[e];
                    }
                }
            }
        }
    }
}

// datt_ (the gradient at the heads' outputs) -> dqkv_ (before the rotation
// is undone).
void FlatDecoder::attention_backward(const LayerState & st, const TokenBatch & batch) {
    const ptrdiff_t d = shape_.n_embd;
    const ptrdiff_t heads = shape_.n_head;
    const ptrdiff_t hd = d / heads;
    const float scale = 1.0F / std::sqrt(static_cast<float>(hd));
    std::fill(dqkv_.begin(), dqkv_.end(), 0.0F);
    auto & dp = dp_;
    for (size_t s = 0; s + 1 < batch.starts.size(); ++s) {
        const ptrdiff_t first = batch.starts[s];
        const ptrdiff_t len = batch.starts[s + 1] - first;
        dp.resize(static_cast<size_t>(len));
        for (ptrdiff_t h = 0; h < heads; ++h) {
            const float * p = st.probs.data() + prob_offsets_[s] + static_cast<ptrdiff_t>(h) * len * len;
            for (ptrdiff_t i = 0; i < len; ++i) {
                const float * pi = p + static_cast<ptrdiff_t>(i) * len;
                const float * dout = datt_.data() + static_cast<ptrdiff_t>(first + i) * d + h * hd;
                float weighted = 0;
                for (ptrdiff_t j = 0; j <= i; ++j) {
                    const auto row = static_cast<ptrdiff_t>(first + j) * 3 * d + h * hd;
                    const float * v = st.qkv.data() + row + 2 * d;
                    float * dv = dqkv_.data() + row + 2 * d;
                    float dot = 0;
                    for (ptrdiff_t e = 0; e < hd; ++e) {
                        dot += dout[e] * v[e];
                        dv[e] += pi[j] * dout[e];
                    }
                    dp[static_cast<size_t>(j)] = dot;
                    weighted += pi[j] * dot;
                }
                const float * q = st.qkv.data() + static_cast<ptrdiff_t>(first + i) * 3 * d + h * hd;
                float * dq = dqkv_.data() + static_cast<ptrdiff_t>(first + i) * 3 * d + h * hd;
                for (ptrdiff_t j = 0; j <= i; ++j) {
                    const float ds = pi[j] * (dp[static_cast<size_t>(j)] - weighted) * scale;
                    const auto row = static_cast<ptrdiff_t>(first + j) * 3 * d + h * hd;
                    const float * k = st.qkv.data() + row + d;
                    float * dk = dqkv_.data() + row + d;
                    for (ptrdiff_t e = 0; e < hd; ++e) {
                        dq[e] += ds * k[e];
                        dk[e] += ds * q[e];
                    }
                }
            }
        }
    }
}

void FlatDecoder::forward_logits(const float * w, const TokenBatch & batch) {
    prepare(batch);
    const int n = static_cast<int>(batch.ids.size());
    const int d = shape_.n_embd;
    const int ff = shape_.n_ff;
    const int vocab = shape_.n_vocab;
    const auto size = [&](int cols) { return static_cast<size_t>(n) * static_cast<size_t>(cols); };
    // x_out_ carries the residual stream through the layers.
    auto & x = x_out_;
    x.resize(size(d));
    for (int t = 0; t < n; ++t) {
        const float * e = w + layout_.embed + static_cast<ptrdiff_t>(batch.ids[static_cast<size_t>(t)]) * d;
        std::copy(e, e + d, x.begin() + static_cast<ptrdiff_t>(t) * d);
    }
    for (size_t l = 0; l < layout_.layers.size(); ++l) {
        const auto & L = layout_.layers[l];
        auto & st = states_[l];
        st.x = x;
        st.r1.resize(size(1));
        st.h1.resize(size(d));
        st.qkv.resize(size(3 * d));
        st.att.resize(size(d));
        st.r2.resize(size(1));
        st.h2.resize(size(d));
        st.gu.resize(size(2 * ff));
        st.act.resize(size(ff));
        rms_norm(st.x.data(), w + L.attn_norm, st.r1.data(), st.h1.data(), n, d, rms_eps_);
        linear(st.h1.data(), w + L.qkv, st.qkv.data(), n, d, 3 * d);
        rope(st.qkv.data(), false);
        attention_forward(st, batch);
        linear(st.att.data(), w + L.wo, x.data(), n, d, d, true);
        st.x_mid = x;
        rms_norm(st.x_mid.data(), w + L.ffn_norm, st.r2.data(), st.h2.data(), n, d, rms_eps_);
        linear(st.h2.data(), w + L.gate_up, st.gu.data(), n, d, 2 * ff);
        for (int t = 0; t < n; ++t) {
            const float * g = st.gu.data() + static_cast<ptrdiff_t>(t) * 2 * ff;
            float * a = st.act.data() + static_cast<ptrdiff_t>(t) * ff;
            for (int k = 0; k < ff; ++k) {
                a[k] = g[k] * sigmoid(g[k]) * g[ff + k];
            }
        }
        linear(st.act.data(), w + L.down, x.data(), n, ff, d, true);
    }
    r_out_.resize(size(1));
    h_out_.resize(size(d));
    logits_.resize(size(vocab));
    rms_norm(x_out_.data(), w + layout_.output_norm, r_out_.data(), h_out_.data(), n, d, rms_eps_);
    linear(h_out_.data(), w + layout_.output, logits_.data(), n, d, vocab);
}

double FlatDecoder::forward(const float * w, const TokenBatch & batch) {
    forward_logits(w, batch);
    const int n = static_cast<int>(batch.ids.size());
    const int vocab = shape_.n_vocab;
    // Softmax in place; the summed loss.
    double loss = 0;
    for (int t = 0; t < n; ++t) {
        float * z = logits_.data() + static_cast<ptrdiff_t>(t) * vocab;
        const float top = *std::max_element(z, z + vocab);
        const float target = z[batch.targets[static_cast<size_t>(t)]];
        for (int k = 0; k < vocab; ++k) {
            z[k] = exp_poly(z[k] - top);
        }
        const auto sum = fixed_order_sum<float>(static_cast<size_t>(vocab), [z](size_t k) { return z[k]; });
        loss += static_cast<double>(top + std::log(sum) - target);
        const float inv = 1.0F / sum;
        for (int k = 0; k < vocab; ++k) {
            z[k] *= inv;
        }
    }
    return loss;
}

double FlatDecoder::loss_sum(const float * params, const TokenBatch & batch) {
    return forward(params, batch);
}

std::vector<double> FlatDecoder::token_logprobs(const float * params, const TokenBatch & batch) {
    forward_logits(params, batch);
    const auto vocab = static_cast<size_t>(shape_.n_vocab);
    std::vector<double> out;
    out.reserve(batch.targets.size());
    for (size_t t = 0; t < batch.targets.size(); ++t) {
        const float * z = logits_.data() + t * vocab;
        const double top = *std::max_element(z, z + vocab);
        double sum = 0;
        for (size_t k = 0; k < vocab; ++k) {
            sum += std::exp(static_cast<double>(z[k]) - top);
        }
        // The largest logit adds exp(0) = 1, so the sum is at least 1 (the
        // max only says so to a reader that cannot see it).
        out.push_back(static_cast<double>(z[batch.targets[t]]) - top - std::log(std::max(sum, 1.0)));
    }
    return out;
}

double FlatDecoder::forward_backward(const float * w, float * g, const TokenBatch & batch) {
    const double loss = forward(w, batch);
    const int n = static_cast<int>(batch.ids.size());
    if (n == 0) {
        return 0.0;
    }
    const int d = shape_.n_embd;
    const int ff = shape_.n_ff;
    const int vocab = shape_.n_vocab;
    const auto size = [&](int cols) { return static_cast<size_t>(n) * static_cast<size_t>(cols); };
    // d(mean loss)/d(logits) = (softmax - onehot) / n, in logits_.
    const float inv_n = 1.0F / static_cast<float>(n);
    for (int t = 0; t < n; ++t) {
        float * z = logits_.data() + static_cast<ptrdiff_t>(t) * vocab;
        z[batch.targets[static_cast<size_t>(t)]] -= 1.0F;
        for (int k = 0; k < vocab; ++k) {
            z[k] *= inv_n;
        }
    }
    dx_.resize(size(d));
    dh_.resize(size(d));
    dqkv_.resize(size(3 * d));
    datt_.resize(size(d));
    dgu_.resize(size(2 * ff));
    dact_.resize(size(ff));
    linear_backward(h_out_.data(), w + layout_.output, logits_.data(), dh_.data(), g + layout_.output, n, d, vocab,
                    false);
    rms_norm_backward(x_out_.data(), w + layout_.output_norm, r_out_.data(), dh_.data(), dx_.data(),
                      g + layout_.output_norm, n, d, false);
    for (size_t l = layout_.layers.size(); l-- > 0;) {
        const auto & L = layout_.layers[l];
        const auto & st = states_[l];
        // The feed-forward half: dx_ is the gradient at the layer's output.
        linear_backward(st.act.data(), w + L.down, dx_.data(), dact_.data(), g + L.down, n, ff, d, false);
        for (int t = 0; t < n; ++t) {
            const float * gu = st.gu.data() + static_cast<ptrdiff_t>(t) * 2 * ff;
            const float * da = dact_.data() + static_cast<ptrdiff_t>(t) * ff;
            float * dgu = dgu_.data() + static_cast<ptrdiff_t>(t) * 2 * ff;
            for (int k = 0; k < ff; ++k) {
                const float sg = sigmoid(gu[k]);
                dgu[k] = da[k] * gu[ff + k] * sg * (1.0F + gu[k] * (1.0F - sg));
                dgu[ff + k] = da[k] * gu[k] * sg;
            }
        }
        linear_backward(st.h2.data(), w + L.gate_up, dgu_.data(), dh_.data(), g + L.gate_up, n, d, 2 * ff, false);
        rms_norm_backward(st.x_mid.data(), w + L.ffn_norm, st.r2.data(), dh_.data(), dx_.data(), g + L.ffn_norm, n, d,
                          true);
        // The attention half.
        linear_backward(st.att.data(), w + L.wo, dx_.data(), datt_.data(), g + L.wo, n, d, d, false);
        attention_backward(st, batch);
        rope(dqkv_.data(), true);
        linear_backward(st.h1.data(), w + L.qkv, dqkv_.data(), dh_.data(), g + L.qkv, n, d, 3 * d, false);
        rms_norm_backward(st.x.data(), w + L.attn_norm, st.r1.data(), dh_.data(), dx_.data(), g + L.attn_norm, n, d,
                          true);
    }
    for (int t = 0; t < n; ++t) {
        float * e = g + layout_.embed + static_cast<ptrdiff_t>(batch.ids[static_cast<size_t>(t)]) * d;
        const float * dxt = dx_.data() + static_cast<ptrdiff_t>(t) * d;
        for (int k = 0; k < d; ++k) {
            e[k] += dxt[k];
        }
    }
    return loss / static_cast<double>(n);
}

}  // namespace compeval
