#include "util/sha256.hpp"

#include "util/error.hpp"

#include <openssl/evp.h>

#include <array>
#include <fstream>
#include <memory>
#include <vector>

namespace compeval {
namespace {

using DigestCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

std::string to_hex(const unsigned char * digest, unsigned int size) {
    static const char * hex = "0123456789abcdef";
    std::string out;
    out.reserve(static_cast<size_t>(size) * 2);
    for (unsigned int i = 0; i < size; ++i) {
        out.push_back(hex[digest[i] >> 4]);
        out.push_back(hex[digest[i] & 15]);
    }
    return out;
}

class Sha256 {
  public:
    Sha256() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
        if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
            throw Error("cannot initialise SHA-256");
        }
    }
    void update(const void * data, size_t size) { EVP_DigestUpdate(ctx_.get(), data, size); }
    std::string hex() {
        std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
        unsigned int size = 0;
        EVP_DigestFinal_ex(ctx_.get(), digest.data(), &size);
        return to_hex(digest.data(), size);
    }

  private:
    DigestCtx ctx_;
};

}  // namespace

std::string sha256_file(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(path + ": cannot open file");
    }
    Sha256 hash;
    std::vector<char> buffer(1 << 20);
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        hash.update(buffer.data(), static_cast<size_t>(in.gcount()));
    }
    if (in.bad()) {
        throw Error(path + ": read error");
    }
    return hash.hex();
}

std::string sha256_string(const std::string & data) {
    Sha256 hash;
    hash.update(data.data(), data.size());
    return hash.hex();
}

}  // namespace compeval
