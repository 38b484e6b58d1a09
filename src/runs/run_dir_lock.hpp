#pragma once
// One writer per run directory. `compeval run`, `merge` and `pilot` hold
// DIR/.compeval-writer.lock (flock, exclusive) while they write DIR; a second
// writer is refused at once with a message naming the holder. The kernel
// drops the lock when its process dies however it dies, so the lock of a
// killed run is simply taken over by the next one; the file's text (pid,
// host, command, start) only tells people who holds it.
#include <string>

namespace compeval {

class RunDirLock {
  public:
    // Creates `dir` if needed and takes its lock, or throws compeval::Error
    // "DIR is being written by ... (pid P on HOST since T: COMMAND); ...".
    RunDirLock(const std::string & dir, const std::string & command);
    ~RunDirLock();
    RunDirLock(const RunDirLock &) = delete;
    RunDirLock & operator=(const RunDirLock &) = delete;
    RunDirLock(RunDirLock &&) = delete;
    RunDirLock & operator=(RunDirLock &&) = delete;

    // The holder a killed writer left in the file ("" when the last writer
    // ended cleanly): worth a note, as its directory may hold a half-done run.
    const std::string & taken_over_from() const { return taken_over_from_; }
    const std::string & path() const { return path_; }

  private:
    std::string path_;
    int fd_ = -1;
    std::string taken_over_from_;
};

}  // namespace compeval
