#pragma once
// Model output is bytes: a generation cut at max_tokens can end inside a
// character, and a byte-fallback token is a lone byte. JSON (samples, the
// store, the report) needs valid UTF-8.
#include <string>

namespace compeval {

// Well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or truncation).
bool valid_utf8(const std::string & text);

// `text` with every byte that is not part of a well-formed UTF-8 sequence
// replaced by U+FFFD; valid text is returned unchanged.
std::string replace_invalid_utf8(const std::string & text);

}  // namespace compeval
