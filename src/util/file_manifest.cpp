#include "util/file_manifest.hpp"

#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/file_status.hpp"
#include "util/sha256.hpp"
#include "version.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace compeval {
namespace {

struct FileFacts {
    uint64_t bytes = 0;
    uint64_t lines = 0;
    std::string sha256;
};

FileFacts facts_of(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(path + ": cannot open");
    }
    std::ostringstream text;
    text << in.rdbuf();
    const std::string bytes = text.str();
    return {bytes.size(), static_cast<uint64_t>(std::ranges::count(bytes, '\n')), sha256_string(bytes)};
}

void check_file(const std::string & file, const nlohmann::json & want, const std::string & path,
                const std::string & again) {
    if (!is_file(file)) {
        throw Error(file + ": missing, but " + path + " lists it" + again);
    }
    const auto got = facts_of(file);
    const auto want_bytes = want.value("bytes", uint64_t{0});
    const auto want_lines = want.value("lines", uint64_t{0});
    if (got.bytes != want_bytes || got.lines != want_lines) {
        throw Error(
            fmt::format("{}: {} bytes in {} lines, but the run wrote {} bytes in {} lines ({}): the file "
                        "was cut short or changed{}",
                        file, got.bytes, got.lines, want_bytes, want_lines, path, again));
    }
    if (got.sha256 != want.value("sha256", "")) {
        throw Error(
            fmt::format("{}: its bytes differ from what the run wrote (SHA-256 {} vs {} in {}): the file "
                        "was damaged or changed{}",
                        file, got.sha256.substr(0, 12), want.value("sha256", "").substr(0, 12), path, again));
    }
}

}  // namespace

void write_export_manifest(const std::string & dir, const std::vector<std::string> & files) {
    nlohmann::json listed = nlohmann::json::object();
    for (const auto & name : files) {
        const auto f = facts_of(dir + "/" + name);
        listed[name] = {{"bytes", f.bytes}, {"lines", f.lines}, {"sha256", f.sha256}};
    }
    const nlohmann::json manifest = {
        {"compeval_version", kVersion},
        {"note", "what compeval wrote here; a report refuses files that differ (cut short or changed)"},
        {"files", listed}};
    write_file_atomically(dir + "/" + kExportManifest, manifest.dump(2) + "\n");
}

void remove_export_manifest(const std::string & dir) {
    std::error_code ignored;
    std::filesystem::remove(dir + "/" + kExportManifest, ignored);
}

bool verify_export_manifest(const std::string & dir) {
    const std::string path = dir + "/" + kExportManifest;
    std::ifstream in(path);
    if (!in) {
        return false;
    }
    nlohmann::json manifest;
    try {
        manifest = nlohmann::json::parse(in);
        if (!manifest.contains("files") || !manifest["files"].is_object()) {
            throw Error(path + ": no 'files' object");
        }
    } catch (const nlohmann::json::exception &) {
        throw Error(path +
                    ": invalid JSON; the run directory's exports cannot be checked (export them again: "
                    "compeval run SUITE --out " +
                    dir + ", which scores nothing)");
    }
    const std::string again = "; export them again with `compeval run SUITE --out " + dir +
                              "` (it scores nothing that is stored) or restore the directory from a copy";
    try {
        for (const auto & [name, want] : manifest["files"].items()) {
            check_file(dir + "/" + name, want, path, again);
        }
    } catch (const nlohmann::json::exception & e) {
        throw Error(path + ": malformed (" + e.what() + ")" + again);
    }
    return true;
}

}  // namespace compeval
