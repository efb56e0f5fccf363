#include "symgrad/io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

namespace symgrad::io {

namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian; this build assumes a little-endian CPU");

constexpr std::uint64_t max_header_bytes = 100'000'000;  // the format's own limit

std::string dtype_code(DType dtype) {
    return dtype == DType::float32 ? "F32" : "F64";
}

void write_all(int fd, const void* data, std::size_t size, const std::string& path) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, p, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw CheckpointError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
        }
        p += n;
        size -= static_cast<std::size_t>(n);
    }
}

}  // namespace

void save_safetensors(const std::string& path, const Checkpoint& checkpoint) {
    nlohmann::json header = nlohmann::json::object();
    std::uint64_t offset = 0;
    for (const auto& [name, t] : checkpoint.tensors) {
        if (name == "__metadata__") throw CheckpointError("a tensor may not be called __metadata__");
        const std::uint64_t bytes = static_cast<std::uint64_t>(t.numel()) * dtype_size(t.dtype());
        header[name] = {{"dtype", dtype_code(t.dtype())}, {"shape", t.shape().dims()}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    if (!checkpoint.metadata.empty()) header["__metadata__"] = checkpoint.metadata;
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned (the format allows padding spaces)
    const std::uint64_t length = text.size();

    // The temporary file sits beside the target, so the rename stays within one file system.
    std::string temporary = path + ".tmp.XXXXXX";
    const int fd = ::mkstemp(temporary.data());
    if (fd < 0) throw CheckpointError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
    try {
        write_all(fd, &length, sizeof length, path);
        write_all(fd, text.data(), text.size(), path);
        for (const auto& [name, t] : checkpoint.tensors) {
            write_all(fd, t.raw(), static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()), path);  // tensors are contiguous
        }
        if (::fchmod(fd, 0644) != 0 || ::fsync(fd) != 0) throw CheckpointError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
    } catch (...) {
        ::close(fd);
        ::unlink(temporary.c_str());
        throw;
    }
    ::close(fd);
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        const int error = errno;
        ::unlink(temporary.c_str());
        throw CheckpointError(fmt::format("cannot write '{}': {}", path, std::strerror(error)));
    }
    // The rename itself is made durable by syncing the directory.
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

Checkpoint load_safetensors(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CheckpointError(fmt::format("cannot read '{}'", path));
    in.seekg(0, std::ios::end);
    const auto file_size = static_cast<std::uint64_t>(in.tellg());
    in.seekg(0);
    auto bad = [&](const std::string& what) { return CheckpointError(fmt::format("'{}' is not a valid checkpoint: {}", path, what)); };
    if (file_size < 8) throw bad(fmt::format("it has {} bytes, fewer than the 8 of the header length (truncated?)", file_size));
    std::uint64_t length = 0;
    in.read(reinterpret_cast<char*>(&length), 8);
    if (length > max_header_bytes || length > file_size - 8) {
        throw bad(fmt::format("the header claims {} bytes but the file has {} after the length (truncated?)", length, file_size - 8));
    }
    std::string text(static_cast<std::size_t>(length), '\0');
    in.read(text.data(), static_cast<std::streamsize>(length));
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        throw bad(fmt::format("its header is not JSON ({})", e.what()));
    }
    if (!header.is_object()) throw bad("its header is not a JSON object");
    const std::uint64_t data_size = file_size - 8 - length;
    Checkpoint result;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
    for (const auto& [name, entry] : header.items()) {
        if (name == "__metadata__") {
            if (!entry.is_object()) throw bad("__metadata__ is not an object");
            for (const auto& [key, value] : entry.items()) {
                if (!value.is_string()) throw bad(fmt::format("metadata '{}' is not a string", key));
                result.metadata.emplace(key, value.get<std::string>());
            }
            continue;
        }
        const std::string where = fmt::format("tensor '{}'", name);
        if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets")) {
            throw bad(fmt::format("{} lacks dtype, shape or data_offsets", where));
        }
        const auto& dtype_json = entry["dtype"];
        DType dtype;
        if (dtype_json == "F32") {
            dtype = DType::float32;
        } else if (dtype_json == "F64") {
            dtype = DType::float64;
        } else {
            throw bad(fmt::format("{} has dtype {}; symgrad reads F32 and F64", where, dtype_json.dump()));
        }
        std::vector<std::int64_t> dims;
        if (!entry["shape"].is_array() || entry["shape"].size() > 16) throw bad(fmt::format("{} has a malformed shape", where));
        std::uint64_t elements = 1;
        for (const auto& d : entry["shape"]) {
            if (!d.is_number_unsigned() || d.get<std::uint64_t>() > (std::uint64_t{1} << 40)) throw bad(fmt::format("{} has a malformed shape", where));
            dims.push_back(d.get<std::int64_t>());
            elements = dims.back() == 0 ? 0 : (elements > (std::uint64_t{1} << 50) / static_cast<std::uint64_t>(dims.back()) ? std::uint64_t{1} << 50 : elements * static_cast<std::uint64_t>(dims.back()));
        }
        const auto& offsets = entry["data_offsets"];
        if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned()) {
            throw bad(fmt::format("{} has malformed data_offsets", where));
        }
        const std::uint64_t begin = offsets[0].get<std::uint64_t>();
        const std::uint64_t end = offsets[1].get<std::uint64_t>();
        if (begin > end || end > data_size) {
            throw bad(fmt::format("{} lies at bytes {}..{} but the data holds {} (truncated?)", where, begin, end, data_size));
        }
        if (end - begin != elements * dtype_size(dtype)) {
            throw bad(fmt::format("{} of shape {} and dtype {} needs {} bytes but has {}", where, Shape(dims), dtype_json.get<std::string>(),
                                  elements * dtype_size(dtype), end - begin));
        }
        ranges.emplace_back(begin, end);
        Tensor t = Tensor::empty(Shape(dims), dtype);
        in.seekg(static_cast<std::streamoff>(8 + length + begin));
        char* into = dtype == DType::float32 ? reinterpret_cast<char*>(t.data<float>()) : reinterpret_cast<char*>(t.data<double>());
        in.read(into, static_cast<std::streamsize>(end - begin));
        if (!in) throw bad(fmt::format("{} could not be read", where));
        result.tensors.emplace(name, std::move(t));
    }
    std::sort(ranges.begin(), ranges.end());
    for (std::size_t i = 1; i < ranges.size(); ++i) {
        if (ranges[i].first < ranges[i - 1].second) throw bad("two tensors overlap in the data");
    }
    return result;
}

}  // namespace symgrad::io
