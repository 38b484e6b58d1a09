// The machine's matrix-multiplication peak through ggml's CPU backend: the
// roofline the engine's achieved GFLOP/s is read against. Times
// weight x activations products of the kind a transformer's forward pass runs
// (F16 or F32 weights, F32 activations, as llama.cpp's mul_mat takes them).
//
// Usage: compeval_gemm_peak [threads] [--rows M --inner K --tokens N,N,...] [--type f16|f32]
// Prints one line per N: "gemm f16 MxK x KxN threads T: G.GG GFLOP/s"
// and, last, "peak f16 G.GG GFLOP/s" (the best over N).
#include <ggml-cpu.h>
#include <ggml.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
    int threads = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    int64_t rows = 4096;   // output features (M)
    int64_t inner = 4096;  // input features (K)
    std::vector<int64_t> tokens = {64, 256, 512};
    ggml_type type = GGML_TYPE_F16;
};

std::vector<int64_t> parse_list(const std::string & text) {
    std::vector<int64_t> out;
    std::stringstream in(text);
    std::string part;
    while (std::getline(in, part, ',')) {
        out.push_back(std::stoll(part));
    }
    return out;
}

Options parse(int argc, char ** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "compeval_gemm_peak: %s needs a value\n", arg.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--rows") {
            o.rows = std::stoll(next());
        } else if (arg == "--inner") {
            o.inner = std::stoll(next());
        } else if (arg == "--tokens") {
            o.tokens = parse_list(next());
        } else if (arg == "--type") {
            const std::string t = next();
            o.type = t == "f32" ? GGML_TYPE_F32 : GGML_TYPE_F16;
        } else {
            o.threads = std::stoi(arg);
        }
    }
    return o;
}

// Seconds for one product, best of several runs after a warm-up (the best
// is the machine's capability; the others carry other processes' noise).
double time_product(const Options & o, int64_t n_tokens) {
    const size_t weight_bytes = static_cast<size_t>(o.rows * o.inner) * ggml_type_size(o.type);
    const size_t act_bytes = static_cast<size_t>(o.inner * n_tokens + o.rows * n_tokens) * sizeof(float);
    ggml_init_params params{
        weight_bytes + act_bytes + 64 * ggml_tensor_overhead() + ggml_graph_overhead() + (size_t{64} << 20), nullptr,
        false};
    ggml_context * ctx = ggml_init(params);
    ggml_tensor * w = ggml_new_tensor_2d(ctx, o.type, o.inner, o.rows);
    ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, o.inner, n_tokens);
    // Small deterministic values: the timing does not depend on them, but
    // denormals or NaNs could.
    auto * xs = static_cast<float *>(x->data);
    for (int64_t i = 0; i < o.inner * n_tokens; ++i) {
        xs[i] = static_cast<float>((i * 7919) % 1000) * 1e-3F - 0.5F;
    }
    if (o.type == GGML_TYPE_F16) {
        auto * ws = static_cast<ggml_fp16_t *>(w->data);
        for (int64_t i = 0; i < o.rows * o.inner; ++i) {
            ws[i] = ggml_fp32_to_fp16(static_cast<float>((i * 104729) % 1000) * 1e-4F - 0.05F);
        }
    } else {
        auto * ws = static_cast<float *>(w->data);
        for (int64_t i = 0; i < o.rows * o.inner; ++i) {
            ws[i] = static_cast<float>((i * 104729) % 1000) * 1e-4F - 0.05F;
        }
    }
    ggml_tensor * y = ggml_mul_mat(ctx, w, x);
    ggml_cgraph * graph = ggml_new_graph(ctx);
    ggml_build_forward_expand(graph, y);
    double best = 1e30;
    for (int run = 0; run < 6; ++run) {
        const auto start = std::chrono::steady_clock::now();
        ggml_graph_compute_with_ctx(ctx, graph, o.threads);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (run > 0) {
            best = std::min(best, s);
        }
    }
    ggml_free(ctx);
    return best;
}

}  // namespace

int main(int argc, char ** argv) {
    const Options o = parse(argc, argv);
    const char * type = o.type == GGML_TYPE_F16 ? "f16" : "f32";
    double peak = 0.0;
    for (const int64_t n : o.tokens) {
        const double seconds = time_product(o, n);
        const double gflops = 2.0 * static_cast<double>(o.rows * o.inner * n) / seconds / 1e9;
        peak = std::max(peak, gflops);
        std::printf("gemm %s %lldx%lld x %lldx%lld threads %d: %.2f GFLOP/s\n", type, static_cast<long long>(o.rows),
                    static_cast<long long>(o.inner), static_cast<long long>(o.inner), static_cast<long long>(n),
                    o.threads, gflops);
    }
    std::printf("peak %s %.2f GFLOP/s\n", type, peak);
    return 0;
}
