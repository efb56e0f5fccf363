// The native backend's disk cache and loader (native.hpp).
//
// An entry is one file, <hash>.kernel: a header line, the key (everything the compiled code depends on: format,
// compiler identity, flags, CPU identity, and the generated source itself), then the shared object. It is
// written to a temporary file and renamed into place, so a reader sees a whole entry or none, and processes that
// compile the same kernel at once each write a whole entry (the last rename wins; both are valid). Before loading,
// the key is compared in full (a hash collision or a foreign file is not loaded) and the object's checksum
// verified (a truncated or damaged entry is not loaded); either is rebuilt. The object is loaded from a memory file
// (memfd), so nothing on disk changes under a loaded kernel.
#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <fmt/format.h>

#include "exec/native.hpp"
#include "symgrad/compile.hpp"
#include "symgrad/version.hpp"

extern char** environ;

namespace symgrad::detail {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view entry_magic = "symgrad-kernel 1\n";

std::uint64_t fnv1a(std::string_view bytes, std::uint64_t hash = 0xcbf29ce484222325ULL) {
    for (const unsigned char c : bytes) {
        hash ^= c;
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

std::string unique_suffix() {
    static std::atomic<std::uint64_t> counter{0};
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    return fmt::format("{}-{}-{:x}", static_cast<long>(getpid()), counter++, static_cast<std::uint64_t>(now) & 0xffffffu);
}

bool read_file(const fs::path& path, std::string& bytes) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream text;
    text << in.rdbuf();
    bytes = std::move(text).str();
    return static_cast<bool>(in) || in.eof();
}

// Writes bytes to path; false (errno set) when it cannot.
bool write_file(const fs::path& path, std::string_view bytes) {
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int saved = errno;
            close(fd);
            errno = saved;
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return close(fd) == 0;
}

// The shared object of an entry when the entry is whole and its key is `key`; nullopt otherwise.
std::optional<std::string_view> entry_object(std::string_view entry, std::string_view key) {
    if (!entry.starts_with(entry_magic)) return std::nullopt;
    entry.remove_prefix(entry_magic.size());
    const auto line_end = entry.find('\n');
    if (line_end == std::string_view::npos) return std::nullopt;
    unsigned long long key_size = 0;
    unsigned long long object_size = 0;
    unsigned long long checksum = 0;
    const std::string line(entry.substr(0, line_end));
    if (std::sscanf(line.c_str(), "%llu %llu %llx", &key_size, &object_size, &checksum) != 3) return std::nullopt;
    entry.remove_prefix(line_end + 1);
    if (key_size != key.size() || entry.size() != key_size + object_size) return std::nullopt;
    if (entry.substr(0, key_size) != key) return std::nullopt;
    const std::string_view object = entry.substr(key_size);
    if (fnv1a(object) != checksum) return std::nullopt;
    return object;
}

// dlopen of a shared object held in memory: from a memory file, else from a temporary file in dir.
std::shared_ptr<NativeModule> load_object(std::string_view object, const fs::path& dir, std::string& why_not) {
#if defined(MFD_CLOEXEC)
    const int fd = memfd_create("symgrad-kernel", MFD_CLOEXEC);
    if (fd >= 0) {
        bool written = true;
        std::size_t done = 0;
        while (done < object.size() && written) {
            const ssize_t n = write(fd, object.data() + done, object.size() - done);
            if (n < 0 && errno != EINTR) written = false;
            if (n > 0) done += static_cast<std::size_t>(n);
        }
        if (written) {
            // The path names the descriptor, which stays open while the object is loaded, so no two loaded objects
            // ever have the same name (dlopen would hand back the first for the second).
            const std::string path = fmt::format("/proc/self/fd/{}", fd);
            if (void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) return std::make_shared<NativeModule>(handle, fd);
        }
        close(fd);
    }
#endif
    const fs::path path = dir / fmt::format("symgrad-tmp-load-{}.so", unique_suffix());
    if (!write_file(path, object)) {
        why_not = fmt::format("cannot write {}: {}", path.string(), std::strerror(errno));
        return nullptr;
    }
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    std::error_code ignored;
    fs::remove(path, ignored);
    if (handle == nullptr) {
        const char* error = dlerror();
        why_not = fmt::format("the compiled kernel does not load: {}", error ? error : "dlopen failed");
        return nullptr;
    }
    return std::make_shared<NativeModule>(handle, -1);
}

// Runs command with its output (and errors) into log; the exit status, or -1 when it could not start (errno set).
int run_compiler(const std::vector<std::string>& command, const fs::path& log) {
    std::vector<char*> argv;
    for (const auto& word : command) argv.push_back(const_cast<char*>(word.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid = 0;
    const int started = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (started != 0) {
        errno = started;
        return -1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

// The first line of a compiler's output that says "error" (else the first line), for a one-line message.
std::string first_error(const fs::path& log) {
    std::ifstream in(log);
    std::string line;
    std::string first;
    while (std::getline(in, line)) {
        if (first.empty()) first = line;
        if (line.find("error") != std::string::npos) return line;
    }
    return first.empty() ? "(no output)" : first;
}

// An entry: 16 hexadecimal digits and ".kernel".
bool is_entry(const std::string& name) {
    return name.size() == 23 && name.ends_with(".kernel") &&
        std::all_of(name.begin(), name.begin() + 16, [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

// The files symgrad writes in the cache directory: entries, and its temporaries and kept failures (named so that a
// cache directory shared with other programs, /tmp say, never loses theirs).
bool is_ours(const std::string& name) { return is_entry(name) || name.starts_with("symgrad-tmp-") || name.starts_with("symgrad-failed-"); }

double since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// The CPU, for the cache key: vendor, model and feature words (x86-64), or the architecture's name elsewhere.
std::string cpu_identity() {
#if defined(__x86_64__)
    unsigned a = 0, b = 0, c = 0, d = 0;
    std::string id;
    if (__get_cpuid(0, &a, &b, &c, &d)) {
        char vendor[13] = {};
        std::memcpy(vendor, &b, 4);
        std::memcpy(vendor + 4, &d, 4);
        std::memcpy(vendor + 8, &c, 4);
        id += vendor;
    }
    if (__get_cpuid(1, &a, &b, &c, &d)) id += fmt::format(" 1:{:x}:{:x}:{:x}", a, c, d);
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) id += fmt::format(" 7:{:x}:{:x}:{:x}", b, c, d);
    if (__get_cpuid(0x80000001u, &a, &b, &c, &d)) id += fmt::format(" 80000001:{:x}:{:x}", c, d);
    return "x86_64 " + id;
#elif defined(__aarch64__)
    return "aarch64";
#else
    return "unknown";
#endif
}

}  // namespace

std::string native_cache_directory() {
    if (const char* dir = std::getenv("SYMGRAD_CACHE_DIR"); dir != nullptr && *dir != '\0') return dir;
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg == '/') return (fs::path(xdg) / "symgrad").string();
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') return (fs::path(home) / ".cache" / "symgrad").string();
    return "";
}

NativeBuild build_native(const std::string& source, const NativeToolchain& toolchain, bool compile) {
    const auto start = std::chrono::steady_clock::now();
    NativeBuild build;
    if (!toolchain.why_not.empty()) {
        build.why_not = toolchain.why_not;
        return build;
    }
    const std::string dir_text = native_cache_directory();
    if (dir_text.empty()) {
        build.why_not = "no cache directory (SYMGRAD_CACHE_DIR, XDG_CACHE_HOME and HOME are unset)";
        return build;
    }
    const fs::path dir(dir_text);
    std::string key = fmt::format("symgrad {}\ncompiler:\n{}flags: {}\ncpu: {}\n", symgrad::version, toolchain.identity,
                                  fmt::join(toolchain.flags, " "), cpu_identity());
    key += source;
    const std::string name = fmt::format("{:016x}", fnv1a(key));
    const fs::path entry_path = dir / (name + ".kernel");

    std::string entry;
    if (read_file(entry_path, entry)) {
        if (const auto object = entry_object(entry, key)) {
            build.module = load_object(*object, dir, build.why_not);
            if (build.module) {
                build.from_cache = true;
                build.milliseconds = since(start);
                return build;
            }
        }
        // A damaged or foreign entry (or one that does not load): rebuilt below.
    }
    build.why_not.clear();  // (an entry that did not load is compiled again below)
    if (!compile) {
        build.why_not = "not in the cache";
        return build;
    }

    std::error_code error;
    fs::create_directories(dir, error);
    const std::string suffix = unique_suffix();
    const fs::path source_path = dir / fmt::format("symgrad-tmp-{}.cpp", suffix);
    const fs::path object_path = dir / fmt::format("symgrad-tmp-{}.so", suffix);
    const fs::path log_path = dir / fmt::format("symgrad-tmp-{}.log", suffix);
    const fs::path entry_tmp = dir / fmt::format("symgrad-tmp-{}.kernel", suffix);
    if (!write_file(source_path, source)) {
        build.why_not = fmt::format("the kernel cache {} is not writable: {}", dir.string(), std::strerror(errno));
        return build;
    }
    const auto cleanup = [&] {
        for (const auto& path : {source_path, object_path, log_path, entry_tmp}) fs::remove(path, error);
    };
    std::vector<std::string> command = toolchain.command;
    command.insert(command.end(), toolchain.flags.begin(), toolchain.flags.end());
    for (const std::string& word : {std::string("-x"), std::string("c++"), source_path.string(), std::string("-o"), object_path.string()}) {
        command.push_back(word);
    }
    build.compiled = true;
    const int status = run_compiler(command, log_path);
    if (status != 0) {
        if (status < 0) {
            build.why_not = fmt::format("cannot run the compiler '{}': {}", toolchain.command.front(), std::strerror(errno));
            cleanup();
            return build;
        }
        // A compile error in generated code is a bug in symgrad: keep what a report needs.
        const fs::path kept_source = dir / fmt::format("symgrad-failed-{}.cpp", name);
        const fs::path kept_log = dir / fmt::format("symgrad-failed-{}.log", name);
        fs::rename(source_path, kept_source, error);
        fs::rename(log_path, kept_log, error);
        build.why_not = fmt::format("the compile of the generated kernels failed ({} exited with {}: {}); source kept in {}, please report it",
                                    toolchain.compiler, status, first_error(kept_log), kept_source.string());
        cleanup();
        return build;
    }
    std::string object;
    if (!read_file(object_path, object) || object.empty()) {
        build.why_not = fmt::format("the compiler wrote no object to {}", object_path.string());
        cleanup();
        return build;
    }
    std::string whole = fmt::format("{}{} {} {:x}\n", entry_magic, key.size(), object.size(), fnv1a(object));
    whole += key;
    whole += object;
    if (!write_file(entry_tmp, whole)) {
        build.why_not = fmt::format("the kernel cache {} is not writable: {}", dir.string(), std::strerror(errno));
        cleanup();
        return build;
    }
    fs::rename(entry_tmp, entry_path, error);
    if (error) {
        build.why_not = fmt::format("the kernel cache {} is not writable: {}", dir.string(), error.message());
        cleanup();
        return build;
    }
    cleanup();
    build.module = load_object(object, dir, build.why_not);
    build.milliseconds = since(start);
    return build;
}

}  // namespace symgrad::detail

namespace symgrad {

std::string native_cache_directory() { return detail::native_cache_directory(); }

NativeCacheUsage native_cache_usage() {
    NativeCacheUsage usage;
    usage.directory = native_cache_directory();
    std::error_code error;
    if (usage.directory.empty() || !std::filesystem::is_directory(usage.directory, error)) return usage;
    for (const auto& file : std::filesystem::directory_iterator(usage.directory, error)) {
        const std::string name = file.path().filename().string();
        if (!file.is_regular_file(error) || !detail::is_ours(name)) continue;
        usage.entries += detail::is_entry(name) ? 1 : 0;
        usage.bytes += file.file_size(error);
    }
    return usage;
}

std::size_t clear_native_cache() {
    const std::string dir = native_cache_directory();
    std::error_code error;
    if (dir.empty() || !std::filesystem::is_directory(dir, error)) return 0;
    std::vector<std::filesystem::path> doomed;
    // A temporary younger than ten minutes may be another process's compile in progress: left alone.
    const auto recent = std::filesystem::file_time_type::clock::now() - std::chrono::minutes(10);
    for (const auto& file : std::filesystem::directory_iterator(dir, error)) {
        const std::string name = file.path().filename().string();
        if (!file.is_regular_file(error) || !detail::is_ours(name)) continue;
        if (name.starts_with("symgrad-tmp-") && file.last_write_time(error) > recent) continue;
        doomed.push_back(file.path());
    }
    std::size_t removed = 0;
    for (const auto& path : doomed) removed += std::filesystem::remove(path, error) ? 1 : 0;
    return removed;
}

}  // namespace symgrad
