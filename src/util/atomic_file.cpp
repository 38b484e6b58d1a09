#include "util/atomic_file.hpp"

#include "util/error.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace compeval {

void write_file_atomically(const std::string & path, const std::string & text) {
    const std::string partial = path + ".partial";
    const auto fail = [&](int err, int fd) {
        if (fd >= 0) {
            close(fd);
        }
        std::remove(partial.c_str());
        throw Error(path + ": cannot write: " + std::strerror(err));
    };
    const int fd = open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fail(errno, -1);
    }
    for (size_t done = 0; done < text.size();) {
        const ssize_t n = write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fail(n < 0 ? errno : ENOSPC, fd);
        }
        done += static_cast<size_t>(n);
    }
    if (close(fd) != 0) {
        fail(errno, -1);
    }
    if (std::rename(partial.c_str(), path.c_str()) != 0) {
        fail(errno, -1);
    }
}

void AtomicFile::commit() {
    write_file_atomically(path_, std::move(text_).str());
}

}  // namespace compeval
