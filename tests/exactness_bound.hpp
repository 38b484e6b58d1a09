#pragma once
// What the exactness tests hold the engine to: a bound that follows how far
// llama.cpp itself moves the same requests on the machine the test runs on.
// A constant alone would hold only on the CPU it was measured on: on a CPU
// with AVX512-FP16, llama.cpp's own F16 arithmetic drifts twice as far as on
// one without (docs/exactness.md).
#include "backends/model.hpp"
#include "scoring/requests.hpp"

#include <string>
#include <vector>

namespace compeval::test {

// The requests scored by llama.cpp alone as a server's slots would run them:
// each request its own sequence (no prefix shared), up to `sequences` of them
// in flight, every decode taking the next tokens of each request in flight in
// turn, up to `batch` tokens; a finished request's sequence takes the next.
// F32 KV cache, no flash attention, no padding, log-softmax in double.
std::vector<LoglikelihoodResult> llama_batched_loglikelihood(const Model & model,
                                                             const std::vector<TokenizedRequest> & requests, int batch,
                                                             int threads, int sequences);

// max |a - b| over the requests' summed log-probabilities.
double max_logprob_difference(const std::vector<LoglikelihoodResult> & a, const std::vector<LoglikelihoodResult> & b);

struct ExactnessBound {
    double floor = 0;   // the weight type's stated tolerance (nats per summed continuation)
    double factor = 3;  // times llama.cpp's own drift on this machine
    double operator()(double llama_drift) const { return std::max(floor, factor * llama_drift); }
};

// The bound for a weight type: "f32", "f16", "bf16", "q8_0" or another
// quantized type's name, as the exactness tests' model names carry them.
ExactnessBound exactness_bound(const std::string & weight_type);

}  // namespace compeval::test
