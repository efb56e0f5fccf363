// Checkpoints in the safetensors format: a round trip keeps every bit; truncated, corrupt and inconsistent files
// are errors that say what is wrong; writing is atomic.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "helpers.hpp"

using namespace symgrad;
using symgrad::testing::message_of;

namespace {

std::string scratch_path(const std::string& name) {
    const auto dir = std::filesystem::temp_directory_path() / "symgrad_test_io";
    std::filesystem::create_directories(dir);
    return (dir / name).string();
}

std::string bytes_of(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

}  // namespace

TEST_CASE("a checkpoint round trip keeps every bit, non-finite values and metadata included", "[io]") {
    io::Checkpoint c;
    Tensor w = Tensor::uniform({3, 4}, -1, 1, 1, DType::float32);
    w.set(0, NAN);
    w.set(1, -INFINITY);
    w.set(2, -0.0);
    c.tensors.emplace("layer1.weight", w);
    c.tensors.emplace("act1.beta", Tensor::uniform({4}, 0, 2, 2, DType::float64));
    c.tensors.emplace("scalar", Tensor::scalar(0.25, DType::float32));
    c.tensors.emplace("empty", Tensor::zeros({0, 3}, DType::float32));
    c.metadata["activation"] = "x * sigmoid(beta * x)";
    const std::string path = scratch_path("round.safetensors");
    io::save_safetensors(path, c);
    const io::Checkpoint back = io::load_safetensors(path);
    REQUIRE(back.tensors.size() == 4);
    for (const auto& [name, t] : c.tensors) {
        INFO(name);
        CHECK(back.tensors.at(name).identical(t));
    }
    CHECK(back.metadata == c.metadata);
    // The layout: an 8-byte length, then JSON, then the data, 8-byte aligned.
    const std::string bytes = bytes_of(path);
    std::uint64_t length = 0;
    std::memcpy(&length, bytes.data(), 8);
    CHECK(length % 8 == 0);
    CHECK(bytes[8] == '{');
    CHECK(bytes.size() == 8 + length + 4 * 12 + 8 * 4 + 4);
    // Saving again over it replaces it whole; no temporary file is left behind.
    io::save_safetensors(path, back);
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
        files += entry.path().filename().string().starts_with("round.safetensors") ? 1 : 0;
    }
    CHECK(files == 1);
}

TEST_CASE("truncated, corrupt and inconsistent checkpoints are errors that say what is wrong", "[io]") {
    io::Checkpoint c;
    c.tensors.emplace("w", Tensor::uniform({10, 10}, -1, 1, 1, DType::float32));
    const std::string good = scratch_path("good.safetensors");
    io::save_safetensors(good, c);
    const std::string bytes = bytes_of(good);
    const std::string path = scratch_path("bad.safetensors");
    auto load_error = [&](const std::string& content) {
        write_bytes(path, content);
        return message_of([&] { io::load_safetensors(path); });
    };
    const std::string prefix = "'" + path + "' is not a valid checkpoint: ";
    CHECK(load_error(bytes.substr(0, 5)) == prefix + "it has 5 bytes, fewer than the 8 of the header length (truncated?)");
    CHECK(load_error(bytes.substr(0, 20)).find("the header claims") != std::string::npos);
    CHECK(load_error(bytes.substr(0, bytes.size() - 4)).find("lies at bytes 0..400 but the data holds 396 (truncated?)") !=
          std::string::npos);
    std::string corrupt = bytes;
    corrupt[8] = 'x';
    CHECK(load_error(corrupt).find("its header is not JSON") != std::string::npos);
    std::string other_dtype = bytes;
    other_dtype.replace(other_dtype.find("F32"), 3, "I32");
    CHECK(load_error(other_dtype).find("tensor 'w' has dtype \"I32\"; symgrad reads F32 and F64") != std::string::npos);
    std::string wrong_shape = bytes;
    wrong_shape.replace(wrong_shape.find("[10,10]"), 7, "[10,11]");
    CHECK(load_error(wrong_shape).find("tensor 'w' of shape [10, 11] and dtype F32 needs 440 bytes but has 400") != std::string::npos);
    CHECK(message_of([] { io::load_safetensors("/nonexistent/x.safetensors"); }) == "cannot read '/nonexistent/x.safetensors'");
    CHECK(message_of([&] {
              io::save_safetensors("/nonexistent/dir/x.safetensors", c);
          }).starts_with("cannot write '/nonexistent/dir/x.safetensors'"));
}
