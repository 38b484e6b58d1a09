#include "runs/run_dir_lock.hpp"

#include "util/error.hpp"
#include "util/utc_time.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace compeval {
namespace {

std::string read_all(int fd) {
    std::string text;
    std::array<char, 512> buf{};
    off_t at = 0;
    for (ssize_t n = 0; (n = pread(fd, buf.data(), buf.size(), at)) > 0; at += n) {
        text.append(buf.data(), static_cast<size_t>(n));
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) {
        text.pop_back();
    }
    return text;
}

std::string host_name() {
    std::array<char, 256> buf{};
    return gethostname(buf.data(), buf.size() - 1) == 0 ? std::string(buf.data()) : std::string("unknown host");
}

}  // namespace

RunDirLock::RunDirLock(const std::string & dir, const std::string & command) : path_(dir + "/.compeval-writer.lock") {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        throw Error(dir + ": cannot create the run directory: " + ec.message());
    }
    fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
        throw Error(path_ + ": cannot open the run directory's lock: " + std::strerror(errno));
    }
    if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        const std::string holder = read_all(fd_);
        close(fd_);
        fd_ = -1;
        if (err == EWOULDBLOCK) {
            throw Error(dir + " is being written by another compeval (" +
                        (holder.empty() ? std::string("holder not yet written") : holder) +
                        "); wait for it to finish or stop it, or write to another directory");
        }
        throw Error(path_ + ": cannot lock the run directory: " + std::strerror(err));
    }
    // Ours now. Text left in the file means its writer never released it
    // cleanly: killed, or its machine went down.
    taken_over_from_ = read_all(fd_);
    const std::string text =
        "pid " + std::to_string(getpid()) + " on " + host_name() + " since " + now_utc() + ": " + command + "\n";
    if (ftruncate(fd_, 0) != 0 || pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
        const std::string cause = std::strerror(errno);
        close(fd_);
        fd_ = -1;
        throw Error(path_ + ": cannot write the run directory's lock: " + cause);
    }
}

RunDirLock::~RunDirLock() {
    if (fd_ >= 0) {
        // Emptied, not removed: removing would let a third process lock a new
        // file while a second still waits on the old one.
        (void)ftruncate(fd_, 0);
        close(fd_);
    }
}

}  // namespace compeval
