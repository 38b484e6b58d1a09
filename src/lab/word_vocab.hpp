#pragma once
// A word-level vocabulary that llama.cpp's SPM tokenizer reproduces exactly,
// so a model trained on word ids loads through the normal GGUF path and
// `llama_tokenize` yields the trainer's ids. SPM builds tokens by merging
// adjacent pieces whose concatenation is in the vocabulary; with every
// "▁"-prefix of every word present (and the 256 byte pieces as a fallback),
// the only merges possible extend a word from its start, so each word ends as
// its own whole-word piece.
#include <map>
#include <string>
#include <vector>

namespace compeval {

class WordVocab {
  public:
    // Words are separated by single spaces in text; each must be non-empty
    // and free of spaces. Duplicates are ignored; order fixes the ids.
    explicit WordVocab(const std::vector<std::string> & words);

    // Pieces as SPM sees text ("\xE2\x96\x81" for a space), for text that
    // is not space-separated words: each piece with every prefix (by code
    // point) its merges pass through. `encode` then takes space-free pieces
    // only; tokenize such text with llama.cpp instead.
    static WordVocab from_pieces(const std::vector<std::string> & pieces);

    // The id of each word of `text` (split on spaces); throws compeval::Error
    // naming an unknown word.
    std::vector<int> encode(const std::string & text) const;
    int id(const std::string & word) const;

    // All pieces (special, byte, prefix and word pieces), in id order.
    const std::vector<std::string> & pieces() const { return pieces_; }
    size_t size() const { return pieces_.size(); }
    static int bos() { return 1; }
    static int eos() { return 2; }

    // Writes a vocab-only GGUF (tokenizer.* keys, llama SPM model) that
    // write_random_model and the lab's exporter copy into model files.
    void write_gguf(const std::string & path) const;

  private:
    WordVocab();
    int add(const std::string & piece);
    std::vector<std::string> pieces_;
    std::vector<int> types_;  // llama_token_type values
    std::map<std::string, int> word_ids_;
    std::map<std::string, int> piece_ids_;
};

}  // namespace compeval
