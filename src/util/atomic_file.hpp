#pragma once
// A file written whole or not at all: the text is gathered in memory, written
// to PATH.partial, and renamed over PATH once every byte reached the file
// system. A full disk, a quota or a vanished directory ends in
// compeval::Error naming PATH and the cause (the system's own words); the old
// PATH (if any) is left as it was, and the partial file is removed.
#include <sstream>
#include <string>

namespace compeval {

class AtomicFile {
  public:
    explicit AtomicFile(std::string path) : path_(std::move(path)) {}

    std::ostream & out() { return text_; }
    void commit();

  private:
    std::string path_;
    std::ostringstream text_;
};

// Writes `text` to `path` the same way.
void write_file_atomically(const std::string & path, const std::string & text);

}  // namespace compeval
