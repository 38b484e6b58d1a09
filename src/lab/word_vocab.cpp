#include "lab/word_vocab.hpp"

#include "util/error.hpp"

#include <gguf.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <memory>

namespace compeval {
namespace {

const std::string kSpace = "\xE2\x96\x81";  // U+2581, SPM's word-start mark

// llama_token_type values (llama.h): normal, unknown, control, byte.
constexpr int kNormal = 1;
constexpr int kUnknown = 2;
constexpr int kControl = 3;
constexpr int kByte = 6;

}  // namespace

WordVocab::WordVocab() : pieces_{"<unk>", "<s>", "</s>"}, types_{kUnknown, kControl, kControl} {
    for (int b = 0; b < 256; ++b) {
        std::array<char, 8> name{};
        std::snprintf(name.data(), name.size(), "<0x%02X>", b);
        pieces_.emplace_back(name.data());
        types_.push_back(kByte);
    }
    for (size_t i = 0; i < pieces_.size(); ++i) {
        piece_ids_.emplace(pieces_[i], static_cast<int>(i));
    }
}

int WordVocab::add(const std::string & piece) {
    const auto [it, added] = piece_ids_.emplace(piece, static_cast<int>(pieces_.size()));
    if (added) {
        pieces_.push_back(piece);
        types_.push_back(kNormal);
    }
    return it->second;
}

WordVocab::WordVocab(const std::vector<std::string> & words) : WordVocab() {
    add(kSpace);
    // Whole words first, so word ids stay small and stable as words are added;
    // then the prefixes the merges pass through.
    for (const auto & w : words) {
        if (w.empty() || w.find(' ') != std::string::npos) {
            throw Error("vocabulary word '" + w + "' is empty or holds a space");
        }
        word_ids_.emplace(w, add(kSpace + w));
    }
    for (const auto & w : words) {
        for (size_t n = 1; n < w.size(); ++n) {
            add(kSpace + w.substr(0, n));
        }
    }
}

WordVocab WordVocab::from_pieces(const std::vector<std::string> & pieces) {
    WordVocab vocab;
    vocab.add(kSpace);
    for (const auto & p : pieces) {
        if (p.empty()) {
            throw Error("vocabulary piece is empty");
        }
        vocab.word_ids_.emplace(p, vocab.add(p));
    }
    for (const auto & p : pieces) {
        // Prefixes end at code point boundaries (never inside a UTF-8 sequence).
        for (size_t n = 1; n < p.size(); ++n) {
            if ((static_cast<unsigned char>(p[n]) & 0xC0) != 0x80) {
                vocab.add(p.substr(0, n));
            }
        }
    }
    return vocab;
}

int WordVocab::id(const std::string & word) const {
    const auto it = word_ids_.find(word);
    if (it == word_ids_.end()) {
        throw Error("word '" + word + "' is not in the vocabulary");
    }
    return it->second;
}

std::vector<int> WordVocab::encode(const std::string & text) const {
    std::vector<int> ids;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t end = std::min(text.find(' ', start), text.size());
        if (end > start) {
            ids.push_back(id(text.substr(start, end - start)));
        }
        start = end + 1;
    }
    return ids;
}

void WordVocab::write_gguf(const std::string & path) const {
    std::unique_ptr<gguf_context, decltype(&gguf_free)> out(gguf_init_empty(), &gguf_free);
    std::vector<const char *> names;
    names.reserve(pieces_.size());
    for (const auto & p : pieces_) {
        names.push_back(p.c_str());
    }
    // Longer pieces score higher, so if two merges compete the longer word wins.
    std::vector<float> scores(pieces_.size());
    for (size_t i = 0; i < pieces_.size(); ++i) {
        scores[i] = types_[i] == kNormal ? static_cast<float>(pieces_[i].size()) : 0.0F;
    }
    gguf_set_val_str(out.get(), "general.architecture", "llama");
    gguf_set_val_str(out.get(), "tokenizer.ggml.model", "llama");
    gguf_set_arr_str(out.get(), "tokenizer.ggml.tokens", names.data(), names.size());
    gguf_set_arr_data(out.get(), "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores.data(), scores.size());
    gguf_set_arr_data(out.get(), "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types_.data(), types_.size());
    gguf_set_val_u32(out.get(), "tokenizer.ggml.unknown_token_id", 0);
    gguf_set_val_u32(out.get(), "tokenizer.ggml.bos_token_id", static_cast<uint32_t>(bos()));
    gguf_set_val_u32(out.get(), "tokenizer.ggml.eos_token_id", static_cast<uint32_t>(eos()));
    gguf_set_val_bool(out.get(), "tokenizer.ggml.add_bos_token", true);
    gguf_set_val_bool(out.get(), "tokenizer.ggml.add_eos_token", false);
    gguf_set_val_bool(out.get(), "tokenizer.ggml.add_space_prefix", true);
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) {
        std::filesystem::create_directories(parent);
    }
    if (!gguf_write_to_file(out.get(), path.c_str(), false)) {
        throw Error(path + ": cannot write vocab GGUF");
    }
}

}  // namespace compeval
