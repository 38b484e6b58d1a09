#pragma once
// Validates a GGUF file's structure before llama.cpp loads it, so that a
// truncated or foreign file gets a precise one-line error instead of a crash
// or a generic "failed to load model".
#include <string>

namespace compeval {

// Throws compeval::Error naming the file and the cause when the file is not a
// complete GGUF: missing, not GGUF (bad magic), unparsable header, or tensor
// data extending past the end of the file (truncated).
void check_gguf_file(const std::string & path);

}  // namespace compeval
