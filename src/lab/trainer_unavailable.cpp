// Built instead of torch_trainer.cpp when libtorch is absent: the engine
// builds without it, and the lab's training says plainly what it needs.
#include "lab/trainer.hpp"
#include "util/error.hpp"

namespace compeval {
namespace {

[[noreturn]] void unavailable() {
    throw Error("lab training needs libtorch: install libtorch-dev and libopenblas0-pthread, then rebuild");
}

}  // namespace

struct LabModel::Impl {};

bool lab_training_available() {
    return false;
}

LabModel::LabModel(const LabModelShape & /*shape*/, int /*n_vocab*/, uint64_t /*seed*/) {
    unavailable();
}
LabModel::~LabModel() = default;
LabModel::LabModel(LabModel && other) noexcept = default;
LabModel & LabModel::operator=(LabModel && other) noexcept = default;

// NOLINTBEGIN(readability-convert-member-functions-to-static): stubs of real members.
TrainResult LabModel::train(const std::vector<std::vector<int>> & /*train*/,
                            const std::vector<std::vector<int>> & /*validation*/, const TrainConfig & /*config*/) {
    unavailable();
}
std::vector<double> LabModel::token_logprobs(const std::vector<int> & /*ids*/) const {
    unavailable();
}
void LabModel::export_gguf(const std::string & /*vocab_gguf*/, const std::string & /*path*/,
                           const std::string & /*name*/,
                           const std::vector<std::pair<std::string, std::string>> & /*metadata*/,
                           const std::string & /*chat_template*/) const {
    unavailable();
}
uint64_t LabModel::n_params() const {
    unavailable();
}
LabModel LabModel::clone() const {
    unavailable();
}
LabModel::GradientAgreement LabModel::compare_gradients(const std::vector<std::vector<int>> & /*sentences*/) {
    unavailable();
}
// NOLINTEND(readability-convert-member-functions-to-static)

}  // namespace compeval
